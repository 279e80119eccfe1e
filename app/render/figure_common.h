// Small helpers shared by the views' drawing code: tick positions, number formatting and the
// few colours every view uses, so that the figures look alike.
#pragma once

#include <string>
#include <vector>

#include "fmalens/snapshot.h"
#include "render/canvas.h"
#include "render/colormap.h"

namespace fmalens::render {

// Colours of the figures (dark theme, like the GUI).
constexpr Color kFigureBackground{0.09f, 0.09f, 0.10f, 1};
constexpr Color kAxisColor{0.55f, 0.55f, 0.58f, 1};
constexpr Color kTextColor{0.86f, 0.86f, 0.88f, 1};
constexpr Color kDimTextColor{0.55f, 0.55f, 0.58f, 1};
constexpr Color kMaskedColor{0.35f, 0.85f, 0.95f, 1};  // bytes a masked LM filled in

Color to_color(Rgb c, float alpha = 1);

// How weights become colours in the views that follow the matrix's colours (levels, text,
// region maps): its colormap, scale and range.
struct ColourScale {
  Colormap colormap = Colormap::viridis;
  bool log_scale = true;
  float lo = 1e-5f, hi = 1;
  float position(float value) const { return scale_value(value, log_scale, lo, hi); }
  Rgb colour(float value) const { return colormap_rgb(colormap, position(value)); }
};

// A scale for a row without bands (dense, elu_linear rows from q and k): its largest weight down
// `decades` decades (linear scales start at 0).
void row_colour_range(const std::vector<float>& row, float decades, bool log_scale, float* lo, float* hi);

// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi] with about `count` ticks.
std::vector<double> nice_ticks(double lo, double hi, int count);
// Compact number: 0.0123 -> "0.012", 12345 -> "12345", 1e-5 -> "1e-05".
std::string format_number(double v);
// Percentage with one decimal: 0.1234 -> "12.3%".
std::string format_percent(double fraction);
// One byte as a label: printable ASCII as itself, newline "\n", others "\xNN".
std::string byte_label(unsigned char byte);
// Token `t` of a text snapshot for labels: its byte (byte_label) for byte models, its text
// (escaped: \n, \xNN) for tokenized ones.
std::string text_token_label(const Snapshot& snapshot, int64_t t);
// Vocabulary entry `id` of a snapshot's tokenizer, the same way (a prediction).
std::string vocabulary_label(const Snapshot& snapshot, int64_t id);

// Ticks and labels of a colorbar for [lo, hi] on a linear or log scale, right of `bar`.
// `gamma`: a linear scale's colour position is (v / hi)^gamma (the ticks move with it).
void colorbar_labels(Canvas* canvas, float x, float y, float h, float lo, float hi, bool log_scale, float font_px, float gamma = 1);

}  // namespace fmalens::render
