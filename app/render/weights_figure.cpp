#include "render/weights_figure.h"

#include "render/figure_call.h"

#include <algorithm>
#include <cmath>

#include "render/figure_common.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {

std::vector<BasisCurve> basis_curves(const Array& w) {
  const int64_t p = w.dim(0), d = w.dim(1), n = w.dim(2);
  std::vector<BasisCurve> out(static_cast<size_t>(p));
  for (int64_t s = 0; s < p; ++s) {
    BasisCurve& c = out[static_cast<size_t>(s)];
    c.mean.assign(static_cast<size_t>(n), 0.0f);
    c.stddev.assign(static_cast<size_t>(n), 0.0f);
    c.plain.assign(static_cast<size_t>(n), 0.0f);
    for (int64_t u = 0; u < n; ++u) {
      double sum = 0, sq = 0;
      for (int64_t ch = 0; ch < d; ++ch) {
        const double v = w.at(s, ch, u);
        sum += v;
        sq += v * v;
      }
      const double mean = sum / static_cast<double>(d);
      c.mean[static_cast<size_t>(u)] = static_cast<float>(mean);
      c.stddev[static_cast<size_t>(u)] = static_cast<float>(std::sqrt(std::max(0.0, sq / static_cast<double>(d) - mean * mean)));
      const int64_t seg = std::max<int64_t>(1, n / p);
      c.plain[static_cast<size_t>(u)] = u / seg == s ? 1.0f / static_cast<float>(seg) : 0.0f;
    }
  }
  return out;
}

void WeightsFigure::set(const LevelWeights& w, int level) {
  level_ = level;
  keys_array_ = w.keys;
  values_array_ = w.values;
  max_abs_ = 0;
  for (float v : w.keys.data) max_abs_ = std::max(max_abs_, std::abs(v));
  for (float v : w.values.data) max_abs_ = std::max(max_abs_, std::abs(v));
  // Rows: summary-major, so the p basis functions of a channel group stack as bands.
  const int rows = static_cast<int>(w.keys.dim(0) * w.keys.dim(1)), cols = static_cast<int>(w.keys.dim(2));
  keys_ = make_float_texture(w.keys.data.data(), cols, rows);
  values_ = make_float_texture(w.values.data.data(), cols, rows);
  curves_[0] = basis_curves(w.keys);
  curves_[1] = basis_curves(w.values);
  lo_ = 0;
  hi_ = 0;
  for (const auto& side : curves_)
    for (const auto& c : side)
      for (size_t u = 0; u < c.mean.size(); ++u) {
        lo_ = std::min({lo_, c.mean[u] - c.stddev[u], c.plain[u]});
        hi_ = std::max({hi_, c.mean[u] + c.stddev[u], c.plain[u]});
      }
  if (hi_ <= lo_) hi_ = lo_ + 1;
}

WeightsFigureLayout WeightsFigure::layout(const PixelRect& r, float f) const {
  WeightsFigureLayout l;
  const int gap = static_cast<int>(f * 3), left = static_cast<int>(f * 4), top = static_cast<int>(f * 1.6f);
  const int col_w = std::max(1, (r.w - left - gap - static_cast<int>(f)) / 2);
  const int heat_h = std::max(1, (r.h - top) * 11 / 20 - static_cast<int>(f * 1.5f));
  const int curve_y = r.y + top + heat_h + static_cast<int>(f * 2.6f);
  const int curve_h = std::max(1, r.y + r.h - curve_y - static_cast<int>(f * 1.4f));
  for (int side = 0; side < 2; ++side) {
    const int x = r.x + left + side * (col_w + gap);
    l.heatmap[side] = {x, r.y + top, col_w, heat_h};
    l.curves[side] = {x, curve_y, col_w, curve_h};
  }
  l.curve_lo = lo_;
  l.curve_hi = hi_;
  return l;
}

