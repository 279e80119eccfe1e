#include "render/png.h"

#include <stb_image_write.h>

#include "fmalens/atomic_file.h"
#include "fmalens/config.h"

namespace fmalens::render {

std::string encode_png(const std::vector<uint8_t>& rgba, int width, int height) {
  if (width <= 0 || height <= 0 || rgba.size() != static_cast<size_t>(width) * height * 4)
    throw Error("cannot encode a PNG of " + std::to_string(width) + "x" + std::to_string(height) + " from " +
                std::to_string(rgba.size()) + " bytes");
  std::string out;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &out, width, height, 4, rgba.data(), width * 4) || out.empty())
    throw Error("PNG encoding failed");
  return out;
}

void write_png(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height) {
  write_file_atomically(path, encode_png(rgba, width, height));
}

}  // namespace fmalens::render
