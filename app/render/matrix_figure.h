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
};
MatrixFigureLayout matrix_figure_layout(const PixelRect& rect, float font_px, bool colorbar = true);

struct MatrixFigure {
  MatrixView view;
  const Snapshot* text = nullptr;  // text models: the tokens, labels of the axes when they fit
  int64_t grid_side = 0;              // image models: patches are labelled "y,x"
  float font_px = 13;
  bool colorbar = true;  // figure export: --no-colorbar
};

// Draws into the bound target (`target_w` x `target_h`); shapes are drawn, labels appended to
// `canvas` for the caller. Returns true once the matrix's sampling passes are complete.
// `preview`: see MatrixRenderer::draw.
bool draw_matrix_figure(RenderContext& ctx, MatrixRenderer& renderer, const BandTextures& bands, const MatrixFigure& figure,
                        const PixelRect& rect, int target_w, int target_h, int max_new_passes, Canvas* canvas, bool preview = false);

// Label of token `t` on an axis position `a` (2D: Z order when `z_order`).
std::string axis_token_label(const MatrixFigure& figure, const AttentionConfig& attention, int64_t a);

// The attention matrix view as a figure (render_figure calls it; see figure_call.h).
void matrix_view_figure(FigureCall& call);

}  // namespace fmalens::render
