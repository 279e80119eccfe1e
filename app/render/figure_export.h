// Figure export: every view as PNG, SVG or PDF, drawn by the same figure functions as the
// GUI's panels (each view's FigureKind comes from the views' registry, app/gui/views.h). `fmalens export` (app/cli/export.cpp, with a headless EGL context) and the
// GUI's File > Export... (with the window's context) both call export_figures().
//   PNG: the renderer's pixels at the requested size, labels drawn over them with Cairo.
//   SVG, PDF: sizes in points; the figure is rendered at dpi / 72 pixels a point, its
//   shader-drawn fields embedded as images, its shapes and labels replayed as vectors.
// Nothing here builds an n x n matrix: the matrix is sampled from the bands on the GPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "render/figure_call.h"

namespace fmalens::render {

enum class FigureFormat { png, svg, pdf };
FigureFormat figure_format_from_name(const std::string& name);  // throws Error
const char* figure_format_name(FigureFormat format);            // "png", ...

struct FigureSize {
  double width = 0, height = 0;  // PNG: pixels; SVG, PDF: points. 0: the default (per view)
  double dpi = 300;              // SVG, PDF: resolution of the embedded fields
  double font = 0;               // label size (PNG pixels, vector points); 0: the default
};

struct ExportRequest {
  std::vector<const FigureKind*> views;  // from the views' registry (app/gui/views.h)
  bool skip_unavailable = false;  // "all": leave out the views the model does not have
  FigureFormat format = FigureFormat::png;
  std::string out;  // one view: the file; several: a folder (created), files named by view
  FigureSize size;
  FigureSettings settings;
};

// Availability rules the views' rows pick from (FigureKind::available).
bool has_fma_bands(const Snapshot& snapshot);           // an FMA model's run
bool has_learned_downsampling(const Snapshot& snapshot);
bool has_image_and_bands(const Snapshot& snapshot);     // an FMA image model's run
bool has_text_and_rows(const Snapshot& snapshot);      // a text run with rows: FMA bands, or a dense / elu_linear run's q and k
bool has_queries_and_keys(const Snapshot& snapshot);    // an FMA run that captured q and k
bool always_available(const Snapshot& snapshot);

// Needs a current OpenGL 3.3 core context. Writes each file atomically (a temporary file
// renamed into place) and returns the paths written. Throws fmalens::Error (one line) for a
// view the model does not have, a selection out of range, an unwritable path.
std::vector<std::string> export_figures(const FigureSource& source, const ExportRequest& request);

// One figure rendered at w x h pixels: the pixels with the canvas's shapes (labels not yet
// drawn), the canvas, and the rectangles drawn by shaders (what vector output embeds).
struct RenderedFigure {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;  // top row first
  Canvas canvas;
  std::vector<PixelRect> raster;
  PixelRect body;             // where the view's figure function drew
  bool monospace = false;
  std::string title;
};
// `with_shapes` false: the canvas's shapes are recorded but not drawn (vector output).
RenderedFigure render_figure(RenderContext& ctx, const FigureSource& source, const FigureKind& view, const FigureSettings& settings,
                             int width, int height, float font_px, bool with_shapes = true);

// The rectangle a view's figure function gets inside a w x h figure (below the title).
PixelRect figure_body(int width, int height, float font_px, const FigureSettings& settings);

// The synthetic snapshot `fmalens export --synthetic N` draws (development and tests): the
// smallest causal layout of N tokens or more (m 32, p 4, 2 layers, 2 heads).
Snapshot synthetic_export_snapshot(int64_t tokens);

}  // namespace fmalens::render
