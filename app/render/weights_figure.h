// View 3, the learned downsampling of one layer and level: for keys and for values side by
// side, the p basis functions per channel as a (summary, channel) x position heatmap, and
// their average over channels as curves with the spread (mean +- one standard deviation),
// beside plain averaging (each summary the mean of its w/p tokens).
#pragma once

#include <cstdint>
#include <vector>

#include "fmalens/snapshot.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct WeightsFigureLayout {
  PixelRect heatmap[2];  // keys, values: rows = summary * channels + channel, columns = position
  PixelRect curves[2];
  float curve_lo = 0, curve_hi = 1;  // value range of the curves' y axis
};

// Mean and standard deviation over channels of one summary's weights: [positions] each.
struct BasisCurve {
  std::vector<float> mean, stddev, plain;  // plain: what average pooling would weigh
};
std::vector<BasisCurve> basis_curves(const Array& weights);  // [p, d, w] -> p curves

class WeightsFigure {
 public:
  // Uploads the weights as textures; call when the layer or level changes.
  void set(const LevelWeights& weights, int level);
  bool empty() const { return !keys_; }
  int level() const { return level_; }
  const Array& keys() const { return keys_array_; }
  const Array& values() const { return values_array_; }
  float max_abs() const { return max_abs_; }

  WeightsFigureLayout layout(const PixelRect& rect, float font_px) const;
  void draw(RenderContext& ctx, const PixelRect& rect, int target_w, int target_h, float font_px, Canvas* canvas) const;

 private:
  Texture keys_, values_;
  Array keys_array_, values_array_;
  std::vector<BasisCurve> curves_[2];
  int level_ = 0;
  float max_abs_ = 0, lo_ = 0, hi_ = 0;
};

// The selected layer's learned downsampling of one coarse level as a figure.
void weights_view_figure(FigureCall& call);

}  // namespace fmalens::render
