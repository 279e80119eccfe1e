// Figures through Cairo: the canvas's labels drawn over rendered pixels (PNG), and whole
// figures as SVG or PDF, where the canvas's shapes and labels stay vectors and text (fonts
// embedded by Cairo) and only the shader-drawn fields (matrix, region maps, heatmaps,
// colorbars) are embedded as images at full resolution.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "render/canvas.h"
#include "render/render_context.h"

namespace fmalens::render {

struct LabelFont {
  float font_px = 13;      // the figure's font size in its pixels (labels' line height)
  bool monospace = false;  // the text view lays bytes out on a monospace grid
};

// Draws `canvas`'s labels onto RGBA8 pixels (top row first, opaque) in place.
void draw_labels_on_pixels(std::vector<uint8_t>* rgba, int width, int height, const Canvas& canvas, const LabelFont& font);

struct VectorFigure {
  int width_px = 0, height_px = 0;     // the render's size
  double width_pt = 0, height_pt = 0;  // the page's size (points)
  const std::vector<uint8_t>* fields = nullptr;  // RGBA8 render without the canvas's shapes, top row first
  std::vector<PixelRect> raster;       // rectangles of `fields` embedded as images
  Color background;
  const Canvas* canvas = nullptr;
  LabelFont font;
  std::string title;                   // document metadata
};

// The figure as an SVG or a PDF document (bytes).
std::string figure_svg(const VectorFigure& figure);
std::string figure_pdf(const VectorFigure& figure);

}  // namespace fmalens::render
