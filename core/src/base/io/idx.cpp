// IDX files (MNIST's format), optionally gzip-compressed, validated before use.
#include "base/io/idx.h"
#include "fmalens/quote.h"

#include <zlib.h>

#include <cstring>

#include "fmalens/config.h"

namespace fmalens {

IdxArray read_idx(const std::string& path, uint64_t max_bytes) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  for (;;) {
    const int got = gzread(f, buf, sizeof(buf));
    if (got < 0) {
      gzclose(f);
      throw Error(shown_path(path) + ": corrupt gzip stream");
    }
    if (got == 0) break;
    if (data.size() + static_cast<size_t>(got) > max_bytes) {
      gzclose(f);
      throw Error(shown_path(path) + ": larger than " + std::to_string(max_bytes >> 20) + " MB uncompressed");
    }
    data.insert(data.end(), buf, buf + got);
  }
  gzclose(f);
  if (data.size() < 4 || data[0] != 0 || data[1] != 0)
    throw Error(shown_path(path) + ": not an IDX file (bad magic)");
  if (data[2] != 0x08) throw Error(shown_path(path) + ": IDX element type must be unsigned byte (0x08)");
  const int dims = data[3];
  if (dims < 1 || dims > 4) throw Error(shown_path(path) + ": IDX must have 1 to 4 dimensions");
  if (data.size() < 4 + 4 * static_cast<size_t>(dims)) throw Error(shown_path(path) + ": truncated IDX header");
  IdxArray out;
  uint64_t count = 1;
  for (int i = 0; i < dims; ++i) {
    const uint8_t* p = data.data() + 4 + 4 * i;
    const uint64_t d = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
    count *= d;
    if (count > max_bytes) throw Error(shown_path(path) + ": IDX dimensions exceed the data");
    out.shape.push_back(static_cast<int64_t>(d));
  }
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  if (data.size() - header != count)
    throw Error(shown_path(path) + ": IDX holds " + std::to_string(data.size() - header) + " bytes, header says " +
                std::to_string(count));
  out.data.assign(data.begin() + static_cast<std::ptrdiff_t>(header), data.end());
  return out;
}

}  // namespace fmalens
