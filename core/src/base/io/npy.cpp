#include "fmalens/npy.h"

#include <cstring>

#include "fmalens/atomic_file.h"
#include "fmalens/checkpoint.h"

namespace fmalens {

std::string npy_bytes(const std::vector<int64_t>& shape, const void* data, size_t element_size, const char* descr) {
  std::string dims;
  size_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    count *= static_cast<size_t>(shape[i]);
  }
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  out += header;
  out.append(static_cast<const char*>(data), count * element_size);
  return out;
}

void write_npy(const std::string& path, const Array& array) {
  write_file_atomically(path, npy_bytes(array.shape, array.data.data(), sizeof(float), "<f4"));
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int64_t>& data) {
  write_file_atomically(path, npy_bytes(shape, data.data(), sizeof(int64_t), "<i8"));
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<int32_t>& data) {
  write_file_atomically(path, npy_bytes(shape, data.data(), sizeof(int32_t), "<i4"));
}

}  // namespace fmalens
