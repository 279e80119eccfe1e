// Colormaps, defined once here: the shaders read them from a lookup texture built from these
// tables (colormap_lut), and the views that colour on the CPU (text, level bars) call
// colormap_rgb, so the screen and every figure agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fmalens::render {

enum class Colormap { viridis, magma, cividis, grey, diverging };
constexpr int kColormapCount = 5;
constexpr int kColormapLutSize = 256;

const char* colormap_name(Colormap map);
// Throws fmalens::Error listing the names when `name` is not one of them.
Colormap colormap_from_name(const std::string& name);

struct Rgb {
  float r = 0, g = 0, b = 0;
};

// Colour at x in [0, 1] (clamped).
Rgb colormap_rgb(Colormap map, float x);

// kColormapLutSize x kColormapCount RGBA8 texels, row = colormap (in enum order).
std::vector<uint8_t> colormap_lut();

// How a weight becomes a colormap position, as in shaders/colormap.glsl:
// linear: v / hi; log: position of log10(v) between log10(lo) and log10(hi). Clamped to [0, 1].
float scale_value(float value, bool log_scale, float lo, float hi, float gamma = 1);

}  // namespace fmalens::render
