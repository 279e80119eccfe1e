// Image decoding with stb_image (Debian's libstb), with limits checked before decoding.
#include <stb_image.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "fmalens/model.h"

namespace fmalens {

namespace {
constexpr int64_t kMaxFileBytes = int64_t{64} << 20;
constexpr int kMaxSide = 8192;
}  // namespace

Image load_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  if (st.st_size == 0) throw Error(path + ": empty file, not an image");
  if (st.st_size > kMaxFileBytes) throw Error(path + ": larger than 64 MB, refused");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_file(f.get(), &w, &h, &c))
    throw Error(path + ": not a readable image (" + (stbi_failure_reason() ? stbi_failure_reason() : "unknown format") + ")");
  if (w < 1 || h < 1) throw Error(path + ": image has no pixels");
  if (w > kMaxSide || h > kMaxSide)
    throw Error(path + ": image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels exceeds the limit of 8192x8192");
  std::fseek(f.get(), 0, SEEK_SET);
  int cw = 0, ch = 0, cc = 0;
  stbi_uc* data = stbi_load_from_file(f.get(), &cw, &ch, &cc, 0);  // 16-bit PNGs come back as 8-bit
  if (!data) throw Error(path + ": corrupt image (" + (stbi_failure_reason() ? stbi_failure_reason() : "decode failed") + ")");
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
