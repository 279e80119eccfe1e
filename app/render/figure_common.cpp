#include "render/figure_common.h"

#include "fmalens/quote.h"

#include <cmath>
#include <cstdio>

namespace fmalens::render {

Color to_color(Rgb c, float alpha) { return {c.r, c.g, c.b, alpha}; }

void row_colour_range(const std::vector<float>& row, float decades, bool log_scale, float* lo, float* hi) {
  float top = 0;
  for (float v : row) top = std::max(top, v);
  *hi = top > 0 ? top : 1.0f;
  *lo = log_scale ? *hi * std::pow(10.0f, -std::max(decades, 1.0f)) : 0.0f;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  std::vector<double> out;
  if (!(hi > lo) || count < 1) return out;
  const double raw = (hi - lo) / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (raw <= f * mag) {
      step = f * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::string format_number(double v) {
  char buf[32];
  const double a = std::abs(v);
  if (a == 0) return "0";
  if (a >= 1e5 || a < 1e-3) std::snprintf(buf, sizeof(buf), "%.0e", v);
  else if (a >= 100 && std::abs(v - std::round(v)) < 1e-9) std::snprintf(buf, sizeof(buf), "%.0f", v);
  else std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

std::string format_percent(double f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * f);
  return buf;
}

std::string byte_label(unsigned char b) {
  if (b == '\n') return "\\n";
  if (b >= 32 && b < 127) return std::string(1, static_cast<char>(b));
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02X", b);
  return buf;
}

std::string text_token_label(const Snapshot& s, int64_t t) {
  if (s.token_spans.empty())
    return t >= 0 && t < static_cast<int64_t>(s.text.size()) ? byte_label(static_cast<unsigned char>(s.text[static_cast<size_t>(t)]))
                                                             : std::string();
  return escaped(s.token_text(t));
}

std::string vocabulary_label(const Snapshot& s, int64_t id) {
  if (!s.tokenizer) return id >= 0 && id < 256 ? byte_label(static_cast<unsigned char>(id)) : "<" + std::to_string(id) + ">";
  return escaped(s.vocabulary_entry(id));
}

void colorbar_labels(Canvas* canvas, float x, float y, float h, float lo, float hi, bool log_scale, float font_px, float gamma) {
  if (!(hi > 0)) return;
  auto place = [&](double v, const std::string& text) {
    const float pos = scale_value(static_cast<float>(v), log_scale, lo, hi, gamma);
    const float py = y + h * (1.0f - pos);
    canvas->line(x, py, x + font_px * 0.4f, py, kAxisColor);
    canvas->label(x + font_px * 0.6f, py - font_px * 0.5f, text, kTextColor);
  };
  if (log_scale) {
    const int k0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-6)), k1 = static_cast<int>(std::floor(std::log10(hi) + 1e-6));
    const int step = std::max(1, (k1 - k0 + 1) / std::max(2, static_cast<int>(h / (font_px * 2.2f))));
    for (int k = k1; k >= k0; k -= step) place(std::pow(10.0, k), "1e" + std::to_string(k));
  } else if (std::abs(gamma - 1.0f) < 1e-6f) {
    for (double v : nice_ticks(0, hi, std::max(2, static_cast<int>(h / (font_px * 3))))) place(v, format_number(v));
  } else {
    // Evenly spaced in colour, each rounded to two significant digits.
    const int count = std::max(2, static_cast<int>(h / (font_px * 3)));
    for (int k = 0; k <= count; ++k) {
      double v = hi * std::pow(static_cast<double>(k) / count, 1.0 / gamma);
      if (v > 0) {
        const double unit = std::pow(10.0, std::floor(std::log10(v)) - 1);
        v = std::round(v / unit) * unit;
      }
      place(v, format_number(v));
    }
  }
}

}  // namespace fmalens::render
