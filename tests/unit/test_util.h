// Small helpers shared by the core's tests.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fmalens::test {

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A float32 .npy file (C order): its shape and values. Empty shape on failure.
struct Npy {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// The header of any .npy file: its dtype descriptor ('<f4', '<i4', ...), shape, and the byte
// offset of its data. Empty descr when the file is not a version 1 .npy.
struct NpyHeader {
  std::string descr;
  std::vector<int64_t> shape;
  size_t data_offset = 0, file_size = 0;
};
inline NpyHeader read_npy_header(const std::string& path) {
  NpyHeader h;
  const std::string bytes = read_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return h;
  const size_t hlen = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  const std::string header = bytes.substr(10, hlen);
  const auto d = header.find("'descr': '");
  if (d == std::string::npos) return h;
  h.descr = header.substr(d + 10, header.find('\'', d + 10) - d - 10);
  const auto open = header.find('('), close = header.find(')');
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(dims, item, ','))
    if (item.find_first_not_of(' ') != std::string::npos) h.shape.push_back(std::stoll(item));
  h.data_offset = 10 + hlen;
  h.file_size = bytes.size();
  return h;
}

inline Npy read_npy(const std::string& path) {
  Npy out;
  const NpyHeader h = read_npy_header(path);
  if (h.descr != "<f4") return out;
  size_t count = 1;
  for (int64_t d : h.shape) count *= static_cast<size_t>(d);
  if (h.data_offset + count * sizeof(float) > h.file_size) return out;
  out.shape = h.shape;
  out.data.resize(count);
  const std::string bytes = read_file(path);
  std::memcpy(out.data.data(), bytes.data() + h.data_offset, count * sizeof(float));
  return out;
}

// Whether Debian's python3 with torch is there to write real torch.save files.
inline bool python_torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") == 0;
}

// A fresh temporary folder (removed by the caller's TempDir).
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fmalens-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace fmalens::test
