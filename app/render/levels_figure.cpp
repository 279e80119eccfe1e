#include "render/levels_figure.h"

#include "render/figure_call.h"

#include <algorithm>

#include "render/figure_common.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {

LevelsFigureLayout levels_figure_layout(const PixelRect& r, size_t levels, float f) {
  LevelsFigureLayout l;
  const int name_w = static_cast<int>(f * 11), value_w = static_cast<int>(f * 4.5f);
  const int strip_block = static_cast<int>(f * 6.5f);  // title, strip, level strip, ticks
  const int bars_h = std::max(static_cast<int>(f * 1.5f) * static_cast<int>(levels), r.h - strip_block - static_cast<int>(f));
  l.bar_height = std::min(f * 1.5f, static_cast<float>(bars_h) / static_cast<float>(std::max<size_t>(levels, 1)));
  l.bars = {r.x + name_w, r.y + static_cast<int>(f * 0.3f), std::max(1, r.w - name_w - value_w),
            static_cast<int>(l.bar_height * static_cast<float>(levels))};
  const int sy = l.bars.y + l.bars.h + static_cast<int>(f * 1.8f);
  // The strip takes the room left (the bars are the same height whatever the panel).
  const int strip_h = std::clamp(r.y + r.h - sy - static_cast<int>(f * 2.6f), static_cast<int>(f * 1.6f), static_cast<int>(f * 8));
  l.strip = {r.x + static_cast<int>(f), sy, std::max(1, r.w - 2 * static_cast<int>(f)), strip_h};
  l.level_strip = {l.strip.x, l.strip.y + l.strip.h + 2, l.strip.w, static_cast<int>(f * 0.6f)};
  return l;
}

std::vector<std::string> level_names(const Layout& layout) {
  std::vector<std::string> names;
  const bool grid = layout.config().variant == Variant::grid2d;
  for (const auto& g : layout.levels()) {
    const std::string w = std::to_string(g.width), size = grid ? "cell " + w + "x" + w : "w " + w;
    names.push_back(g.level == 0 ? "fine  " + size : "L" + std::to_string(g.level) + "  " + size + ", p " + std::to_string(g.summaries));
  }
  return names;
}

std::vector<float> pool_max(const std::vector<float>& values, int columns) {
  std::vector<float> out(static_cast<size_t>(std::max(columns, 0)), 0.0f);
  const size_t n = values.size();
  if (n == 0 || columns <= 0) return out;
  for (int c = 0; c < columns; ++c) {
    const size_t a = n * static_cast<size_t>(c) / static_cast<size_t>(columns);
    const size_t b = std::max(a + 1, n * static_cast<size_t>(c + 1) / static_cast<size_t>(columns));
    float m = 0;
    for (size_t k = a; k < b && k < n; ++k) m = std::max(m, values[k]);
    out[static_cast<size_t>(c)] = m;
  }
  return out;
}

void draw_row_strips(const std::vector<float>& row, const std::vector<int>& row_levels, const ColourScale& colours, const PixelRect& strip,
                     const PixelRect& level_strip, Canvas* canvas) {
  // Strip: max of the row per pixel column, so a single strong key stays visible.
  const std::vector<float> pooled = pool_max(row, strip.w);
  for (int c = 0; c < strip.w; ++c) {
    const float v = pooled[static_cast<size_t>(c)];
    canvas->fill_rect(static_cast<float>(strip.x + c), static_cast<float>(strip.y), 1, static_cast<float>(strip.h),
                      to_color(v > 0 ? colours.colour(v) : Rgb{0.13f, 0.13f, 0.14f}));
  }
  // Level strip: the level serving the key at each column's centre.
  const size_t n = row_levels.size();
  for (int c = 0; c < level_strip.w && n > 0; ++c) {
    const size_t t = std::min(n - 1, (n * static_cast<size_t>(2 * c + 1)) / static_cast<size_t>(2 * level_strip.w));
    const int l = row_levels[t];
    if (l < 0 || !level_pattern(l, c)) continue;
    canvas->fill_rect(static_cast<float>(level_strip.x + c), static_cast<float>(level_strip.y), 1, static_cast<float>(level_strip.h),
                      to_color(level_tint(l)));
  }
  canvas->stroke_rect(static_cast<float>(strip.x) - 0.5f, static_cast<float>(strip.y) - 0.5f, static_cast<float>(strip.w) + 1,
                      static_cast<float>(strip.h) + 1, kAxisColor);
}

