// Windows of text files (torch-free: the base library).
#pragma once

#include <cstdint>
#include <string>

#include "fmalens/config.h"  // Error

namespace fmalens {

// A window of a text file: `context` bytes starting at `start` (-1: the last `context` bytes),
// read without loading the rest (a 100 MB file costs no more than its window).
struct TextWindow {
  std::string bytes;
  int64_t offset = 0;      // where the window starts in the file
  int64_t file_size = 0;
};
// Throws Error (one line naming the file) for a missing, special or empty file or a start past
// its end.
TextWindow read_text_window(const std::string& path, int64_t context, int64_t start = -1);

}  // namespace fmalens
