#include "render/matrix_figure.h"

#include "render/figure_call.h"

#include <algorithm>
#include <cmath>

#include "fmalens/layout.h"
#include "render/figure_common.h"

namespace fmalens::render {

int matrix_side_strips(const MatrixStyle& style, const AttentionConfig& a) {
  if (!style.sink_strip) return 0;
  return a.boundary == Boundary::zero_pad && a.variant == Variant::causal ? 2 : 1;
}

MatrixFigureLayout matrix_figure_layout(const PixelRect& r, float f, bool colorbar, int strips) {
  MatrixFigureLayout l;
  const int strip_w = static_cast<int>(f * 1.2f), strip_gap = static_cast<int>(f * 0.35f);
  const int strips_w = strips > 0 ? strips * (strip_w + strip_gap) : 0;
  const int left = static_cast<int>(f * 4.5f) + strips_w, top = static_cast<int>(f * 1.8f), bottom = static_cast<int>(f * (strips > 0 ? 2.8f : 0.5f));
  const int bar_w = colorbar ? static_cast<int>(f * 1.1f) : 0, bar_gap = static_cast<int>(f * 0.8f);
  const int bar_labels = colorbar ? static_cast<int>(f * 4.2f) : 0;
  const int key_name = colorbar ? 0 : static_cast<int>(f * 2.2f);  // "key" right of the top axis (above the colorbar when there is one)
  l.matrix = {r.x + left, r.y + top, std::max(1, r.w - left - bar_gap - bar_w - bar_labels - key_name), std::max(1, r.h - top - bottom)};
  // The colorbar stops short of the matrix's bottom: its quantity is named under it.
  const int bar_h = std::max(1, l.matrix.h - static_cast<int>(f * 1.6f));
  l.colorbar = {l.matrix.x + l.matrix.w + bar_gap, l.matrix.y, bar_w, colorbar ? bar_h : 0};
  for (int k = 0; k < std::min(strips, 2); ++k)
    l.strips[k] = {l.matrix.x - strips_w + k * (strip_w + strip_gap), l.matrix.y, strip_w, l.matrix.h};
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

// One strip: a value per pixel row (the mean over the rows it covers) on its own scale (the
// largest over the rows after the first, whose only key is itself; down the view's decades
// when log), named below with its top value under the name.
void draw_strip(const std::vector<float>& per_row, const MatrixView& v, const PixelRect& r, const char* name, float f, Canvas* canvas) {
  if (r.w <= 0 || per_row.empty()) return;
  ColourScale scale;
  scale.colormap = v.colormap;
  scale.log_scale = v.log_scale;
  scale.hi = std::max(*std::max_element(per_row.begin() + (per_row.size() > 1 ? 1 : 0), per_row.end()), 1e-30f);
  scale.lo = v.log_scale ? scale.hi * std::pow(10.0f, -std::max(0.5f, v.decades)) : 0.0f;
  const std::vector<float> rows = pixel_rows_mean(per_row, v, r.h);
  const double n = static_cast<double>(per_row.size());
  for (int y = 0; y < r.h;) {  // one rectangle per run of equal colour
    int y1 = y + 1;
    const bool inside = v.i0 + (y + 0.5) * v.cells_per_pixel < n;
    const Rgb c = scale.colour(rows[static_cast<size_t>(y)]);
    while (y1 < r.h && rows[static_cast<size_t>(y1)] == rows[static_cast<size_t>(y)] &&
           (v.i0 + (y1 + 0.5) * v.cells_per_pixel < n) == inside)
      ++y1;
    canvas->fill_rect(static_cast<float>(r.x), static_cast<float>(r.y + y), static_cast<float>(r.w), static_cast<float>(y1 - y),
                      inside ? to_color(c) : kFigureBackground);
    y = y1;
  }
  canvas->stroke_rect(static_cast<float>(r.x) - 0.5f, static_cast<float>(r.y) - 0.5f, static_cast<float>(r.w) + 1,
                      static_cast<float>(r.h) + 1, kAxisColor);
  const float cx = static_cast<float>(r.x) + static_cast<float>(r.w) * 0.5f;
  canvas->label(cx, static_cast<float>(r.y + r.h) + f * 0.3f, name, kDimTextColor, Label::Align::centre);
  canvas->label(cx, static_cast<float>(r.y + r.h) + f * 1.4f, format_number(scale.hi), kDimTextColor, Label::Align::centre);
}

}  // namespace

std::string matrix_quantity_name(const MatrixView& v, bool cpu_bands) {
  std::string name = v.mass && cpu_bands ? "mass" : "weight";
  if (v.row_normalise && cpu_bands) name += " / row max";
  if (v.log_scale) name += " (log)";
  else if (v.gamma != 1) name += " (^" + format_number(v.gamma) + ")";
  return name;
}

void draw_side_strips(const RowSummary& summary, const MatrixView& v, const MatrixFigureLayout& lay, float f, Canvas* canvas) {
  draw_strip(summary.first_key, v, lay.strips[0], "k0", f, canvas);
  if (!summary.phantom.empty()) draw_strip(summary.phantom, v, lay.strips[1], "pad", f, canvas);
}

bool draw_matrix_figure(RenderContext& ctx, MatrixRenderer& renderer, const BandTextures& bands, const MatrixFigure& fig,
                        const PixelRect& rect, int target_w, int target_h, int max_new_passes, Canvas* canvas, bool preview) {
  const int strips = fig.side_strips(bands.attention());
  const MatrixFigureLayout lay = matrix_figure_layout(rect, fig.font_px, fig.colorbar, strips);
  const bool done = renderer.draw(ctx, bands, fig.view, lay.matrix, target_h, max_new_passes, preview, fig.band_data);
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
  const float row_axis_x = static_cast<float>(strips > 0 ? lay.strips[0].x : m.x);  // row labels end left of the strips
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
      canvas->label(row_axis_x - f * 0.4f, y - f * 0.5f, fit_label(axis_token_label(fig, bands.attention(), i), row_chars),
                    kTextColor, Label::Align::right);
    }
  } else {
    for (double i : nice_ticks(static_cast<double>(r0), static_cast<double>(r1), std::max(2, m.h / static_cast<int>(f * 4)))) {
      const float y = static_cast<float>(m.y + (i - v.i0) * px_per_cell);
      canvas->line(row_axis_x - f * 0.35f, y, row_axis_x, y, kAxisColor);
      canvas->label(row_axis_x - f * 0.5f, y - f * 0.5f, format_number(i), kDimTextColor, Label::Align::right);
    }
  }
  // Axis names: rows are queries (named in the corner), columns keys (named where their axis ends).
  canvas->label(static_cast<float>(rect.x) + f * 0.2f, static_cast<float>(rect.y) + f * 0.1f, "query", kDimTextColor);
  canvas->label(static_cast<float>(m.x + m.w) + f * 0.9f, static_cast<float>(m.y) - f * 1.45f, "key", kDimTextColor);
  float lo, hi;
  renderer.colour_range(&lo, &hi);
  if (fig.colorbar) {
    canvas->stroke_rect(static_cast<float>(lay.colorbar.x) - 0.5f, static_cast<float>(lay.colorbar.y) - 0.5f,
                        static_cast<float>(lay.colorbar.w) + 1, static_cast<float>(lay.colorbar.h) + 1, kAxisColor);
    colorbar_labels(canvas, static_cast<float>(lay.colorbar.x + lay.colorbar.w), static_cast<float>(lay.colorbar.y),
                    static_cast<float>(lay.colorbar.h), lo, hi, v.log_scale, f, v.gamma);
    canvas->label(static_cast<float>(lay.colorbar.x), static_cast<float>(lay.colorbar.y + lay.colorbar.h) + f * 0.55f,
                  matrix_quantity_name(v, fig.band_data != nullptr), kDimTextColor);
  }
  if (strips > 0 && renderer.row_summary()) draw_side_strips(*renderer.row_summary(), v, lay, f, canvas);
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
  fig.band_data = &c.bands("matrix");
  const int strips = matrix_side_strips(st, s.attention);
  MatrixFigureLayout lay = matrix_figure_layout(body, f, st.colorbar, strips);
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
    lay = matrix_figure_layout(body, f, st.colorbar, strips);
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
