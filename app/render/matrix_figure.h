// View 1, the hierarchical attention matrix as a figure: the matrix (matrix_renderer.h), axes
// with token labels when cells are large enough to carry one (tick numbers otherwise), and a
// colorbar. A function of (settings, band textures, rectangle), shared by the GUI panel, the
// headless screenshots and figure export.
#pragma once

#include <string>

#include "fmalens/snapshot.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {

class FigureCall;

struct MatrixFigureLayout {
  PixelRect matrix;    // where the cells are drawn
  PixelRect colorbar;  // empty without a colorbar
  PixelRect strips[2];  // left of the matrix, as tall: the first key's weight, the phantom mass (empty when off)
};
// `strips`: how many side strips (matrix_side_strips).
MatrixFigureLayout matrix_figure_layout(const PixelRect& rect, float font_px, bool colorbar = true, int strips = 0);
// Side strips a matrix of `attention` shows with `style`: 0, 1 (first key) or 2 (and phantom
// mass, zero_pad models).
int matrix_side_strips(const MatrixStyle& style, const AttentionConfig& attention);

struct MatrixFigure {
  MatrixView view;
  const Snapshot* text = nullptr;  // text models: the tokens, labels of the axes when they fit
  int64_t grid_side = 0;              // image models: patches are labelled "y,x"
  float font_px = 13;
  bool colorbar = true;  // figure export: --no-colorbar
  const BandData* band_data = nullptr;  // the bands on the CPU: mass tiles, row scales, strips
  int side_strips(const AttentionConfig& a) const { return band_data ? matrix_side_strips(view, a) : 0; }
};

// Draws into the bound target (`target_w` x `target_h`); shapes are drawn, labels appended to
// `canvas` for the caller. Returns true once the matrix's sampling passes are complete.
// `preview`: see MatrixRenderer::draw.
bool draw_matrix_figure(RenderContext& ctx, MatrixRenderer& renderer, const BandTextures& bands, const MatrixFigure& figure,
                        const PixelRect& rect, int target_w, int target_h, int max_new_passes, Canvas* canvas, bool preview = false);

// What the colours stand for, for the colorbar: "weight (log)", "mass / row max", ...
std::string matrix_quantity_name(const MatrixView& view, bool cpu_bands);
// The first key's and the phantom keys' strips of `lay` (matrix_figure_layout with strips).
void draw_side_strips(const RowSummary& summary, const MatrixView& view, const MatrixFigureLayout& lay, float font_px, Canvas* canvas);

// Label of token `t` on an axis position `a` (2D: Z order when `z_order`).
std::string axis_token_label(const MatrixFigure& figure, const AttentionConfig& attention, int64_t a);

// The attention matrix view as a figure (render_figure calls it; see figure_call.h).
void matrix_view_figure(FigureCall& call);

}  // namespace fmalens::render
