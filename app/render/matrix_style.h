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
};

}  // namespace fmalens::render
