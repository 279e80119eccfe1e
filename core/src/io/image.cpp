// Image decoding with stb_image (Debian's libstb), with limits checked before decoding.
#include <stb_image.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <algorithm>

#include "fmalens/model.h"

namespace fmalens {

namespace {
constexpr int64_t kMaxFileBytes = int64_t{64} << 20;
constexpr int kMaxSide = 8192;

bool starts_with(const std::vector<uint8_t>& b, const char* magic, size_t n) {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

// The formats passed to stb, told apart by their magic numbers. Not TGA (no magic: stb guesses),
// PSD, PIC or HDR (rarely needed, they only widen what a hostile file can reach), nor PNM (stb
// 2.27 overflows a signed int on a long number in a PNM header: found by fuzz_image).
const char* format_of(const std::vector<uint8_t>& b) {
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts_with(b, "\xff\xd8\xff", 3)) return "JPEG";
  if (starts_with(b, "BM", 2)) return "BMP";
  if (starts_with(b, "GIF87a", 6) || starts_with(b, "GIF89a", 6)) return "GIF";
  return nullptr;
}

// stb_image 2.27 (Debian 12's libstb) builds a Huffman table from a DHT segment without checking
// that its 16 code counts sum to at most 256: more overflows the table (found by fuzz_image).
// Which DHT segments stb reaches depends on its own parse of the file (a walk of the marker
// structure missed one the fuzzer placed after damaged segments), so every FF C4 in the file is
// checked as stb would read it: valid JPEGs cannot contain FF C4 outside a real DHT marker
// (entropy-coded data stuffs every FF). Returns the first broken rule, or "".
std::string jpeg_huffman_problem(const std::vector<uint8_t>& b) {
  auto byte = [&](size_t at) -> size_t { return at < b.size() ? b[at] : 0; };  // stb reads 0 past the end
  for (size_t i = 2; i + 1 < b.size(); ++i) {
    if (b[i] != 0xFF || b[i + 1] != 0xC4) continue;
    // L bytes of tables, each (class/id, 16 counts, values): stb reads them while L > 0.
    long remaining = static_cast<long>((byte(i + 2) << 8) | byte(i + 3)) - 2;
    size_t t = i + 4;
    while (remaining > 0 && t < b.size()) {
      size_t n = 0;
      for (size_t k = 1; k <= 16; ++k) n += byte(t + k);
      if (n > 256) return "JPEG Huffman table with " + std::to_string(n) + " codes (at most 256)";
      remaining -= static_cast<long>(17 + n);
      t += 17 + n;
    }
  }
  return "";
}

// stb_image grows its IDAT buffer to a chunk's declared length before it reads the chunk, so a
// 100-byte PNG that declares a 1.8 GB chunk gets a 1.8 GB allocation (found by fuzz_image as a
// timeout under ASan). Every chunk must fit in the file.
std::string png_chunk_problem(const std::vector<uint8_t>& b) {
  size_t i = 8;  // after the signature
  while (i + 8 <= b.size()) {
    const uint64_t len = (uint64_t{b[i]} << 24) | (uint64_t{b[i + 1]} << 16) | (uint64_t{b[i + 2]} << 8) | b[i + 3];
    if (len > b.size() - i - 8)
      return "PNG chunk at byte " + std::to_string(i) + " declares " + std::to_string(len) + " bytes, past the end of the file";
    if (std::memcmp(&b[i + 4], "IEND", 4) == 0) return "";
    i += 12 + len;  // length, type, data, CRC
  }
  return "";
}

// stb's reason for a failure, printable: for an unknown PNG chunk it quotes the chunk's four
// type bytes, which a hostile file can make newlines or control bytes (found by fuzz_image).
std::string failure_reason(const char* fallback) {
  const char* r = stbi_failure_reason();
  std::string out = r ? r : fallback;
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) ch = '?';
  return out;
}

}  // namespace

Image load_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  if (st.st_size == 0) throw Error(path + ": empty file, not an image");
  if (st.st_size > kMaxFileBytes) throw Error(path + ": larger than 64 MB, refused");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f.get()));
  if (bytes.empty()) throw Error(path + ": empty file, not an image");
  const char* format = format_of(bytes);
  if (!format) throw Error(path + ": not a PNG, JPEG, BMP or GIF image");
  // PNG: the size from IHDR, before stb (whose own "too large" for over 2^30 pixels is lost when
  // stbi_info goes on to try the other formats).
  if (std::strcmp(format, "PNG") == 0 && bytes.size() >= 24 && std::memcmp(&bytes[12], "IHDR", 4) == 0) {
    auto be32 = [&](size_t i) {
      return (uint32_t{bytes[i]} << 24) | (uint32_t{bytes[i + 1]} << 16) | (uint32_t{bytes[i + 2]} << 8) | bytes[i + 3];
    };
    const uint32_t pw = be32(16), ph = be32(20);
    if (pw > kMaxSide || ph > kMaxSide)
      throw Error(path + ": image of " + std::to_string(pw) + "x" + std::to_string(ph) +
                  " pixels exceeds the limit of 8192x8192");
  }
  const std::string problem = std::strcmp(format, "JPEG") == 0  ? jpeg_huffman_problem(bytes)
                              : std::strcmp(format, "PNG") == 0 ? png_chunk_problem(bytes)
                                                                 : std::string();
  if (!problem.empty()) throw Error(path + ": corrupt image (" + problem + ")");
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), size, &w, &h, &c))
    throw Error(path + ": not a readable " + format + " image (" +
                failure_reason("unknown format") + ")");
  if (w < 1 || h < 1) throw Error(path + ": image has no pixels");
  if (w > kMaxSide || h > kMaxSide)
    throw Error(path + ": image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels exceeds the limit of 8192x8192");
  int cw = 0, ch = 0, cc = 0;
  stbi_uc* data = stbi_load_from_memory(bytes.data(), size, &cw, &ch, &cc, 0);  // 16-bit PNGs come back as 8-bit
  if (!data) throw Error(path + ": corrupt " + std::string(format) + " image (" + failure_reason("decode failed") + ")");
  std::unique_ptr<stbi_uc, void (*)(void*)> owned(data, &stbi_image_free);
  if (cw != w || ch != h || cc < 1 || cc > 4) throw Error(path + ": image header and data disagree");
  Image img;
  img.width = cw;
  img.height = ch;
  img.channels = cc;
  img.pixels.assign(data, data + static_cast<size_t>(cw) * ch * cc);
  return img;
}

}  // namespace fmalens
