#version 330 core
// Colours the accumulated samples of the matrix (matrix_sample.frag.glsl): colormap and scale,
// per-level tint, hidden levels, outlines where the level changes and, when blocks are large
// enough on screen, around each block; the selected query's row highlighted.
#include "colormap.glsl"

uniform sampler2D u_accum;
uniform vec2 u_origin;          // the rectangle's lower-left corner in the target (GL pixels)
uniform vec2 u_size;            // rectangle size in pixels
uniform vec4 u_view;            // t0, i0, cells per pixel x, y (as in the sampling pass)
uniform int u_colormap;
uniform int u_log_scale;
uniform vec2 u_range;           // lo, hi
uniform vec3 u_tints[16];
uniform float u_tint_strength;
uniform vec3 u_background;      // no cell attended (e.g. the causal future)
uniform vec3 u_hidden;          // attended by a level that is switched off
uniform int u_outlines;
uniform vec4 u_outline_color;
uniform int u_tile[16];         // block side per level, in axis cells (0: no block outlines)
uniform float u_selected_row;   // -1: none
uniform int u_tokens;           // matrix side: the highlight stops at the last column
uniform vec3 u_highlight;
out vec4 o_color;

vec4 accum_at(ivec2 p) {
  ivec2 size = ivec2(u_size);
  if (p.x < 0 || p.y < 0 || p.x >= size.x || p.y >= size.y) return vec4(-1.0, 0.0, 0.0, 0.0);
  return texelFetch(u_accum, p, 0);
}

// Block (tile) index of a pixel's centre cell at `level`, along both axes.
ivec2 tile_of(ivec2 p, int level) {
  float px = float(p.x) + 0.5, py = u_size.y - float(p.y) - 0.5;
  vec2 cell = floor(vec2(u_view.x + px * u_view.z, u_view.y + py * u_view.w));
  return ivec2(floor(cell / float(max(u_tile[level], 1))));  // float: cells may be negative
}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy - u_origin);
  vec4 a = accum_at(p);
  vec3 color;
  if (a.r < -0.75) {
    color = u_background;
  } else if (a.r < 0.0) {
    color = u_hidden;
  } else {
    color = colormap(u_colormap, scale_value(a.r, u_log_scale, u_range.x, u_range.y));
    int level = int(floatBitsToUint(a.r) & 15u);  // carried in the weight's lowest bits
    if (level >= 0) color = mix(color, u_tints[level], u_tint_strength);
  }
  if (u_outlines == 1) {
    int here = int(a.g + 0.5);
    ivec2 right = p + ivec2(1, 0), below = p - ivec2(0, 1);
    int lr = int(accum_at(right).g + 0.5), lb = int(accum_at(below).g + 0.5);
    bool edge = (here != lr && (here > 0 || lr > 0) && right.x < int(u_size.x)) ||
                (here != lb && (here > 0 || lb > 0) && below.y >= 0);
    if (!edge && here > 0) {
      int level = here - 1;
      float block_pixels = float(u_tile[level]) / max(u_view.z, 1e-6);
      if (u_tile[level] > 0 && block_pixels >= 6.0) {
        ivec2 th = tile_of(p, level);
        edge = (lr == here && tile_of(right, level).x != th.x) || (lb == here && tile_of(below, level).y != th.y);
      }
    }
    if (edge) color = mix(color, u_outline_color.rgb, u_outline_color.a);
  }
  float column = u_view.x + (float(p.x) + 0.5) * u_view.z;
  if (u_selected_row >= 0.0 && column < float(u_tokens)) {
    // Pixel rows cover [top, bottom) in query rows; thin rows are filled, tall ones framed.
    float py = u_size.y - float(p.y) - 1.0;
    float top = (u_selected_row - u_view.y) / u_view.w, bottom = (u_selected_row + 1.0 - u_view.y) / u_view.w;
    if (bottom - top < 3.0) {
      if (py + 1.0 > top && py < bottom) color = mix(color, u_highlight, 0.55);
    } else if ((py >= top - 1.0 && py < top + 1.0) || (py >= bottom - 1.0 && py < bottom + 1.0)) {
      color = u_highlight;
    }
  }
  o_color = vec4(color, 1.0);
}
