#include "render/head_figures.h"

#include <algorithm>
#include <cmath>

#include "fmalens/layout.h"
#include "render/colormap.h"
#include "render/figure_call.h"
#include "render/levels_figure.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {
namespace {

// A layer's colour in the head finder: magma's bright part, spread over the layers.
Color layer_colour(int layer, int layers) {
  const float t = layers > 1 ? static_cast<float>(layer) / static_cast<float>(layers - 1) : 0.5f;
  return to_color(colormap_rgb(Colormap::magma, 0.35f + 0.6f * t));
}

// A little room around the data so that points on the edge stay inside the box.
void padded_range(double lo, double hi, double* out_lo, double* out_hi) {
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double pad = 0.06 * (hi - lo);
  *out_lo = lo - pad;
  *out_hi = hi + pad;
}

}  // namespace

int metric_index(const std::vector<std::string>& names, const std::string& name, int fallback) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? std::clamp(fallback, 0, std::max(0, static_cast<int>(names.size()) - 1)) : static_cast<int>(it - names.begin());
}

HeadsFigureLayout heads_figure_layout(const HeadsFigure& fig, const PixelRect& r) {
  const float f = fig.font_px;
  HeadsFigureLayout l;
  const int left = static_cast<int>(f * 4.5f), bottom = static_cast<int>(f * 3.0f), top = static_cast<int>(f * 1.0f),
            right = static_cast<int>(f * 1.5f);
  l.plot = {r.x + left, r.y + top, std::max(1, r.w - left - right), std::max(1, r.h - top - bottom)};
  double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
  if (fig.stats)
    for (const HeadStats& h : *fig.stats) {
      xl = std::min(xl, head_metric(h, fig.x_metric));
      xh = std::max(xh, head_metric(h, fig.x_metric));
      yl = std::min(yl, head_metric(h, fig.y_metric));
      yh = std::max(yh, head_metric(h, fig.y_metric));
    }
  if (!std::isfinite(xl)) xl = 0, xh = 1, yl = 0, yh = 1;
  padded_range(xl, xh, &l.x_lo, &l.x_hi);
  padded_range(yl, yh, &l.y_lo, &l.y_hi);
  return l;
}

Point head_point(const HeadsFigure& fig, const HeadsFigureLayout& l, size_t index) {
  const HeadStats& h = (*fig.stats)[index];
  const double x = (head_metric(h, fig.x_metric) - l.x_lo) / (l.x_hi - l.x_lo);
  const double y = (head_metric(h, fig.y_metric) - l.y_lo) / (l.y_hi - l.y_lo);
  return {static_cast<float>(l.plot.x + x * l.plot.w), static_cast<float>(l.plot.y + (1 - y) * l.plot.h)};
}

int head_at(const HeadsFigure& fig, const HeadsFigureLayout& l, float x, float y, float radius) {
  if (!fig.stats) return -1;
  int best = -1;
  float best_d = radius * radius;
  for (size_t k = 0; k < fig.stats->size(); ++k) {
    const Point p = head_point(fig, l, k);
    const float d = (p.x - x) * (p.x - x) + (p.y - y) * (p.y - y);
    if (d <= best_d) best_d = d, best = static_cast<int>(k);
  }
  return best;
}

