#include "render/error_figure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fmalens/layout.h"
#include "render/colormap.h"
#include "render/figure_call.h"
#include "render/levels_figure.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {
namespace {

// Vertical bars of `values` in `box`, labelled under each bar; colours per bar.
void bars(Canvas* canvas, const PixelRect& box, const std::vector<double>& values, const std::vector<std::string>& labels,
          const std::vector<Color>& colours, const std::string& title, float f) {
  canvas->stroke_rect(static_cast<float>(box.x) - 0.5f, static_cast<float>(box.y) - 0.5f, static_cast<float>(box.w) + 1,
                      static_cast<float>(box.h) + 1, kAxisColor);
  canvas->label(static_cast<float>(box.x), static_cast<float>(box.y) - f * 1.3f, title, kTextColor);
  double top = 0;
  for (double v : values) top = std::max(top, v);
  if (!(top > 0)) top = 1;
  top *= 1.1;
  for (double t : nice_ticks(0, top, std::max(2, box.h / static_cast<int>(f * 3)))) {
    const float y = static_cast<float>(box.y + box.h - t / top * box.h);
    canvas->line(static_cast<float>(box.x) - f * 0.3f, y, static_cast<float>(box.x), y, kAxisColor);
    canvas->label(static_cast<float>(box.x) - f * 0.4f, y - f * 0.5f, format_number(t), kDimTextColor, Label::Align::right);
  }
  if (values.empty()) return;
  const float bw = static_cast<float>(box.w) / static_cast<float>(values.size());
  const int every = std::max(1, static_cast<int>(std::ceil(f * 2.4f / bw)));
  for (size_t k = 0; k < values.size(); ++k) {
    const float x = static_cast<float>(box.x) + bw * static_cast<float>(k);
    const float h = static_cast<float>(values[k] / top * box.h);
    canvas->fill_rect(x + 1, static_cast<float>(box.y + box.h) - h, std::max(1.0f, bw - 2), h, colours[k % colours.size()]);
    if (static_cast<int>(k) % every == 0)
      canvas->label(x + bw / 2, static_cast<float>(box.y + box.h) + f * 0.3f, labels[k], kDimTextColor, Label::Align::centre);
  }
}

}  // namespace

ErrorFigureLayout error_figure_layout(const PixelRect& r, float f) {
  ErrorFigureLayout l;
  const int left = static_cast<int>(f * 4.0f), gap = static_cast<int>(f * 3.5f);
  const int strip_h = std::max(static_cast<int>(f * 2.5f), r.h / 5);
  l.strip = {r.x + left, r.y + static_cast<int>(f * 1.6f), std::max(1, r.w - left - static_cast<int>(f)), strip_h};
  const int top = l.strip.y + l.strip.h + gap, bottom = static_cast<int>(f * 4.2f);
  const int h = std::max(1, r.y + r.h - top - bottom);
  const int w = std::max(1, (r.w - 2 * left - static_cast<int>(f * 2)) / 2);
  l.by_bin = {r.x + left, top, w, h};
  l.by_level = {l.by_bin.x + w + left + static_cast<int>(f), top, w, h};
  return l;
}

