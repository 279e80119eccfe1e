#include "render/matrix_figure.h"

#include "render/figure_call.h"

#include <algorithm>
#include <cmath>

#include "fmalens/layout.h"
#include "render/figure_common.h"

namespace fmalens::render {

MatrixFigureLayout matrix_figure_layout(const PixelRect& r, float f, bool colorbar) {
  MatrixFigureLayout l;
  const int left = static_cast<int>(f * 4.5f), top = static_cast<int>(f * 1.8f), bottom = static_cast<int>(f * 0.5f);
  const int bar_w = colorbar ? static_cast<int>(f * 1.1f) : 0, bar_gap = static_cast<int>(f * 0.8f);
  const int bar_labels = colorbar ? static_cast<int>(f * 4.2f) : 0;
  const int key_name = colorbar ? 0 : static_cast<int>(f * 2.2f);  // "key" right of the top axis (above the colorbar when there is one)
  l.matrix = {r.x + left, r.y + top, std::max(1, r.w - left - bar_gap - bar_w - bar_labels - key_name), std::max(1, r.h - top - bottom)};
  // The colorbar stops short of the matrix's bottom: its quantity is named under it.
  const int bar_h = std::max(1, l.matrix.h - static_cast<int>(f * 1.6f));
  l.colorbar = {l.matrix.x + l.matrix.w + bar_gap, l.matrix.y, bar_w, colorbar ? bar_h : 0};
  return l;
}

std::string axis_token_label(const MatrixFigure& fig, const AttentionConfig& a, int64_t pos) {
  if (a.variant == Variant::grid2d) {
    int64_t y = pos / a.grid_side, x = pos % a.grid_side;
    if (fig.view.z_order) Layout::unmorton(pos, &y, &x);
    return std::to_string(y) + "," + std::to_string(x);
  }
  if (fig.text && pos >= 0 && pos < fig.text->tokens) return text_token_label(*fig.text, pos);
  return std::to_string(pos);
}

namespace {

// `label` cut to `max_chars` characters (code points), with a "~" when cut (the figures' fonts
// have no ellipsis): token labels
// of a BPE can be longer than the room a cell gives them.
std::string fit_label(const std::string& label, int max_chars) {
  int chars = 0;
  size_t cut = 0;
  for (size_t k = 0; k < label.size(); ++k)
    if ((static_cast<unsigned char>(label[k]) & 0xC0) != 0x80) {
      if (chars == max_chars) return label.substr(0, cut) + "~";
      ++chars;
      cut = k;
      for (size_t e = k + 1; e <= label.size(); ++e)
        if (e == label.size() || (static_cast<unsigned char>(label[e]) & 0xC0) != 0x80) {
          cut = e;
          break;
        }
    }
  return label;
}

}  // namespace

bool draw_matrix_figure(RenderContext& ctx, MatrixRenderer& renderer, const BandTextures& bands, const MatrixFigure& fig,
                        const PixelRect& rect, int target_w, int target_h, int max_new_passes, Canvas* canvas, bool preview) {
  const MatrixFigureLayout lay = matrix_figure_layout(rect, fig.font_px, fig.colorbar);
  const bool done = renderer.draw(ctx, bands, fig.view, lay.matrix, target_h, max_new_passes, preview);
  if (fig.colorbar) ctx.draw_colorbar(fig.view.colormap, lay.colorbar, target_h);

  const MatrixView& v = fig.view;
  const PixelRect& m = lay.matrix;
  const double n = static_cast<double>(bands.tokens());
  const double px_per_cell = 1.0 / v.cells_per_pixel;
  const float f = fig.font_px;
  // Axes: the matrix's frame and, per axis, either one label per cell or numbered ticks.
  canvas->stroke_rect(static_cast<float>(m.x) - 0.5f, static_cast<float>(m.y) - 0.5f, static_cast<float>(m.w) + 1,
                      static_cast<float>(m.h) + 1, kAxisColor);
  const int64_t c0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(v.t0)));
  const int64_t c1 = std::min<int64_t>(static_cast<int64_t>(n), static_cast<int64_t>(std::ceil(v.t0 + m.w * v.cells_per_pixel)));
  const int64_t r0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(v.i0)));
  const int64_t r1 = std::min<int64_t>(static_cast<int64_t>(n), static_cast<int64_t>(std::ceil(v.i0 + m.h * v.cells_per_pixel)));
  const bool grid = bands.attention().variant == Variant::grid2d;
  const double label_px = grid ? f * 3.2 : f * 1.05;  // room one label needs along the column axis
  // Characters a label may have: as many as a cell is wide (column axis) or the margin (row axis).
  const int column_chars = std::max(1, static_cast<int>(px_per_cell / (f * 0.62)));
  const int row_chars = std::max(1, static_cast<int>(f * 4.0 / (f * 0.62)));
  if (px_per_cell >= label_px) {
    for (int64_t t = c0; t < c1; ++t) {
      const float x = static_cast<float>(m.x + (static_cast<double>(t) + 0.5 - v.t0) * px_per_cell);
      canvas->label(x, static_cast<float>(m.y) - f * 1.35f, fit_label(axis_token_label(fig, bands.attention(), t), column_chars),
                    kTextColor, Label::Align::centre);
    }
  } else {
    for (double t : nice_ticks(static_cast<double>(c0), static_cast<double>(c1), std::max(2, m.w / static_cast<int>(f * 6)))) {
      const float x = static_cast<float>(m.x + (t - v.t0) * px_per_cell);
      canvas->line(x, static_cast<float>(m.y) - f * 0.35f, x, static_cast<float>(m.y), kAxisColor);
      canvas->label(x, static_cast<float>(m.y) - f * 1.45f, format_number(t), kDimTextColor, Label::Align::centre);
    }
  }
  if (px_per_cell >= f * 1.05) {
    for (int64_t i = r0; i < r1; ++i) {
      const float y = static_cast<float>(m.y + (static_cast<double>(i) + 0.5 - v.i0) * px_per_cell);
      canvas->label(static_cast<float>(m.x) - f * 0.4f, y - f * 0.5f, fit_label(axis_token_label(fig, bands.attention(), i), row_chars),
                    kTextColor, Label::Align::right);
    }
  } else {
    for (double i : nice_ticks(static_cast<double>(r0), static_cast<double>(r1), std::max(2, m.h / static_cast<int>(f * 4)))) {
      const float y = static_cast<float>(m.y + (i - v.i0) * px_per_cell);
      canvas->line(static_cast<float>(m.x) - f * 0.35f, y, static_cast<float>(m.x), y, kAxisColor);
      canvas->label(static_cast<float>(m.x) - f * 0.5f, y - f * 0.5f, format_number(i), kDimTextColor, Label::Align::right);
    }
  }
  // Axis names: rows are queries (named in the corner), columns keys (named where their axis ends).
  canvas->label(static_cast<float>(rect.x) + f * 0.2f, static_cast<float>(rect.y) + f * 0.1f, "query", kDimTextColor);
  canvas->label(static_cast<float>(m.x + m.w) + f * 0.9f, static_cast<float>(m.y) - f * 1.45f, "key", kDimTextColor);
  float lo, hi;
  matrix_color_range(v, bands, &lo, &hi);
  if (fig.colorbar) {
    canvas->stroke_rect(static_cast<float>(lay.colorbar.x) - 0.5f, static_cast<float>(lay.colorbar.y) - 0.5f,
                        static_cast<float>(lay.colorbar.w) + 1, static_cast<float>(lay.colorbar.h) + 1, kAxisColor);
    colorbar_labels(canvas, static_cast<float>(lay.colorbar.x + lay.colorbar.w), static_cast<float>(lay.colorbar.y),
                    static_cast<float>(lay.colorbar.h), lo, hi, v.log_scale, f);
    canvas->label(static_cast<float>(lay.colorbar.x), static_cast<float>(lay.colorbar.y + lay.colorbar.h) + f * 0.55f,
                  v.log_scale ? "weight (log)" : "weight", kDimTextColor);
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
  return done;
}

