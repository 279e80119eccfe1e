// What a view's figure function gets: the snapshot and the selection, where to draw, and the
// bands of the selected layer and head (uploaded on first use). One figure function per view,
// in the view's figure file; render_figure() does what every view shares (target, checks,
// title, the side colorbar) and calls it. The views' registry (app/gui/views.cpp) names them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fmalens/head_metrics.h"
#include "fmalens/model.h"
#include "fmalens/snapshot.h"
#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/canvas.h"
#include "render/colormap.h"
#include "render/figure_common.h"
#include "render/matrix_style.h"
#include "render/render_context.h"

namespace fmalens::render {

// What a figure shows: the selection and the colours (the GUI passes its panel settings).
struct FigureSettings : MatrixStyle {
  int layer = 0;
  int head = -1;        // -1: the average over heads
  int64_t query = -1;   // -1: the last byte, or the centre patch
  int level = -1;       // weights: the coarse level (default 1); other views: show only this level
  float overlay_opacity = 0.7f;
  // The matrix's navigation: the whole matrix, or a corner and a zoom (as in the GUI).
  bool fit = true;
  double t0 = 0, i0 = 0, cells_per_pixel = 1;
  std::string title;    // "" : made from the model, layer, head, query and level
  bool show_title = true;
  bool colorbar = true;
  // The head finder's axes (metric names of head_metric_names) and the distance profile's
  // small multiples (every head of the layer).
  std::string heads_x = "mean distance", heads_y = "fine mass";
  bool all_heads_profiles = false;
};

struct FigureSource {
  const Snapshot* snapshot = nullptr;
  const ModelInfo* model = nullptr;  // the model view's loss curve (may be null)
  std::string model_name;            // for titles: the checkpoint's file name
  const std::vector<HeadStats>* head_stats = nullptr;  // the run's, when the caller has them (else made on use)
  const Snapshot* partner = nullptr;  // the pair view: a second model's run on the same input
  std::string partner_name;
};

class FigureCall {
 public:
  FigureCall(RenderContext& ctx, const FigureSource& source, const FigureSettings& settings, int width, int height, float font_px,
             Canvas& canvas, std::vector<PixelRect>& raster);

  RenderContext& ctx;
  const FigureSource& source;
  const Snapshot& snapshot;
  const FigureSettings& settings;
  const int width, height;
  const float font_px;
  PixelRect body;           // where the view draws; a view may shrink it (the matrix does)
  int64_t query = 0;        // the settings' query, or the view's default
  uint32_t level_mask = 0;  // levels shown (settings.level picks one)
  int weights_level = 1;    // the weights view's coarse level
  Canvas& canvas;
  std::vector<PixelRect>& raster;  // rectangles drawn by shaders (vector output embeds them)
  bool monospace = false;          // the labels are text cells (the text view)
  std::optional<ColourScale> side_colours;  // set by views coloured like the matrix: their colorbar

  // What every figure function reads, as one line: auto [s, st, f, W, H, body, canvas] = c.parts();
  struct Parts {
    const Snapshot& s;
    const FigureSettings& st;
    float f;      // font size in pixels
    int W, H;     // the figure's pixels
    PixelRect& body;
    Canvas& canvas;
  };
  Parts parts() { return {snapshot, settings, font_px, width, height, body, canvas}; }

  // The selected layer's and head's bands, made and uploaded on first use. Throws Error
  // naming `view` when the model has no bands (dense, elu_linear attention).
  const BandData& bands(const char* view);
  const BandTextures& textures(const char* view);
  // The matrix's colours over those bands (the colours of the levels, text and region views);
  // for a model without bands, over `row` (row_colour_range).
  ColourScale colour_scale(const char* view, const std::vector<float>* row = nullptr);
  // Query i's weights over the tokens and the level serving each (-1: none): from the bands
  // (FMA, local), else from the run's queries and keys (dense, elu_linear: qk_attention_row).
  void query_row(const char* view, int64_t i, std::vector<float>* values, std::vector<int>* levels);
  // Every head's statistics (head_metrics.h): the source's, or made on first use. Throws Error
  // naming `view` for a run without bands.
  const std::vector<HeadStats>& head_stats(const char* view);

 private:
  std::optional<BandData> bands_;
  std::optional<std::vector<HeadStats>> head_stats_;
  BandTextures textures_;
};

using FigureFunction = void (*)(FigureCall& call);

// A view as a figure: what render_figure() and export_figures() need to know of it. The
// registry (app/gui/views.cpp) holds one per view.
struct FigureKind {
  const char* name = "";           // in file names ("matrix.png") and refusals
  FigureFunction draw = nullptr;
  bool (*available)(const Snapshot&) = nullptr;  // whether the snapshot's model has the view
  bool side_colorbar = false;      // coloured like the matrix: a colorbar at the right
  // The automatic title: "<model>, layer L, head H, query Q<suffix>", with what applies.
  bool per_layer = true;           // false: about the whole model (no layer or head)
  bool all_heads = false;          // all heads at once, one coarse level (the weights)
  bool names_query = false;        // the title names the query
  const char* title_suffix = "";   // ": training loss", ... ("": the levels shown)
  enum class Shape { wide, square, short_wide } shape = Shape::wide;  // default export size
  bool needs_partner = false;      // shows FigureSource::partner beside the snapshot (the pair view)
};

}  // namespace fmalens::render
