#include "render/colormap.h"

#include <algorithm>
#include <cmath>

#include "fmalens/config.h"
#include "fmalens/quote.h"

namespace fmalens::render {
namespace {

// Degree-6 polynomial fits of matplotlib's viridis and magma (Matt Zucker's fits, CC0, of the
// BIDS colormap data, which is CC0 too): c0 + x (c1 + x (c2 + ...)).
constexpr float kViridis[7][3] = {
    {0.2777273272234177f, 0.005407344544966578f, 0.3340998053353061f},
    {0.1050930431085774f, 1.404613529898575f, 1.384590162594685f},
    {-0.3308618287255563f, 0.214847559468213f, 0.09509516302823659f},
    {-4.634230498983486f, -5.799100973351585f, -19.33244095627987f},
    {6.228269936347081f, 14.17993336680509f, 56.69055260068105f},
    {4.776384997670288f, -13.74514537774601f, -65.35303263337234f},
    {-5.435455855934631f, 4.645852612178535f, 26.3124352495832f}};
constexpr float kMagma[7][3] = {
    {-0.002136485053939582f, -0.000749655052795221f, -0.005386127855323933f},
    {0.2516605407371642f, 0.6775232436837668f, 2.494026599312351f},
    {8.353717279216625f, -3.577719514958484f, 0.3144679030132573f},
    {-27.66873308576866f, 14.26473078096533f, -13.64921318813922f},
    {52.17613981234068f, -27.94360607168351f, 12.94416944238394f},
    {-50.76852536473588f, 29.04658282127291f, 4.23415299384598f},
    {18.65570506591883f, -11.48977351997711f, -5.601961508734096f}};
// cividis (blue to grey to yellow, designed for colour-vision deficiency): stops at 0, 1/4,
// 1/2, 3/4, 1, interpolated linearly.
constexpr float kCividis[5][3] = {{0.000f, 0.135f, 0.305f}, {0.263f, 0.314f, 0.430f}, {0.487f, 0.482f, 0.471f},
                                  {0.730f, 0.670f, 0.395f}, {0.996f, 0.909f, 0.218f}};
// Diverging blue - light grey - red (Moreland's cool-warm end points), for signed values.
constexpr float kDiverging[3][3] = {{0.230f, 0.299f, 0.754f}, {0.865f, 0.865f, 0.865f}, {0.706f, 0.016f, 0.150f}};

Rgb poly(const float (&c)[7][3], float x) {
  float v[3];
  for (int k = 0; k < 3; ++k) {
    float acc = c[6][k];
    for (int d = 5; d >= 0; --d) acc = c[d][k] + x * acc;
    v[k] = std::clamp(acc, 0.0f, 1.0f);
  }
  return {v[0], v[1], v[2]};
}

template <int N>
Rgb stops(const float (&c)[N][3], float x) {
  const float s = x * (N - 1);
  const int i = std::min(N - 2, static_cast<int>(s));
  const float f = s - static_cast<float>(i);
  return {c[i][0] + f * (c[i + 1][0] - c[i][0]), c[i][1] + f * (c[i + 1][1] - c[i][1]), c[i][2] + f * (c[i + 1][2] - c[i][2])};
}

}  // namespace

const char* colormap_name(Colormap map) {
  switch (map) {
    case Colormap::viridis: return "viridis";
    case Colormap::magma: return "magma";
    case Colormap::cividis: return "cividis";
    case Colormap::grey: return "grey";
    case Colormap::diverging: return "diverging";
  }
  return "?";
}

Colormap colormap_from_name(const std::string& name) {
  for (int i = 0; i < kColormapCount; ++i)
    if (name == colormap_name(static_cast<Colormap>(i))) return static_cast<Colormap>(i);
  throw Error("colormap must be viridis, magma, cividis, grey or diverging (got " + quote(name) + ")");
}

Rgb colormap_rgb(Colormap map, float x) {
  x = std::clamp(std::isfinite(x) ? x : 0.0f, 0.0f, 1.0f);
  switch (map) {
    case Colormap::viridis: return poly(kViridis, x);
    case Colormap::magma: return poly(kMagma, x);
    case Colormap::cividis: return stops(kCividis, x);
    case Colormap::grey: return {x, x, x};
    case Colormap::diverging: return stops(kDiverging, x);
  }
  return {x, x, x};
}

std::vector<uint8_t> colormap_lut() {
  std::vector<uint8_t> lut(static_cast<size_t>(kColormapLutSize) * kColormapCount * 4);
  auto byte = [](float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)); };
  for (int m = 0; m < kColormapCount; ++m)
    for (int i = 0; i < kColormapLutSize; ++i) {
      const Rgb c = colormap_rgb(static_cast<Colormap>(m), static_cast<float>(i) / (kColormapLutSize - 1));
      uint8_t* px = &lut[(static_cast<size_t>(m) * kColormapLutSize + i) * 4];
      px[0] = byte(c.r);
      px[1] = byte(c.g);
      px[2] = byte(c.b);
      px[3] = 255;
    }
  return lut;
}

float scale_value(float v, bool log_scale, float lo, float hi, float gamma) {
  if (!(v > 0) || !(hi > 0)) return 0.0f;
  if (!log_scale) return std::pow(std::clamp(v / hi, 0.0f, 1.0f), std::clamp(gamma, 0.05f, 20.0f));
  lo = std::max(lo, hi * 1e-12f);
  if (hi <= lo) return v >= hi ? 1.0f : 0.0f;
  return std::clamp((std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)), 0.0f, 1.0f);
}

}  // namespace fmalens::render
