// View 2, the level breakdown of one query: the attention mass each level carries (bars),
// and the query's row of the implied matrix as a strip over the whole sequence, with the
// level serving each key underneath.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/layout.h"
#include "render/figure_common.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct LevelsFigure {
  std::vector<double> mass;       // per level (row_level_mass)
  std::vector<std::string> names; // per level: "fine (32 tokens)", "level 1 (w 32, p 4)", ...
  std::vector<float> row;         // implied row over tokens
  std::vector<int> row_levels;    // level serving each token (-1 none)
  int64_t query = 0;
  uint32_t level_mask = 0xFFFFFFFFu;
  ColourScale colours;
  float font_px = 13;
};

struct LevelsFigureLayout {
  PixelRect bars;         // one row per level
  PixelRect strip;        // the row's weights over the sequence
  PixelRect level_strip;  // which level serves each key
  float bar_height = 0;
};
LevelsFigureLayout levels_figure_layout(const PixelRect& rect, size_t levels, float font_px);

// Level names for the bars, from the layout's geometry.
std::vector<std::string> level_names(const Layout& layout);

// Max of the row over the tokens each pixel column covers (the strip keeps narrow peaks).
std::vector<float> pool_max(const std::vector<float>& values, int columns);

// A row of weights over the sequence as a strip (max per pixel column), framed, with the level
// serving each key under it (its tint and dash pattern): the levels view's and the pair view's.
void draw_row_strips(const std::vector<float>& row, const std::vector<int>& row_levels, const ColourScale& colours, const PixelRect& strip,
                     const PixelRect& level_strip, Canvas* canvas);

void draw_levels_figure(RenderContext& ctx, const LevelsFigure& figure, const PixelRect& rect, int target_w, int target_h,
                        Canvas* canvas);

// The level breakdown of the selected query as a figure.
void levels_view_figure(FigureCall& call);

}  // namespace fmalens::render
