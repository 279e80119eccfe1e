// IDX arrays (the MNIST family's format), gzip or plain. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fmalens {

struct IdxArray {
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // unsigned bytes, row-major
};

// Throws Error "<path>: <rule>" on a bad magic, a non-byte element type, a truncated header
// or data, or more than `max_bytes` uncompressed.
IdxArray read_idx(const std::string& path, uint64_t max_bytes = uint64_t{1} << 30);

}  // namespace fmalens
