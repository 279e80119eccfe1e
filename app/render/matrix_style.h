// The matrix view's style, without any GL: the GUI's state, the renderer and figure export
// all hold one.
#pragma once

#include <cstdint>

#include "render/colormap.h"

namespace fmalens::render {

// How the matrix is coloured and which levels it shows: one struct for the GUI's settings,
// the on-screen view and exported figures, so that a figure looks like the window.
struct MatrixStyle {
  uint32_t level_mask = 0xFFFFFFFFu;  // bit l: level l shown
  Colormap colormap = Colormap::viridis;
  bool log_scale = true;
  float decades = 4;  // log scale: colours span [hi 10^-decades, hi]
  float tint_strength = 0;
  bool outlines = true;
  bool z_order = true;  // 2D models: axes along the Z curve (cells are contiguous)
  // Pixels show the attention mass of their tile (its keys' weights summed, averaged over its
  // query rows) instead of the largest weight sampled in it: a pixel row sums to the rows' mass.
  bool mass = false;
  bool row_normalise = false;  // each query row coloured against its own largest weight
  float gamma = 1;             // linear scale: colour position (v / hi)^gamma
  // The first key's column (an attention sink) and the phantom zero keys' mass (zero_pad) get
  // strips of their own left of the matrix, each on its own scale, and leave the matrix's range.
  bool sink_strip = false;
};

struct MatrixView : MatrixStyle {
  // The cell at the top-left corner of the rectangle (fractional) and the zoom.
  double t0 = 0, i0 = 0;
  double cells_per_pixel = 1;
  float range_hi = 0; // 0: the largest weight of the bands
  int64_t selected_row = -1; // query row to highlight (axis position)
  int max_samples_per_axis = 4;

  // Fits the whole matrix into a rectangle of w x h pixels.
  static MatrixView fit(int64_t tokens, int w, int h);
  // Zoomed by `factor` (> 1: closer) keeping the cell under pixel (px, py) in place.
  MatrixView zoomed(double factor, float px, float py) const;
  // Moved so that the content follows a drag of (dx, dy) pixels.
  MatrixView panned(float dx, float dy) const;
  // Zoom limited to [64 pixels a cell, the whole matrix in the smaller side], and the corner
  // kept so that the matrix does not leave the w x h rectangle.
  MatrixView clamped(int64_t tokens, int w, int h) const;
  // Matrix cell (axis positions) under a pixel of the rectangle (may lie outside the matrix).
  void cell_at(float px, float py, double* t, double* i) const {
    *t = t0 + px * cells_per_pixel;
    *i = i0 + py * cells_per_pixel;
  }
};


}  // namespace fmalens::render
