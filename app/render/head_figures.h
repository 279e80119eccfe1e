// Views 8 and 9, about the whole model rather than one query: the head finder (every layer x
// head as a point over two metrics of fmalens/head_metrics.h, e.g. mean attended distance against
// fine-band mass) and the distance profile (attention mass against |query - key| in log-spaced
// bins, stacked by the level that serves each distance; one head, the mean of a layer's heads,
// or all its heads as small multiples).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/head_metrics.h"
#include "render/canvas.h"
#include "render/figure_common.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct HeadsFigure {
  const std::vector<HeadStats>* stats = nullptr;
  std::vector<std::string> metric_names;  // head_metric_names()
  int x_metric = 0, y_metric = 0;         // indices into metric_names
  int selected_layer = 0, selected_head = -1;
  int layers = 1;
  float font_px = 13;
};

struct HeadsFigureLayout {
  PixelRect plot;  // the scatter's axes box
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
};
HeadsFigureLayout heads_figure_layout(const HeadsFigure& figure, const PixelRect& rect);
Point head_point(const HeadsFigure& figure, const HeadsFigureLayout& layout, size_t index);
// The head nearest to (x, y) within `radius` pixels: its index in *stats, or -1.
int head_at(const HeadsFigure& figure, const HeadsFigureLayout& layout, float x, float y, float radius);
// A metric by name ("mean distance"), or `fallback` when the model has no such metric.
int metric_index(const std::vector<std::string>& names, const std::string& name, int fallback);

// The head finder of `stats` (a run of `snapshot`) with the axes named (metric names; unknown:
// mean distance across, fine mass up) and the selection marked. Shared by the panel and export.
HeadsFigure make_heads_figure(const std::vector<HeadStats>& stats, const Snapshot& snapshot, const std::string& x_metric,
                              const std::string& y_metric, int layer, int head, float font_px);

void draw_heads_figure(RenderContext& ctx, const HeadsFigure& figure, const PixelRect& rect, int target_w, int target_h, Canvas* canvas);
void heads_view_figure(FigureCall& call);

struct DistanceFigure {
  std::vector<HeadStats> profiles;  // one: a head or the mean of heads; more: small multiples
  std::vector<std::string> titles;  // per profile
  std::vector<std::string> level_names;
  bool two_d = false;               // Chebyshev distance in patches, else tokens
  uint32_t level_mask = 0xFFFFFFFFu;
  float font_px = 13;
};

struct DistanceFigureLayout {
  std::vector<PixelRect> plots;  // one per profile
  PixelRect legend;
  double y_max = 1;              // shared by the plots
};
DistanceFigureLayout distance_figure_layout(const DistanceFigure& figure, const PixelRect& rect);
// The profile and distance bin under (x, y): false when outside every plot.
bool distance_bin_at(const DistanceFigure& figure, const DistanceFigureLayout& layout, float x, float y, size_t* profile, int* bin);
// "0", "1", "2-3", "4-7", ...: the distances of bin `bin`.
std::string distance_bin_label(int bin);

// The distance profile of the selection: head `head` of `layer`, the mean of its heads (head
// -1), or every head of the layer (`all_heads`). Shared by the panel and export.
DistanceFigure make_distance_figure(const std::vector<HeadStats>& stats, const Snapshot& snapshot, int layer, int head, bool all_heads,
                                    uint32_t level_mask, float font_px);

void draw_distance_figure(RenderContext& ctx, const DistanceFigure& figure, const PixelRect& rect, int target_w, int target_h,
                          Canvas* canvas);
void distance_view_figure(FigureCall& call);

// Either view's data is there: an FMA or local run (bands).
bool has_head_stats(const Snapshot& snapshot);

}  // namespace fmalens::render
