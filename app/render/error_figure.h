// View 10, the error map: how far FMA's weights are from exact softmax with the same q and k
// over the whole input (fma_error_profile): total variation per query as a strip, and its mean
// by distance bin and by the serving level, with the worst rows named.
#pragma once

#include <string>

#include "fmalens/head_metrics.h"
#include "render/canvas.h"
#include "render/figure_common.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct ErrorFigure {
  const FmaErrorProfile* profile = nullptr;
  std::vector<std::string> level_names;
  bool two_d = false;
  Colormap colormap = Colormap::viridis;
  float font_px = 13;
};

struct ErrorFigureLayout {
  PixelRect strip;     // total variation per query, over the sequence
  PixelRect by_bin;    // mean total variation by distance bin
  PixelRect by_level;  // mean total variation by serving level
};
ErrorFigureLayout error_figure_layout(const PixelRect& rect, float font_px);

void draw_error_figure(RenderContext& ctx, const ErrorFigure& figure, const PixelRect& rect, int target_w, int target_h, Canvas* canvas);
void error_view_figure(FigureCall& call);

// Whether a run has what the error map needs: bands, queries and keys.
bool has_bands_and_queries(const Snapshot& snapshot);

}  // namespace fmalens::render