void draw_heads_figure(RenderContext& ctx, const HeadsFigure& fig, const PixelRect& rect, int target_w, int target_h, Canvas* canvas) {
  const float f = fig.font_px;
  const HeadsFigureLayout l = heads_figure_layout(fig, rect);
  const PixelRect& p = l.plot;
  canvas->stroke_rect(static_cast<float>(p.x) - 0.5f, static_cast<float>(p.y) - 0.5f, static_cast<float>(p.w) + 1,
                      static_cast<float>(p.h) + 1, kAxisColor);
  for (double t : nice_ticks(l.x_lo, l.x_hi, std::max(2, p.w / static_cast<int>(f * 6)))) {
    const float x = static_cast<float>(p.x + (t - l.x_lo) / (l.x_hi - l.x_lo) * p.w);
    canvas->line(x, static_cast<float>(p.y + p.h), x, static_cast<float>(p.y + p.h) + f * 0.3f, kAxisColor);
    canvas->label(x, static_cast<float>(p.y + p.h) + f * 0.4f, format_number(t), kDimTextColor, Label::Align::centre);
  }
  for (double t : nice_ticks(l.y_lo, l.y_hi, std::max(2, p.h / static_cast<int>(f * 3)))) {
    const float y = static_cast<float>(p.y + (1 - (t - l.y_lo) / (l.y_hi - l.y_lo)) * p.h);
    canvas->line(static_cast<float>(p.x) - f * 0.3f, y, static_cast<float>(p.x), y, kAxisColor);
    canvas->label(static_cast<float>(p.x) - f * 0.4f, y - f * 0.5f, format_number(t), kDimTextColor, Label::Align::right);
  }
  const auto name = [&](int m) { return m >= 0 && m < static_cast<int>(fig.metric_names.size()) ? fig.metric_names[static_cast<size_t>(m)] : ""; };
  canvas->label(static_cast<float>(p.x + p.w / 2), static_cast<float>(p.y + p.h) + f * 1.6f, name(fig.x_metric), kTextColor, Label::Align::centre);
  canvas->label(static_cast<float>(rect.x) + f * 0.2f, static_cast<float>(rect.y), name(fig.y_metric), kTextColor);
  if (!fig.stats) return ctx.draw_canvas(*canvas, target_w, target_h);
  const bool labels = fig.stats->size() <= 48;
  const float s = std::max(3.0f, f * 0.45f);
  for (size_t k = 0; k < fig.stats->size(); ++k) {
    const HeadStats& h = (*fig.stats)[k];
    const Point pt = head_point(fig, l, k);
    const bool selected = h.layer == fig.selected_layer && (fig.selected_head < 0 || h.head == fig.selected_head);
    canvas->fill_rect(pt.x - s / 2, pt.y - s / 2, s, s, layer_colour(h.layer, fig.layers));
    if (selected) canvas->stroke_rect(pt.x - s, pt.y - s, 2 * s, 2 * s, {1, 0.3f, 0.3f, 1}, 1.5f);
    if (labels)
      canvas->label(pt.x + s, pt.y - f * 0.5f, "L" + std::to_string(h.layer) + "H" + std::to_string(h.head),
                    selected ? kTextColor : kDimTextColor);
  }
  // Legend: the layers' colours, top right inside the box.
  for (int layer = 0; layer < fig.layers; ++layer) {
    const float y = static_cast<float>(p.y) + f * (0.4f + 1.2f * static_cast<float>(layer));
    const float x = static_cast<float>(p.x + p.w) - f * 5.0f;
    canvas->fill_rect(x, y + f * 0.3f, s, s, layer_colour(layer, fig.layers));
    canvas->label(x + s + f * 0.3f, y, "layer " + std::to_string(layer), kDimTextColor);
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

HeadsFigure make_heads_figure(const std::vector<HeadStats>& stats, const Snapshot& s, const std::string& x_metric,
                              const std::string& y_metric, int layer, int head, float font_px) {
  HeadsFigure fig;
  const int levels = Layout(s.attention).num_levels();
  fig.stats = &stats;
  fig.metric_names = head_metric_names(levels);
  fig.x_metric = metric_index(fig.metric_names, x_metric, levels);  // unknown: mean distance
  fig.y_metric = metric_index(fig.metric_names, y_metric, 0);       // unknown: fine mass
  fig.selected_layer = layer;
  fig.selected_head = head;
  fig.layers = static_cast<int>(s.layers.size());
  fig.font_px = font_px;
  return fig;
}

void heads_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  const HeadsFigure fig = make_heads_figure(c.head_stats("heads"), s, st.heads_x, st.heads_y, st.layer, st.head, f);
  draw_heads_figure(c.ctx, fig, body, W, H, &canvas);
}

std::string distance_bin_label(int bin) {
  if (bin <= 1) return std::to_string(bin);
  const int64_t lo = distance_bin_start(bin), hi = 2 * lo - 1;
  return std::to_string(lo) + "-" + std::to_string(hi);
}

DistanceFigureLayout distance_figure_layout(const DistanceFigure& fig, const PixelRect& r) {
  const float f = fig.font_px;
  DistanceFigureLayout l;
  const int legend_h = static_cast<int>(f * 1.6f);
  l.legend = {r.x, r.y + r.h - legend_h, r.w, legend_h};
  const size_t count = std::max<size_t>(1, fig.profiles.size());
  const int columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
  const int rows = static_cast<int>((count + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
  const int cell_w = r.w / columns, cell_h = (r.h - legend_h) / rows;
  const int left = static_cast<int>(f * 4.0f), top = static_cast<int>(f * (count > 1 ? 1.4f : 0.6f)), bottom = static_cast<int>(f * 2.6f);
  for (size_t k = 0; k < count; ++k) {
    const int cx = r.x + cell_w * static_cast<int>(k % static_cast<size_t>(columns)), cy = r.y + cell_h * static_cast<int>(k / static_cast<size_t>(columns));
    l.plots.push_back({cx + left, cy + top, std::max(1, cell_w - left - static_cast<int>(f * 0.8f)), std::max(1, cell_h - top - bottom)});
  }
  l.y_max = 0;
  for (const HeadStats& h : fig.profiles)
    if (!h.distance_mass.empty())
      for (size_t b = 0; b < h.distance_mass[0].size(); ++b) {
        double stack = 0;
        for (size_t lv = 0; lv < h.distance_mass.size(); ++lv)
          if ((fig.level_mask >> lv) & 1u) stack += h.distance_mass[lv][b];
        l.y_max = std::max(l.y_max, stack);
      }
  if (!(l.y_max > 0)) l.y_max = 1;
  l.y_max *= 1.05;
  return l;
}

bool distance_bin_at(const DistanceFigure& fig, const DistanceFigureLayout& l, float x, float y, size_t* profile, int* bin) {
  for (size_t k = 0; k < l.plots.size() && k < fig.profiles.size(); ++k) {
    const PixelRect& p = l.plots[k];
    const size_t bins = fig.profiles[k].distance_mass.empty() ? 0 : fig.profiles[k].distance_mass[0].size();
    if (bins == 0 || x < p.x || x >= p.x + p.w || y < p.y || y >= p.y + p.h) continue;
    *profile = k;
    *bin = std::clamp(static_cast<int>((x - static_cast<float>(p.x)) / static_cast<float>(p.w) * static_cast<float>(bins)), 0,
                      static_cast<int>(bins) - 1);
    return true;
  }
  return false;
}

void draw_distance_figure(RenderContext& ctx, const DistanceFigure& fig, const PixelRect& rect, int target_w, int target_h,
                          Canvas* canvas) {
  const float f = fig.font_px;
  const DistanceFigureLayout l = distance_figure_layout(fig, rect);
  const bool many = fig.profiles.size() > 1;
  for (size_t k = 0; k < fig.profiles.size() && k < l.plots.size(); ++k) {
    const HeadStats& h = fig.profiles[k];
    const PixelRect& p = l.plots[k];
    const size_t bins = h.distance_mass.empty() ? 0 : h.distance_mass[0].size();
    canvas->stroke_rect(static_cast<float>(p.x) - 0.5f, static_cast<float>(p.y) - 0.5f, static_cast<float>(p.w) + 1,
                        static_cast<float>(p.h) + 1, kAxisColor);
    if (k < fig.titles.size())
      canvas->label(static_cast<float>(p.x), static_cast<float>(p.y) - f * (many ? 1.3f : 0.0f) + (many ? 0 : f * 0.2f), fig.titles[k],
                    many ? kTextColor : kDimTextColor);
    for (double t : nice_ticks(0, l.y_max, std::max(2, p.h / static_cast<int>(f * 3)))) {
      const float y = static_cast<float>(p.y + p.h - t / l.y_max * p.h);
      canvas->line(static_cast<float>(p.x) - f * 0.3f, y, static_cast<float>(p.x), y, kAxisColor);
      canvas->label(static_cast<float>(p.x) - f * 0.4f, y - f * 0.5f, format_percent(t), kDimTextColor, Label::Align::right);
    }
    if (bins == 0) continue;
    const float bw = static_cast<float>(p.w) / static_cast<float>(bins);
    const int label_every = std::max(1, static_cast<int>(std::ceil(f * 2.2f / bw)));
    for (size_t b = 0; b < bins; ++b) {
      const float x = static_cast<float>(p.x) + bw * static_cast<float>(b);
      double below = 0;
      for (size_t lv = 0; lv < h.distance_mass.size(); ++lv) {
        if (!((fig.level_mask >> lv) & 1u)) continue;
        const double m = h.distance_mass[lv][b];
        if (m <= 0) continue;
        const float y1 = static_cast<float>(p.y + p.h - below / l.y_max * p.h), y0 = static_cast<float>(p.y + p.h - (below + m) / l.y_max * p.h);
        canvas->fill_rect(x + 1, y0, std::max(1.0f, bw - 2), y1 - y0, to_color(level_tint(static_cast<int>(lv))));
        below += m;
      }
      if (static_cast<int>(b) % label_every == 0)
        canvas->label(x + bw / 2, static_cast<float>(p.y + p.h) + f * 0.3f, std::to_string(distance_bin_start(static_cast<int>(b))),
                      kDimTextColor, Label::Align::centre);
    }
    canvas->label(static_cast<float>(p.x + p.w / 2), static_cast<float>(p.y + p.h) + f * 1.3f,
                  fig.two_d ? "Chebyshev distance (patches), bins from" : "|query - key| (tokens), bins from", kDimTextColor,
                  Label::Align::centre);
  }
  // Legend: the levels' colours, as in every view.
  float x = static_cast<float>(l.legend.x) + f * 4.0f;
  for (size_t lv = 0; lv < fig.level_names.size(); ++lv) {
    if (!((fig.level_mask >> lv) & 1u)) continue;
    canvas->fill_rect(x, static_cast<float>(l.legend.y) + f * 0.45f, f * 0.8f, f * 0.8f, to_color(level_tint(static_cast<int>(lv))));
    canvas->label(x + f * 1.1f, static_cast<float>(l.legend.y) + f * 0.3f, fig.level_names[lv], kTextColor);
    x += f * (1.6f + 0.6f * static_cast<float>(fig.level_names[lv].size()));
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

DistanceFigure make_distance_figure(const std::vector<HeadStats>& stats, const Snapshot& s, int layer, int head, bool all_heads,
                                    uint32_t level_mask, float font_px) {
  DistanceFigure fig;
  const Layout layout(s.attention);
  for (int l = 0; l < layout.num_levels(); ++l) fig.level_names.push_back(l == 0 ? "fine" : "L" + std::to_string(l));
  fig.two_d = s.attention.variant == Variant::grid2d;
  fig.level_mask = level_mask;
  fig.font_px = font_px;
  if (all_heads) {
    for (const HeadStats& h : stats)
      if (h.layer == layer) {
        fig.profiles.push_back(h);
        fig.titles.push_back("head " + std::to_string(h.head));
      }
  } else if (head < 0) {
    fig.profiles.push_back(mean_of_heads(stats, layer));
    fig.titles.push_back("mean of the heads of layer " + std::to_string(layer));
  } else {
    for (const HeadStats& h : stats)
      if (h.layer == layer && h.head == head) fig.profiles.push_back(h);
    fig.titles.push_back("layer " + std::to_string(layer) + ", head " + std::to_string(head));
  }
  return fig;
}

void distance_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  const DistanceFigure fig = make_distance_figure(c.head_stats("distance"), s, st.layer, st.head, st.all_heads_profiles, c.level_mask, f);
  draw_distance_figure(c.ctx, fig, body, W, H, &canvas);
}

bool has_head_stats(const Snapshot& s) { return !s.layers.empty() && !s.layers[0].bands.empty(); }

}  // namespace fmalens::render
