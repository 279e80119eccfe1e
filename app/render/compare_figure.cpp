#include "render/compare_figure.h"

#include "render/figure_call.h"

#include <algorithm>
#include <cmath>

#include "fmalens/config.h"
#include "render/figure_common.h"

namespace fmalens::render {

std::vector<int64_t> spread_rows(int64_t r0, int64_t r1, int max_rows) {
  std::vector<int64_t> rows;
  const int64_t count = r1 - r0;
  if (count <= 0 || max_rows <= 0) return rows;
  if (count <= max_rows) {
    for (int64_t r = r0; r < r1; ++r) rows.push_back(r);
    return rows;
  }
  for (int k = 0; k < max_rows; ++k) rows.push_back(r0 + (count * (2 * k + 1)) / (2 * max_rows));
  return rows;
}

CompareData compute_compare(const Snapshot& s, int layer, int head, const std::vector<int64_t>& rows, int64_t c0, int64_t c1,
                            int columns) {
  CompareData d;
  d.rows = rows;
  d.c0 = std::clamp<int64_t>(c0, 0, s.tokens);
  d.c1 = std::clamp<int64_t>(c1, d.c0, s.tokens);
  d.columns = std::max(1, static_cast<int>(std::min<int64_t>(columns, std::max<int64_t>(1, d.c1 - d.c0))));
  const size_t R = rows.size(), C = static_cast<size_t>(d.columns);
  d.exact.assign(R * C, 0.0f);
  d.fma.assign(R * C, 0.0f);
  d.diff.assign(R * C, 0.0f);
  const int h0 = head < 0 ? 0 : head, h1 = head < 0 ? static_cast<int>(s.config.n_head) : head + 1;
  const float inv = 1.0f / static_cast<float>(h1 - h0);
  std::vector<float> exact(static_cast<size_t>(s.tokens)), fma(static_cast<size_t>(s.tokens));
  double tv_sum = 0;
  for (size_t r = 0; r < R; ++r) {
    std::fill(exact.begin(), exact.end(), 0.0f);
    std::fill(fma.begin(), fma.end(), 0.0f);
    for (int h = h0; h < h1; ++h) {
      const Array e = exact_attention_rows(s, layer, h, rows[r], rows[r] + 1);
      const Array f = implied_attention_rows(s, layer, h, rows[r], rows[r] + 1);
      for (size_t t = 0; t < exact.size(); ++t) {
        exact[t] += e.data[t] * inv;
        fma[t] += f.data[t] * inv;
      }
    }
    double tv = 0;
    for (size_t t = 0; t < exact.size(); ++t) tv += std::abs(static_cast<double>(fma[t]) - exact[t]);
    d.total_variation.push_back(0.5 * tv);
    tv_sum += 0.5 * tv;
    const int64_t span = d.c1 - d.c0;
    for (size_t c = 0; c < C; ++c) {
      const int64_t a = d.c0 + span * static_cast<int64_t>(c) / static_cast<int64_t>(C);
      const int64_t b = std::max(a + 1, d.c0 + span * static_cast<int64_t>(c + 1) / static_cast<int64_t>(C));
      float me = 0, mf = 0, md = 0;
      for (int64_t t = a; t < b && t < d.c1; ++t) {
        const float e = exact[static_cast<size_t>(t)], f = fma[static_cast<size_t>(t)];
        me = std::max(me, e);
        mf = std::max(mf, f);
        if (std::abs(f - e) > std::abs(md)) md = f - e;
      }
      d.exact[r * C + c] = me;
      d.fma[r * C + c] = mf;
      d.diff[r * C + c] = md;
      d.max_value = std::max({d.max_value, me, mf});
      d.max_abs_diff = std::max(d.max_abs_diff, static_cast<double>(std::abs(md)));
    }
  }
  d.mean_total_variation = R ? tv_sum / static_cast<double>(R) : 0;
  return d;
}

void CompareFigure::set(const CompareData& data) {
  data_ = data;
  const int rows = static_cast<int>(data_.rows.size());
  if (rows == 0) return;
  textures_[0] = make_float_texture(data_.exact.data(), data_.columns, rows);
  textures_[1] = make_float_texture(data_.fma.data(), data_.columns, rows);
  textures_[2] = make_float_texture(data_.diff.data(), data_.columns, rows);
}

void CompareFigure::layout(const PixelRect& r, float f, PixelRect out[3]) const {
  const int left = static_cast<int>(f * 4.5f), title = static_cast<int>(f * 1.5f), gap = static_cast<int>(f * 0.6f);
  const int top = static_cast<int>(f * 1.6f);
  const int h = std::max(4, (r.h - top - 3 * (title + gap)) / 3);
  for (int k = 0; k < 3; ++k)
    out[k] = {r.x + left, r.y + top + title + k * (h + title + gap), std::max(1, r.w - left - static_cast<int>(f)), h};
}

void CompareFigure::draw(RenderContext& ctx, Colormap colormap, bool log_scale, float decades, const PixelRect& rect, int target_w,
                         int target_h, float f, Canvas* canvas) const {
  if (data_.rows.empty()) return;
  PixelRect boxes[3];
  layout(rect, f, boxes);
  canvas->label(static_cast<float>(rect.x), static_cast<float>(rect.y),
                std::to_string(data_.rows.size()) + " rows on screen, keys " + std::to_string(data_.c0) + ".." +
                    std::to_string(data_.c1 - 1) + ": mean total variation " + format_number(data_.mean_total_variation) +
                    ", max |FMA - exact| " + format_number(data_.max_abs_diff),
                kTextColor);
  HeatmapStyle value_style;
  value_style.colormap = colormap;
  value_style.scale = log_scale ? HeatmapStyle::Scale::log : HeatmapStyle::Scale::linear;
  value_style.hi = data_.max_value > 0 ? data_.max_value : 1;
  value_style.lo = value_style.hi * std::pow(10.0f, -decades);
  HeatmapStyle diff_style;
  diff_style.colormap = Colormap::diverging;
  diff_style.scale = HeatmapStyle::Scale::diverging;
  diff_style.hi = data_.max_abs_diff > 0 ? static_cast<float>(data_.max_abs_diff) : 1;
  const char* titles[3] = {"exact softmax attention (same q, k)", "FMA (implied by the bands)", "FMA - exact (blue: FMA lower, red: higher)"};
  const float R = static_cast<float>(data_.rows.size());
  for (int k = 0; k < 3; ++k) {
    const PixelRect& b = boxes[k];
    ctx.draw_heatmap(textures_[k].get(), k == 2 ? diff_style : value_style, 0, 0, static_cast<float>(data_.columns), R, b, target_h);
    canvas->label(static_cast<float>(b.x), static_cast<float>(b.y) - f * 1.35f, titles[k], kTextColor);
    canvas->stroke_rect(static_cast<float>(b.x) - 0.5f, static_cast<float>(b.y) - 0.5f, static_cast<float>(b.w) + 1,
                        static_cast<float>(b.h) + 1, kAxisColor);
    const size_t step = std::max<size_t>(1, static_cast<size_t>(std::ceil(f * 1.2f / std::max(1.0f, b.h / R))));
    for (size_t r = 0; r < data_.rows.size(); r += step)
      canvas->label(static_cast<float>(b.x) - f * 0.4f, static_cast<float>(b.y) + (static_cast<float>(r) + 0.5f) * b.h / R - f * 0.5f,
                    std::to_string(data_.rows[r]), kDimTextColor, Label::Align::right);
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void compare_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  if (s.layers.empty() || s.layers[0].q.empty()) throw Error("view 'compare' needs a run that captured queries and keys");
  CompareFigure fig;
  PixelRect boxes[3];
  fig.layout(body, f, boxes);
  const int columns = std::max(16, boxes[0].w);
  fig.set(compute_compare(s, st.layer, st.head, spread_rows(0, s.tokens, 32), 0, s.tokens, columns));
  fig.draw(c.ctx, st.colormap, st.log_scale, st.decades, body, W, H, f, &canvas);
  fig.layout(body, f, boxes);
  for (const PixelRect& b : boxes) c.raster.push_back(b);
}

}  // namespace fmalens::render
