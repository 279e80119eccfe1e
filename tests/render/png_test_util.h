// PNG files read back in render tests: RGBA8 pixels, origin at the top left.
#pragma once

#include <stb_image.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fmalens::render::test_png {

struct Png {
  int w = 0, h = 0;
  std::vector<uint8_t> px;  // [h, w, 4]
  const uint8_t* at(int x, int y) const { return &px[(static_cast<size_t>(y) * w + x) * 4]; }
  bool background(int x, int y) const {
    const uint8_t* p = at(x, y);
    return p[0] == 23 && p[1] == 23 && p[2] == 26;  // the figures' background (render/figure_common.h)
  }
};

// Empty (w = h = 0) when the file is missing or does not decode.
inline Png load_png(const std::string& path) {
  Png png;
  int channels = 0;
  std::unique_ptr<uint8_t, void (*)(void*)> data(stbi_load(path.c_str(), &png.w, &png.h, &channels, 4), stbi_image_free);
  if (data) png.px.assign(data.get(), data.get() + static_cast<size_t>(png.w) * png.h * 4);
  return png;
}

}  // namespace fmalens::render::test_png