void matrix_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  const BandTextures& textures = c.textures("matrix");
  MatrixFigure fig;
  fig.font_px = f;
  fig.colorbar = st.colorbar;
  fig.text = s.config.kind == ModelKind::text ? &s : nullptr;
  fig.grid_side = s.attention.grid_side;
  MatrixFigureLayout lay = matrix_figure_layout(body, f, st.colorbar);
  MatrixView v;
  if (st.fit) {
    // The whole matrix is square: the figure shrinks to it (centred), leaving no empty frame.
    v = MatrixView::fit(s.tokens, lay.matrix.w, lay.matrix.h);
    const int side = static_cast<int>(std::ceil(static_cast<double>(s.tokens) / v.cells_per_pixel - 1e-6));
    const int extra_w = lay.matrix.w - side, extra_h = lay.matrix.h - side;
    if (extra_w > 0) {
      body.x += extra_w / 2;
      body.w -= extra_w;
    }
    if (extra_h > 0) body.h -= extra_h;
    lay = matrix_figure_layout(body, f, st.colorbar);
    v = MatrixView::fit(s.tokens, lay.matrix.w, lay.matrix.h);
  } else {
    v.t0 = st.t0;
    v.i0 = st.i0;
    v.cells_per_pixel = st.cells_per_pixel;
    v = v.clamped(s.tokens, lay.matrix.w, lay.matrix.h);
  }
  static_cast<MatrixStyle&>(v) = st;
  v.level_mask = c.level_mask;
  if (st.query >= 0) {
    int64_t row = st.query;
    if (s.attention.variant == Variant::grid2d && st.z_order) row = Layout::morton(row / s.attention.grid_side, row % s.attention.grid_side);
    v.selected_row = row;
  }
  fig.view = v;
  MatrixRenderer renderer;
  draw_matrix_figure(c.ctx, renderer, textures, fig, body, W, H, 0, &canvas);
  c.raster.push_back(lay.matrix);
  if (st.colorbar) c.raster.push_back(lay.colorbar);
}

}  // namespace fmalens::render
