// Image decoding: JPEG with libjpeg-turbo (TurboJPEG API), PNG, BMP and GIF with stb_image
// (Debian's libstb), limits checked before decoding.
//
// Why two libraries: stb_image 2.27 is not hardened against hostile files. Its PNG, BMP and GIF
// readers are kept safe by checks and normalisation here (each one found by fuzz_image, each
// with a regression seed), but a JPEG's problems lie in its entropy-coded data, which cannot be
// checked without decoding it: fuzzing found a Huffman table overflow (memory corruption) and
// a bit reader whose bit count goes negative (undefined shifts) in stb. libjpeg-turbo is fuzzed
// continuously upstream and reports corrupt data as errors.
#include <stb_image.h>
#include <turbojpeg.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <algorithm>

#include "fmalens/quote.h"
#include "fmalens/image.h"

namespace fmalens {

namespace {
constexpr int64_t kMaxFileBytes = int64_t{64} << 20;
constexpr int kMaxSide = 8192;

bool starts_with(const std::vector<uint8_t>& b, const char* magic, size_t n) {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

// The formats accepted, told apart by their magic numbers. Not TGA (no magic: stb guesses),
// PSD, PIC or HDR (rarely needed, they only widen what a hostile file can reach), nor PNM (stb
// 2.27 overflows a signed int on a long number in a PNM header: found by fuzz_image).
const char* format_of(const std::vector<uint8_t>& b) {
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts_with(b, "\xff\xd8\xff", 3)) return "JPEG";
  if (starts_with(b, "BM", 2)) return "BMP";
  if (starts_with(b, "GIF87a", 6) || starts_with(b, "GIF89a", 6)) return "GIF";
  return nullptr;
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

// A PNG without its zero-length IDAT chunks (an empty IDAT is legal: the image data is the
// concatenation of all IDAT chunks). stb_image 2.27 appends every IDAT to its buffer with
// memcpy(NULL + 0, ..., 0) while the buffer is still unallocated: undefined behaviour that UBSan
// stops at stb_image.h:5130 (found by fuzz_image). Dropping them keeps a legal file legal and
// the pixels the same. Returns false when there was none (then `out` is untouched).
bool drop_empty_idat_chunks(const std::vector<uint8_t>& b, std::vector<uint8_t>& out) {
  std::vector<uint8_t> kept(b.begin(), b.begin() + 8);  // the signature
  bool dropped = false;
  size_t i = 8;
  while (i + 8 <= b.size()) {  // length, type, data, CRC (a last chunk may lack its CRC: stb still reads it)
    const uint64_t len = (uint64_t{b[i]} << 24) | (uint64_t{b[i + 1]} << 16) | (uint64_t{b[i + 2]} << 8) | b[i + 3];
    const size_t end = static_cast<size_t>(std::min<uint64_t>(b.size(), i + 12 + len));
    if (len == 0 && std::memcmp(&b[i + 4], "IDAT", 4) == 0) dropped = true;
    else kept.insert(kept.end(), b.begin() + static_cast<std::ptrdiff_t>(i), b.begin() + static_cast<std::ptrdiff_t>(end));
    i = end;
  }
  kept.insert(kept.end(), b.begin() + static_cast<std::ptrdiff_t>(i), b.end());  // a partial last chunk, as it was
  if (dropped) out.swap(kept);
  return dropped;
}

// stb's reason for a failure, escaped: for an unknown PNG chunk it quotes the chunk's four
// type bytes, which a hostile file can make newlines or control bytes (found by fuzz_image).
std::string failure_reason(const char* fallback) {
  const char* r = stbi_failure_reason();
  return escaped(r && *r ? r : fallback);
}

void check_side(const std::string& path, int64_t w, int64_t h) {
  if (w < 1 || h < 1) throw Error(shown_path(path) + ": image has no pixels");
  if (w > kMaxSide || h > kMaxSide)
    throw Error(shown_path(path) + ": image of " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels exceeds the limit of 8192x8192");
}

// A JPEG through TurboJPEG: gray stays gray, colour becomes RGB; the size is checked from the
// header before any pixel is decoded. Corrupt data is refused (a warning, such as a few
// bytes of garbage after the image, is not).
Image decode_jpeg(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(), &tjDestroy);
  if (!handle) throw Error(shown_path(path) + ": cannot start the JPEG decoder");
  auto reason = [&] { return escaped(tjGetErrorStr2(handle.get())); };
  int w = 0, h = 0, subsampling = 0, colourspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &w, &h, &subsampling,
                          &colourspace) != 0 &&
      (tjGetErrorCode(handle.get()) != TJERR_WARNING || w < 1 || h < 1))
    throw Error(shown_path(path) + ": not a readable JPEG image (" + reason() + ")");
  check_side(path, w, h);
  if (colourspace == TJCS_CMYK || colourspace == TJCS_YCCK)
    throw Error(shown_path(path) + ": CMYK JPEG images are not supported (save it as RGB)");
  const bool gray = colourspace == TJCS_GRAY;
  Image img;
  img.width = w;
  img.height = h;
  img.channels = gray ? 1 : 3;
  img.pixels.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(img.channels));
  // TJFLAG_LIMITSCANS: a progressive JPEG of thousands of scans is refused, not decoded for minutes.
  if (tjDecompress2(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), img.pixels.data(), w, 0, h,
                    gray ? TJPF_GRAY : TJPF_RGB, TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS) != 0 &&
      tjGetErrorCode(handle.get()) != TJERR_WARNING)
    throw Error(shown_path(path) + ": corrupt JPEG image (" + reason() + ")");
  return img;
}

}  // namespace

