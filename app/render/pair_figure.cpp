#include "render/pair_figure.h"

#include <algorithm>
#include <cmath>

#include "fmalens/layout.h"
#include "render/band_data.h"
#include "render/figure_call.h"
#include "render/figure_export.h"
#include "render/levels_figure.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {

PairSide make_pair_side(const Snapshot& s, const std::string& name, int layer, int head, int64_t query) {
  PairSide side;
  side.name = name;
  side.kind = attention_kind_name(s.config.attention_kind);
  if (s.config.attention_kind == AttentionKind::fma) side.kind += std::string(" (") + to_string(s.attention.downsampling) + ")";
  const std::string who = "model " + name + ": ";
  if (layer < 0 || layer >= static_cast<int>(s.layers.size()))
    throw Error(who + "layer " + std::to_string(layer) + " out of range (it has " + std::to_string(s.layers.size()) + ")");
  if (head < -1 || head >= s.config.n_head)
    throw Error(who + "head " + std::to_string(head) + " out of range (it has " + std::to_string(s.config.n_head) + ")");
  if (query < 0 || query >= s.tokens) throw Error(who + "query " + std::to_string(query) + " out of range (it read " + std::to_string(s.tokens) + " tokens)");
  if (has_fma_bands(s)) {
    const Layout layout(s.attention);
    implied_row(make_band_data(s, layer, head), layout, query, &side.row, &side.row_levels);
    side.mass = row_level_mass(s, layer, head, query);
    side.level_names = level_names(layout);
    return side;
  }
  if (!has_qk_rows(s)) throw Error(who + "its run kept neither bands nor queries and keys");
  qk_attention_row(s, layer, head, query, &side.row, &side.row_levels);
  side.row.resize(static_cast<size_t>(s.tokens));
  side.row_levels.resize(static_cast<size_t>(s.tokens), -1);
  double total = 0;
  for (float v : side.row) total += v;
  side.mass = {total};
  side.level_names = {"all keys"};
  return side;
}

PairFigure make_pair_figure(const Snapshot& a, const std::string& name_a, const Snapshot& b, const std::string& name_b, int layer, int head,
                            int64_t query, Colormap colormap, bool log_scale, float decades, float font_px) {
  if (a.tokens != b.tokens || a.text != b.text)
    throw Error("the two models read the input differently (" + std::to_string(a.tokens) + " against " + std::to_string(b.tokens) +
                " tokens): side by side needs the same tokens");
  PairFigure fig;
  fig.a = make_pair_side(a, name_a, layer, head, query);
  fig.b = make_pair_side(b, name_b, layer, head, query);
  fig.query = query;
  fig.font_px = font_px;
  const auto tint_of = [](const PairSide& side, size_t l) { return side.level_names.size() == 1 && side.mass.size() == 1 && side.level_names[0] == "all keys" ? -1 : static_cast<int>(l); };
  for (size_t l = 0; l < fig.a.mass.size(); ++l)
    fig.level_rows.push_back({l < fig.a.level_names.size() ? fig.a.level_names[l] : "level " + std::to_string(l), fig.a.mass[l], -1, tint_of(fig.a, l)});
  for (size_t l = 0; l < fig.b.mass.size(); ++l) {
    const std::string name = l < fig.b.level_names.size() ? fig.b.level_names[l] : "level " + std::to_string(l);
    if (l < fig.level_rows.size() && fig.level_rows[l].name == name) fig.level_rows[l].b = fig.b.mass[l];
    else fig.level_rows.push_back({name, -1, fig.b.mass[l], tint_of(fig.b, l)});
  }
  std::vector<float> both = fig.a.row;
  both.insert(both.end(), fig.b.row.begin(), fig.b.row.end());
  fig.colours.colormap = colormap;
  fig.colours.log_scale = log_scale;
  row_colour_range(both, decades, log_scale, &fig.colours.lo, &fig.colours.hi);
  return fig;
}

PairFigureLayout pair_figure_layout(const PairFigure& fig, const PixelRect& r) {
  PairFigureLayout l;
  const float f = fig.font_px;
  const size_t rows = fig.level_rows.size();
  const int name_w = static_cast<int>(f * 11), value_w = static_cast<int>(f * 12);
  const int rows_block = static_cast<int>(f * 10.5f);  // two titled rows with their level strips, the ticks
  const int bars_room = std::max(static_cast<int>(f * 2.0f), r.h - rows_block - static_cast<int>(f * 2.2f));
  l.pair_height = std::clamp(static_cast<float>(bars_room) / static_cast<float>(std::max<size_t>(rows, 1)), f * 1.0f, f * 2.2f);
  l.bars = {r.x + name_w, r.y + static_cast<int>(f * 1.6f), std::max(1, r.w - name_w - value_w),
            static_cast<int>(l.pair_height * static_cast<float>(rows))};
  int y = l.bars.y + l.bars.h + static_cast<int>(f * 1.9f);
  const int row_h = std::clamp((r.y + r.h - y - static_cast<int>(f * 5.4f)) / 2, static_cast<int>(f * 1.2f), static_cast<int>(f * 5));
  for (int k = 0; k < 2; ++k) {
    l.rows[k] = {r.x + static_cast<int>(f), y, std::max(1, r.w - 2 * static_cast<int>(f)), row_h};
    l.levels[k] = {l.rows[k].x, y + row_h + 2, l.rows[k].w, static_cast<int>(f * 0.6f)};
    y = l.levels[k].y + l.levels[k].h + static_cast<int>(f * 1.7f);
  }
  return l;
}