void draw_error_figure(RenderContext& ctx, const ErrorFigure& fig, const PixelRect& rect, int target_w, int target_h, Canvas* canvas) {
  const float f = fig.font_px;
  const ErrorFigureLayout l = error_figure_layout(rect, f);
  if (!fig.profile) return ctx.draw_canvas(*canvas, target_w, target_h);
  const FmaErrorProfile& e = *fig.profile;
  char line[256];
  std::snprintf(line, sizeof(line), "total variation from exact softmax per query: mean %.4f, max %.4f; KL(exact || FMA) mean %.4f bits",
                e.mean_tv, e.max_tv, e.mean_kl);
  canvas->label(static_cast<float>(l.strip.x), static_cast<float>(rect.y), line, kTextColor);
  // The strip: each pixel column the largest error among the queries it covers (a bad row stays visible).
  const int64_t n = static_cast<int64_t>(e.tv.size());
  const double top = e.max_tv > 0 ? e.max_tv : 1.0;
  for (int c = 0; c < l.strip.w && n > 0; ++c) {
    const int64_t a = n * c / l.strip.w, b = std::max(a + 1, n * (c + 1) / l.strip.w);
    float m = 0;
    for (int64_t i = a; i < b && i < n; ++i) m = std::max(m, e.tv[static_cast<size_t>(i)]);
    const float h = static_cast<float>(m / top) * static_cast<float>(l.strip.h);
    canvas->fill_rect(static_cast<float>(l.strip.x + c), static_cast<float>(l.strip.y + l.strip.h) - h, 1, h,
                      to_color(colormap_rgb(fig.colormap, static_cast<float>(0.25 + 0.75 * m / top))));
  }
  canvas->stroke_rect(static_cast<float>(l.strip.x) - 0.5f, static_cast<float>(l.strip.y) - 0.5f, static_cast<float>(l.strip.w) + 1,
                      static_cast<float>(l.strip.h) + 1, kAxisColor);
  canvas->label(static_cast<float>(l.strip.x) - f * 0.4f, static_cast<float>(l.strip.y) - f * 0.5f, format_number(top), kDimTextColor,
                Label::Align::right);
  for (double t : nice_ticks(0, static_cast<double>(n), std::max(2, l.strip.w / static_cast<int>(f * 6)))) {
    const float x = static_cast<float>(l.strip.x + t / static_cast<double>(std::max<int64_t>(n, 1)) * l.strip.w);
    canvas->line(x, static_cast<float>(l.strip.y + l.strip.h), x, static_cast<float>(l.strip.y + l.strip.h) + f * 0.3f, kAxisColor);
    canvas->label(x, static_cast<float>(l.strip.y + l.strip.h) + f * 0.35f, format_number(t), kDimTextColor, Label::Align::centre);
  }
  // By distance and by level.
  std::vector<std::string> bin_labels;
  for (size_t b = 0; b < e.tv_by_bin.size(); ++b) bin_labels.push_back(std::to_string(distance_bin_start(static_cast<int>(b))));
  bars(canvas, l.by_bin, e.tv_by_bin, bin_labels, {to_color(colormap_rgb(fig.colormap, 0.7f))},
       fig.two_d ? "by Chebyshev distance (bins from)" : "by |query - key| (bins from)", f);
  std::vector<Color> tints;
  for (size_t lv = 0; lv < e.tv_by_level.size(); ++lv) tints.push_back(to_color(level_tint(static_cast<int>(lv))));
  bars(canvas, l.by_level, e.tv_by_level, fig.level_names, tints, "by the level serving the key", f);
  std::string worst = "worst queries:";
  for (size_t k = 0; k < e.worst.size() && k < 8; ++k) {
    std::snprintf(line, sizeof(line), " %lld (%.3f)", static_cast<long long>(e.worst[k]), static_cast<double>(e.tv[static_cast<size_t>(e.worst[k])]));
    worst += line;
  }
  canvas->label(static_cast<float>(l.by_bin.x), static_cast<float>(l.by_bin.y + l.by_bin.h) + f * 1.8f, worst, kDimTextColor);
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void error_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  if (!has_bands_and_queries(s)) throw Error("view 'error' needs an FMA run with its queries and keys");
  const FmaErrorProfile profile = fma_error_profile(s, st.layer, st.head);
  ErrorFigure fig;
  fig.profile = &profile;
  const Layout layout(s.attention);
  for (int l = 0; l < layout.num_levels(); ++l) fig.level_names.push_back(l == 0 ? "fine" : "L" + std::to_string(l));
  fig.two_d = s.attention.variant == Variant::grid2d;
  fig.colormap = st.colormap;
  fig.font_px = f;
  draw_error_figure(c.ctx, fig, body, W, H, &canvas);
}

bool has_bands_and_queries(const Snapshot& s) { return !s.layers.empty() && !s.layers[0].bands.empty() && !s.layers[0].q.empty(); }

}  // namespace fmalens::render
