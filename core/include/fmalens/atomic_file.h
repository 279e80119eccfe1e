// Files written whole or not at all (torch-free: the base library).
#pragma once

#include <string>

#include "fmalens/config.h"  // Error

namespace fmalens {

// Writes `bytes` to `path` atomically: a temporary file next to it, fsync, rename. On any
// failure the temporary is removed, an existing `path` is untouched, and an Error names the
// path and the reason (e.g. "cannot write out.png: No space left on device").
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace fmalens