void draw_pair_figure(RenderContext& ctx, const PairFigure& fig, const PixelRect& rect, int target_w, int target_h, Canvas* canvas) {
  const float f = fig.font_px;
  const PairFigureLayout lay = pair_figure_layout(fig, rect);
  const Color dim_b{0.16f, 0.16f, 0.18f, 1};
  // Key: A solid, B as an outlined lighter bar under it.
  canvas->label(static_cast<float>(rect.x), static_cast<float>(rect.y), "A  " + fig.a.name + "  (" + fig.a.kind + ")", kTextColor);
  canvas->label(static_cast<float>(rect.x + rect.w / 2), static_cast<float>(rect.y), "B  " + fig.b.name + "  (" + fig.b.kind + ")",
                kTextColor);
  for (size_t l = 0; l < fig.level_rows.size(); ++l) {
    const PairLevelRow& row = fig.level_rows[l];
    const float y = static_cast<float>(lay.bars.y) + lay.pair_height * static_cast<float>(l);
    const float bar_h = (lay.pair_height - 4) * 0.5f;
    const Rgb base = row.tint < 0 ? Rgb{0.75f, 0.75f, 0.78f} : level_tint(row.tint);
    for (int k = 0; k < 2; ++k) {
      const float by = y + 2 + k * bar_h;
      const double m = k == 0 ? row.a : row.b;
      canvas->fill_rect(static_cast<float>(lay.bars.x), by, static_cast<float>(lay.bars.w), bar_h - 1, dim_b);
      if (m > 0)
        canvas->fill_rect(static_cast<float>(lay.bars.x), by, static_cast<float>(lay.bars.w * std::clamp(m, 0.0, 1.0)), bar_h - 1,
                          to_color(base, k == 0 ? 1.0f : 0.55f));
    }
    canvas->label(static_cast<float>(lay.bars.x) - f * 0.4f, y + (lay.pair_height - f) * 0.5f, row.name, kTextColor, Label::Align::right);
    const auto value = [](double m) { return m < 0 ? std::string("-") : format_percent(m); };
    std::string numbers = "A " + value(row.a) + "  B " + value(row.b);
    if (row.a >= 0 && row.b >= 0) {
      const double d = 100 * (row.a - row.b);
      numbers += std::string("  ") + (d >= 0 ? "+" : "") + format_number(std::round(d * 10) / 10);
    }
    canvas->label(static_cast<float>(lay.bars.x + lay.bars.w) + f * 0.4f, y + (lay.pair_height - f) * 0.5f, numbers, kTextColor);
  }
  const PairSide* sides[2] = {&fig.a, &fig.b};
  for (int k = 0; k < 2; ++k) {
    double total = 0;
    for (double m : sides[k]->mass) total += m;
    canvas->label(static_cast<float>(lay.rows[k].x), static_cast<float>(lay.rows[k].y) - f * 1.5f,
                  std::string(k == 0 ? "A" : "B") + "  row of query " + std::to_string(fig.query) + " (total " + format_percent(total) + ")",
                  kTextColor);
    draw_row_strips(sides[k]->row, sides[k]->row_levels, fig.colours, lay.rows[k], lay.levels[k], canvas);
  }
  const size_t n = fig.a.row.size();
  if (n > 0) {
    for (int k = 0; k < 2; ++k) {
      const float qx = static_cast<float>(lay.rows[k].x) + (static_cast<float>(fig.query) + 0.5f) / static_cast<float>(n) * lay.rows[k].w;
      canvas->line(qx, static_cast<float>(lay.rows[k].y) - 3, qx, static_cast<float>(lay.levels[k].y + lay.levels[k].h) + 3,
                   {1, 0.3f, 0.3f, 1}, 1.5f);
    }
    const PixelRect& last = lay.levels[1];
    const float ty = static_cast<float>(last.y + last.h) + f * 0.3f;
    for (double t : nice_ticks(0, static_cast<double>(n), std::max(2, last.w / static_cast<int>(f * 6)))) {
      const float x = static_cast<float>(last.x) + static_cast<float>(t / static_cast<double>(n)) * last.w;
      canvas->line(x, ty - f * 0.2f, x, ty, kAxisColor);
      canvas->label(x, ty, format_number(t), kDimTextColor, Label::Align::centre);
    }
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void pair_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  if (!c.source.partner)
    throw Error("view pair needs a second model run on the same input: --partner CHECKPOINT (in the window: File > Open second model...)");
  const PairFigure fig = make_pair_figure(s, c.source.model_name, *c.source.partner, c.source.partner_name, st.layer, st.head, c.query,
                                          st.colormap, st.log_scale, st.decades, f);
  draw_pair_figure(c.ctx, fig, body, W, H, &canvas);
  c.side_colours = fig.colours;
}

}  // namespace fmalens::render