void WeightsFigure::draw(RenderContext& ctx, const PixelRect& rect, int target_w, int target_h, float f, Canvas* canvas) const {
  if (empty()) return;
  const WeightsFigureLayout lay = layout(rect, f);
  const int64_t p = keys_array_.dim(0), d = keys_array_.dim(1), n = keys_array_.dim(2);
  HeatmapStyle style;
  style.colormap = Colormap::diverging;
  style.scale = HeatmapStyle::Scale::diverging;
  style.hi = max_abs_ > 0 ? max_abs_ : 1;
  const char* titles[2] = {"keys", "values"};
  for (int side = 0; side < 2; ++side) {
    const PixelRect& hm = lay.heatmap[side];
    ctx.draw_heatmap(side == 0 ? keys_.get() : values_.get(), style, 0, 0, static_cast<float>(n), static_cast<float>(p * d), hm,
                     target_h);
    canvas->label(static_cast<float>(hm.x), static_cast<float>(hm.y) - f * 1.4f,
                  std::string(titles[side]) + "  p" + std::to_string(p) + " d" + std::to_string(d) + " w" + std::to_string(n),
                  kTextColor);
    canvas->stroke_rect(static_cast<float>(hm.x) - 0.5f, static_cast<float>(hm.y) - 0.5f, static_cast<float>(hm.w) + 1,
                        static_cast<float>(hm.h) + 1, kAxisColor);
    for (int64_t s = 1; s < p; ++s) {  // separators between summaries
      const float y = static_cast<float>(hm.y) + static_cast<float>(hm.h) * static_cast<float>(s) / static_cast<float>(p);
      canvas->line(static_cast<float>(hm.x), y, static_cast<float>(hm.x + hm.w), y, {0, 0, 0, 0.8f});
    }
    if (side == 0)
      for (int64_t s = 0; s < p; ++s)
        canvas->label(static_cast<float>(hm.x) - f * 0.4f,
                      static_cast<float>(hm.y) + static_cast<float>(hm.h) * (static_cast<float>(s) + 0.5f) / static_cast<float>(p) - f * 0.5f,
                      "s" + std::to_string(s), kDimTextColor, Label::Align::right);

    // Curves: mean over channels with +- one standard deviation, and plain averaging dashed.
    const PixelRect& cr = lay.curves[side];
    auto px = [&](int64_t u) { return static_cast<float>(cr.x) + (static_cast<float>(u) + 0.5f) / static_cast<float>(n) * cr.w; };
    auto py = [&](float v) { return static_cast<float>(cr.y + cr.h) - (v - lay.curve_lo) / (lay.curve_hi - lay.curve_lo) * cr.h; };
    canvas->stroke_rect(static_cast<float>(cr.x) - 0.5f, static_cast<float>(cr.y) - 0.5f, static_cast<float>(cr.w) + 1,
                        static_cast<float>(cr.h) + 1, kAxisColor);
    if (lay.curve_lo < 0 && lay.curve_hi > 0) canvas->line(static_cast<float>(cr.x), py(0), static_cast<float>(cr.x + cr.w), py(0), {0.4f, 0.4f, 0.42f, 1});
    const auto& curves = curves_[side];
    const Color kAveragingColor{0.8f, 0.8f, 0.8f, 0.7f};  // plain averaging, the dashed reference
    if (n == 1) {
      // A level of width 1 (2D, r 1: a summary of one patch) has no curve to draw: each summary
      // is a point, its mean with a +-1 std bar and a square, averaging (1) a dashed tick.
      for (size_t s = 0; s < curves.size(); ++s) {
        const Color c = to_color(level_tint(static_cast<int>(s) + 1));
        const float x = static_cast<float>(cr.x) + static_cast<float>(cr.w) * static_cast<float>(s + 1) / static_cast<float>(curves.size() + 1);
        const float mean = curves[s].mean[0], sd = curves[s].stddev[0], half = f * 0.35f;
        canvas->line(x, py(mean + sd), x, py(mean - sd), {c.r, c.g, c.b, 0.6f}, 2);
        canvas->fill_rect(x - half, py(mean) - half, 2 * half, 2 * half, c);
        canvas->line(x - 2 * half, py(curves[s].plain[0]), x - half * 0.5f, py(curves[s].plain[0]), kAveragingColor, 1);
        canvas->line(x + half * 0.5f, py(curves[s].plain[0]), x + 2 * half, py(curves[s].plain[0]), kAveragingColor, 1);
      }
    }
    for (size_t s = 0; n > 1 && s < curves.size(); ++s) {
      const Color c = to_color(level_tint(static_cast<int>(s) + 1));
      std::vector<float> xs, up, down;
      std::vector<Point> mean_line, plain_line;
      for (int64_t u = 0; u < n; ++u) {
        const size_t k = static_cast<size_t>(u);
        xs.push_back(px(u));
        up.push_back(py(curves[s].mean[k] + curves[s].stddev[k]));
        down.push_back(py(curves[s].mean[k] - curves[s].stddev[k]));
        mean_line.push_back({px(u), py(curves[s].mean[k])});
        plain_line.push_back({px(u), py(curves[s].plain[k])});
      }
      canvas->fill_between(xs, up, down, {c.r, c.g, c.b, 0.22f});
      for (size_t k = 0; k + 1 < plain_line.size(); k += 2)  // dashed: every other segment
        canvas->line(plain_line[k].x, plain_line[k].y, plain_line[k + 1].x, plain_line[k + 1].y, kAveragingColor, 1);
      canvas->polyline(mean_line, c, 1.5f);
    }
    for (double v : nice_ticks(lay.curve_lo, lay.curve_hi, std::max(2, cr.h / static_cast<int>(f * 2.5f)))) {
      if (side != 0) break;
      canvas->label(static_cast<float>(cr.x) - f * 0.4f, py(static_cast<float>(v)) - f * 0.5f, format_number(v), kDimTextColor,
                    Label::Align::right);
    }
    canvas->label(static_cast<float>(cr.x), static_cast<float>(cr.y) - f * 1.3f, std::string(titles[side]) + ", per summary", kTextColor);
    if (side == 0)
      canvas->label(static_cast<float>(cr.x), static_cast<float>(cr.y + cr.h) + f * 0.2f,
                    "mean +-1 std; dashed: averaging", kDimTextColor);
    else
      canvas->label(static_cast<float>(cr.x + cr.w), static_cast<float>(cr.y + cr.h) + f * 0.2f,
                    "position 0.." + std::to_string(n - 1), kDimTextColor, Label::Align::right);
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void weights_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  if (static_cast<size_t>(st.layer) >= s.downsampling.size() || s.downsampling[static_cast<size_t>(st.layer)].empty())
    throw Error("view 'weights' needs an FMA model with learned downsampling (this one has none)");
  const auto& levels = s.downsampling[static_cast<size_t>(st.layer)];
  if (c.weights_level > static_cast<int>(levels.size()))
    throw Error("level " + std::to_string(c.weights_level) + " out of range (the model has coarse levels 1.." +
                std::to_string(levels.size()) + ")");
  WeightsFigure fig;
  fig.set(levels[static_cast<size_t>(c.weights_level - 1)], c.weights_level);
  fig.draw(c.ctx, body, W, H, f, &canvas);
  const WeightsFigureLayout lay = fig.layout(body, f);
  c.raster.push_back(lay.heatmap[0]);
  c.raster.push_back(lay.heatmap[1]);
}

}  // namespace fmalens::render