void draw_levels_figure(RenderContext& ctx, const LevelsFigure& fig, const PixelRect& rect, int target_w, int target_h,
                        Canvas* canvas) {
  const float f = fig.font_px;
  const LevelsFigureLayout lay = levels_figure_layout(rect, fig.mass.size(), f);
  double total = 0;
  for (double m : fig.mass) total += m;
  // Bars: mass per level as a fraction of the row (a row sums to 1 minus its phantom mass).
  for (size_t l = 0; l < fig.mass.size(); ++l) {
    const float y = static_cast<float>(lay.bars.y) + lay.bar_height * static_cast<float>(l);
    const bool shown = (fig.level_mask >> l) & 1u;
    const Color tint = to_color(level_tint(static_cast<int>(l)), shown ? 1.0f : 0.3f);
    canvas->fill_rect(static_cast<float>(lay.bars.x), y + 2, static_cast<float>(lay.bars.w), lay.bar_height - 4,
                      {0.16f, 0.16f, 0.18f, 1});
    canvas->fill_rect(static_cast<float>(lay.bars.x), y + 2, static_cast<float>(lay.bars.w * std::clamp(fig.mass[l], 0.0, 1.0)),
                      lay.bar_height - 4, tint);
    // The level's dash pattern under its bar: the key to the level strip and the text's underlines.
    for (const auto& [a, b] : level_dash_runs(static_cast<int>(l), 0, lay.bars.w))
      canvas->fill_rect(static_cast<float>(lay.bars.x + a), y + lay.bar_height - 3, static_cast<float>(b - a), 2, tint);
    const std::string name = l < fig.names.size() ? fig.names[l] : "level " + std::to_string(l);
    canvas->label(static_cast<float>(lay.bars.x) - f * 0.4f, y + (lay.bar_height - f) * 0.5f, name, kTextColor, Label::Align::right);
    canvas->label(static_cast<float>(lay.bars.x + lay.bars.w) + f * 0.4f, y + (lay.bar_height - f) * 0.5f,
                  format_percent(fig.mass[l]), kTextColor);
  }
  canvas->label(static_cast<float>(lay.strip.x), static_cast<float>(lay.strip.y) - f * 1.5f,
                "row of query " + std::to_string(fig.query) + " over the sequence (total " + format_percent(total) + ")", kTextColor);
  draw_row_strips(fig.row, fig.row_levels, fig.colours, lay.strip, lay.level_strip, canvas);
  const size_t n = fig.row_levels.size();
  if (n > 0) {
    const float qx = static_cast<float>(lay.strip.x) + (static_cast<float>(fig.query) + 0.5f) / static_cast<float>(n) * lay.strip.w;
    canvas->line(qx, static_cast<float>(lay.strip.y) - 3, qx, static_cast<float>(lay.level_strip.y + lay.level_strip.h) + 3,
                 {1, 0.3f, 0.3f, 1}, 1.5f);
    const float ty = static_cast<float>(lay.level_strip.y + lay.level_strip.h) + f * 0.3f;
    for (double t : nice_ticks(0, static_cast<double>(n), std::max(2, lay.strip.w / static_cast<int>(f * 6)))) {
      const float x = static_cast<float>(lay.strip.x) + static_cast<float>(t / static_cast<double>(n)) * lay.strip.w;
      canvas->line(x, ty - f * 0.2f, x, ty, kAxisColor);
      canvas->label(x, ty, format_number(t), kDimTextColor, Label::Align::centre);
    }
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void levels_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  const BandData& bands = c.bands("levels");
  const Layout layout(s.attention);
  LevelsFigure fig;
  implied_row(bands, layout, c.query, &fig.row, &fig.row_levels);
  fig.mass = row_level_mass(s, st.layer, st.head, c.query);
  fig.names = level_names(layout);
  fig.query = c.query;
  fig.level_mask = c.level_mask;
  fig.colours = c.colour_scale("levels");
  fig.font_px = f;
  draw_levels_figure(c.ctx, fig, body, W, H, &canvas);
  c.side_colours = fig.colours;
}

}  // namespace fmalens::render
