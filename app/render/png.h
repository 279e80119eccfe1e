// PNG files of rendered pixels (screenshots now, figure export later): encoded with
// stb_image_write and written atomically, so a failed write never leaves a partial file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fmalens::render {

// RGBA8 pixels, top row first. Throws fmalens::Error when encoding fails.
std::string encode_png(const std::vector<uint8_t>& rgba, int width, int height);
// Throws fmalens::Error naming the path when it cannot be written.
void write_png(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height);

}  // namespace fmalens::render
