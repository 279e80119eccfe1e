// The text window reader (read_text_window): the first 8 bytes choose the context and the
// window start, the rest is the file. The window must be exactly the bytes asked for.
#include <cstring>

#include "fmalens/text_window.h"
#include "fuzz_util.h"

using namespace fmalens;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  int32_t context = 0, start = 0;
  std::memcpy(&context, data, 4);
  std::memcpy(&start, data + 4, 4);
  context %= 1 << 16;  // negative and zero contexts too
  start %= 1 << 16;
  const std::string path = fuzz::Scratch::get().write("input.txt", data + 8, size - 8);
  TextWindow w;
  try {
    w = read_text_window(path, context, start);
  } catch (const Error& e) {
    fuzz::check_message(e, path);
    return 0;
  }
  const int64_t file_size = static_cast<int64_t>(size - 8);
  fuzz::check(w.file_size == file_size, "wrong file size");
  fuzz::check(w.offset >= 0 && w.offset < file_size, "window offset outside the file");
  fuzz::check(static_cast<int64_t>(w.bytes.size()) == std::min<int64_t>(context, file_size - w.offset),
              "window of the wrong length");
  fuzz::check(start < 0 || w.offset == start, "window does not start where asked");
  fuzz::check(start >= 0 || w.offset + static_cast<int64_t>(w.bytes.size()) == file_size,
              "default window does not end at the end of the file");
  fuzz::check(std::memcmp(w.bytes.data(), data + 8 + w.offset, w.bytes.size()) == 0, "window bytes differ");
  return 0;
}