Image load_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(shown_path(path) + ": not a regular file");
  if (st.st_size == 0) throw Error(shown_path(path) + ": empty file, not an image");
  if (st.st_size > kMaxFileBytes) throw Error(shown_path(path) + ": larger than 64 MB, refused");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(shown_path(path) + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f.get()));
  if (bytes.empty()) throw Error(shown_path(path) + ": empty file, not an image");
  const char* format = format_of(bytes);
  if (!format) throw Error(shown_path(path) + ": not a PNG, JPEG, BMP or GIF image");
  // PNG: the size from IHDR, before stb (whose own "too large" for over 2^30 pixels is lost when
  // stbi_info goes on to try the other formats).
  if (std::strcmp(format, "PNG") == 0 && bytes.size() >= 24 && std::memcmp(&bytes[12], "IHDR", 4) == 0) {
    auto be32 = [&](size_t i) {
      return (uint32_t{bytes[i]} << 24) | (uint32_t{bytes[i + 1]} << 16) | (uint32_t{bytes[i + 2]} << 8) | bytes[i + 3];
    };
    const uint32_t pw = be32(16), ph = be32(20);
    if (pw > kMaxSide || ph > kMaxSide)
      throw Error(shown_path(path) + ": image of " + std::to_string(pw) + "x" + std::to_string(ph) +
                  " pixels exceeds the limit of 8192x8192");
  }
  if (std::strcmp(format, "JPEG") == 0) return decode_jpeg(path, bytes);
  const std::string problem = std::strcmp(format, "PNG") == 0 ? png_chunk_problem(bytes) : std::string();
  if (!problem.empty()) throw Error(shown_path(path) + ": corrupt image (" + problem + ")");
  if (std::strcmp(format, "PNG") == 0) {
    std::vector<uint8_t> without_empty;
    if (drop_empty_idat_chunks(bytes, without_empty)) bytes.swap(without_empty);
  }
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes.data(), size, &w, &h, &c))
    throw Error(shown_path(path) + ": not a readable " + format + " image (" +
                failure_reason("unknown format") + ")");
  check_side(path, w, h);
  int cw = 0, ch = 0, cc = 0;
  stbi_uc* data = stbi_load_from_memory(bytes.data(), size, &cw, &ch, &cc, 0);  // 16-bit PNGs come back as 8-bit
  if (!data) throw Error(shown_path(path) + ": corrupt " + std::string(format) + " image (" + failure_reason("decode failed") + ")");
  std::unique_ptr<stbi_uc, void (*)(void*)> owned(data, &stbi_image_free);
  if (cw != w || ch != h || cc < 1 || cc > 4) throw Error(shown_path(path) + ": image header and data disagree");
  Image img;
  img.width = cw;
  img.height = ch;
  img.channels = cc;
  img.pixels.assign(data, data + static_cast<size_t>(cw) * ch * cc);
  return img;
}

}  // namespace fmalens
