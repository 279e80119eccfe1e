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
uniform vec2 u_range;           // linear: (0, 1 / hi); log: (log lo, 1 / (log hi - log lo))
uniform float u_gamma;          // linear scale: position (v / hi)^gamma
uniform int u_row_normalise;    // 1: values divided by their pixel row's largest first
uniform sampler2D u_row_scale;  // [1, height] R32F, GL rows: each pixel row's largest value
uniform vec3 u_tints[16];
uniform float u_tint_strength;
uniform vec3 u_background;      // no cell attended (e.g. the causal future)
uniform vec3 u_hidden;          // attended by a level that is switched off
uniform int u_outlines;
uniform vec4 u_outline_color;
uniform float u_inv_block[16];  // 1 / block side per level in axis cells; 0: no block outlines
                                // (blocks under 6 pixels, or not contiguous on the axes)
uniform float u_selected_row;   // -1: none
uniform int u_tokens;           // matrix side: the highlight stops at the last column
uniform vec3 u_highlight;
out vec4 o_color;

// The per-frame constants of the scale come from the CPU: only one log per pixel.
float scale_position(float v, int gl_row) {
  if (u_row_normalise == 1) {
    float top = texelFetch(u_row_scale, ivec2(0, gl_row), 0).r;
    v = top > 0.0 ? v / top : 0.0;
  }
  if (!(v > 0.0)) return 0.0;
  return u_log_scale == 0 ? pow(clamp(v * u_range.y, 0.0, 1.0), u_gamma) : clamp((log(v) - u_range.x) * u_range.y, 0.0, 1.0);
}

void main() {
  ivec2 p = ivec2(gl_FragCoord.xy - u_origin);
  ivec2 last = ivec2(u_size) - 1;
  vec2 a = texelFetch(u_accum, p, 0).rg;
  vec3 color;
  if (a.r < -0.75) {
    color = u_background;
  } else if (a.r < 0.0) {
    color = u_hidden;
  } else {
    color = colormap(u_colormap, scale_position(a.r, p.y));
    if (u_tint_strength > 0.0) color = mix(color, u_tints[int(floatBitsToUint(a.r) & 15u)], u_tint_strength);  // level in the low bits
  }
  // Centre cell of this pixel (column t, row i; rows grow downwards, GL rows upwards).
  float t = u_view.x + (float(p.x) + 0.5) * u_view.z;
  float i = u_view.y + (u_size.y - float(p.y) - 0.5) * u_view.w;
  if (u_outlines == 1) {
    // Outline where the level at the pixel centre changes towards the right or lower neighbour
    // (no outline at the rectangle's edge), and between blocks of one level when they are large.
    int here = int(a.g + 0.5);
    int lr = p.x < last.x ? int(texelFetch(u_accum, p + ivec2(1, 0), 0).g + 0.5) : here;
    int lb = p.y > 0 ? int(texelFetch(u_accum, p - ivec2(0, 1), 0).g + 0.5) : here;
    bool edge = here != lr || here != lb;
    if (!edge && here > 0) {
      float inv = u_inv_block[here - 1];
      edge = inv > 0.0 && ((p.x < last.x && floor(t * inv) != floor((t + u_view.z) * inv)) ||
                           (p.y > 0 && floor(i * inv) != floor((i + u_view.w) * inv)));
    }
    if (edge) color = mix(color, u_outline_color.rgb, u_outline_color.a);
  }
  if (u_selected_row >= 0.0 && t < float(u_tokens)) {
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
