// Images from files, decoded to 8 bits (torch-free: the base library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/config.h"  // Error

namespace fmalens {

// An image decoded to 8-bit: gray, gray+alpha, RGB or RGBA.
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // row-major, interleaved
};

// Decodes PNG, BMP and GIF (stb) and JPEG (libjpeg-turbo); TGA and PNM are refused (stb's PNM
// header parser overflows and TGA has no magic to check). Refuses files over 64 MB and images over
// 8192 x 8192 pixels before decoding; 16-bit images are reduced to 8 bits. Throws Error.
Image load_image(const std::string& path);

}  // namespace fmalens
