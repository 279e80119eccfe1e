// Small helpers shared by the checkpoint readers (safetensors.cpp, torch_zip.cpp, unpickler.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/quote.h"

namespace fmalens::detail {

// Product of `shape` (1 for a scalar), or -1 when a dimension is negative or the product (or
// the product times `elem_size`, the byte size) does not fit in int64.
inline int64_t checked_numel(const std::vector<int64_t>& shape, int64_t elem_size = 1) {
  int64_t n = 1;
  for (const int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(n, elem_size, &bytes)) return -1;
  return n;
}

inline std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace fmalens::detail
