// View 7, FMA against exact attention for the rows on screen: dense softmax attention with the
// same queries and keys (Snapshot's exact_attention_rows: only these rows, never n x n), the
// implied FMA rows, and their difference, over the columns on screen.
#pragma once

#include <cstdint>
#include <vector>

#include "fmalens/snapshot.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct CompareData {
  std::vector<int64_t> rows;  // query rows compared
  int64_t c0 = 0, c1 = 0;     // key columns [c0, c1) shown
  int columns = 0;            // pooled columns of the images below
  std::vector<float> exact, fma, diff;  // [rows, columns]: max (exact, fma) and largest |diff| with its sign
  std::vector<double> total_variation;  // per row: 1/2 sum_t |fma - exact| over the whole row
  double max_abs_diff = 0, mean_total_variation = 0;
  float max_value = 0;
};

// Up to `max_rows` rows spread evenly over [r0, r1).
std::vector<int64_t> spread_rows(int64_t r0, int64_t r1, int max_rows);

// head -1: both matrices averaged over heads. Throws fmalens::Error for a dense model.
CompareData compute_compare(const Snapshot& snapshot, int layer, int head, const std::vector<int64_t>& rows, int64_t c0, int64_t c1,
                            int columns);

class CompareFigure {
 public:
  void set(const CompareData& data);
  const CompareData& data() const { return data_; }
  // The three heatmaps' rectangles (exact, FMA, difference) inside `rect`.
  void layout(const PixelRect& rect, float font_px, PixelRect out[3]) const;
  void draw(RenderContext& ctx, Colormap colormap, bool log_scale, float decades, const PixelRect& rect, int target_w, int target_h,
            float font_px, Canvas* canvas) const;

 private:
  CompareData data_;
  Texture textures_[3];
};

// FMA against exact attention for rows spread over the input as a figure.
void compare_view_figure(FigureCall& call);

}  // namespace fmalens::render
