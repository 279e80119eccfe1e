// .npy files (NumPy's format, version 1.0): float32 and int32 arrays, little-endian, C order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/snapshot.h"

namespace fmalens {

// The bytes of a .npy file holding `data` with `shape` (`descr` "<f4" or "<i4").
std::string npy_bytes(const std::vector<int64_t>& shape, const void* data, size_t element_size, const char* descr);

// Writes an Array as float32 .npy, atomically. Throws Error naming the path on failure.
void write_npy(const std::string& path, const Array& array);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int32_t>& data);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int64_t>& data);

}  // namespace fmalens
