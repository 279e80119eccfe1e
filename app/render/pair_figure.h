// View 11, two models side by side: the same input run through two models (an FMA model and
// its twin: avgpool, local, dense, elu_linear, another seed) and the selected query's rows of
// both, level by level: the mass each level carries (paired bars) and each model's row over the
// sequence on one shared colour scale, with the level serving each key underneath.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/snapshot.h"
#include "render/figure_common.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

// One model's side: its row and level masses for the query.
struct PairSide {
  std::string name;              // "text_fma", ...
  std::string kind;              // "FMA (groupedconv)", "local", "dense", ...
  std::vector<float> row;        // query row over the tokens
  std::vector<int> row_levels;   // level serving each token (-1: none)
  std::vector<double> mass;      // per level; one entry "all keys" for models without levels
  std::vector<std::string> level_names;
};

// One row of paired bars: a level both models have (same name), or one only one has (the
// other's mass -1), e.g. a dense twin's "all keys".
struct PairLevelRow {
  std::string name;
  double a = -1, b = -1;
  int tint = 0;  // level_tint index; -1: grey
};

struct PairFigure {
  PairSide a, b;
  std::vector<PairLevelRow> level_rows;
  int64_t query = 0;
  ColourScale colours;  // shared by both rows: the larger of their maxima, down the decades
  float font_px = 13;
};

// The query row of `snapshot` at (layer, head, query) as a side: from the bands (FMA, local),
// else from the run's queries and keys (dense, elu_linear). Throws Error when the layer, head
// or query is out of the model's range or the run has neither.
PairSide make_pair_side(const Snapshot& snapshot, const std::string& name, int layer, int head, int64_t query);

// Both sides; throws Error when the two runs read the input as different tokens.
PairFigure make_pair_figure(const Snapshot& a, const std::string& name_a, const Snapshot& b, const std::string& name_b, int layer,
                            int head, int64_t query, Colormap colormap, bool log_scale, float decades, float font_px);

struct PairFigureLayout {
  PixelRect bars;      // one pair of bars per level
  PixelRect rows[2];   // each model's row over the sequence
  PixelRect levels[2]; // the level serving each key, under each row
  float pair_height = 0;
};
PairFigureLayout pair_figure_layout(const PairFigure& figure, const PixelRect& rect);

void draw_pair_figure(RenderContext& ctx, const PairFigure& figure, const PixelRect& rect, int target_w, int target_h, Canvas* canvas);

// The figure function of the registry: needs FigureSource::partner.
void pair_view_figure(FigureCall& call);

}  // namespace fmalens::render
