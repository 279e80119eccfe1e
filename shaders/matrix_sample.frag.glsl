#version 330 core
// One sampling pass of the hierarchical attention matrix. Each pixel covers a rectangle of
// cells (query rows i, key columns t); pass k samples it at one sub-pixel position, mapping
// the sample's (i, t) to its level and band column with the GLSL twin of Layout::locate. The
// passes are combined with GL_MAX blending, so that after all passes a pixel holds the max
// over a grid of samples of the cells it covers: a thin fine band stays visible when zoomed
// out, and no pass reads what the previous ones wrote.
// Output (RG32F): r = weight of the sample with its level in the lowest 4 mantissa bits (so the
// max carries the level along), -1: no cell attended, -0.5: attended by a hidden level;
// g = 1 + level at the pixel centre (pass 0 only; later passes write r alone), for outlines.
#include "bands.glsl"

uniform vec2 u_jitter;           // sample position inside the pixel, [0, 1)^2
uniform vec4 u_view;             // t0, i0 (cells at the top-left corner), cells per pixel x, y
uniform vec2 u_size;             // target size in pixels
uniform int u_tokens;            // the matrix is u_tokens x u_tokens
uniform int u_z_order;           // 2D: axes in Z order
uniform int u_level_mask;        // bit l: level l shown
uniform int u_debug_locate;      // tests: write (level, first slot, i, t) instead
out vec4 o_color;

// The weight with the level in its lowest mantissa bits: ordered like the weight to 2^-19.
float with_level(float value, int level) {
  return uintBitsToFloat((floatBitsToUint(value) & ~15u) | uint(level & 15));
}

void main() {
  vec2 pixel = vec2(floor(gl_FragCoord.x), u_size.y - 1.0 - floor(gl_FragCoord.y));  // top-left origin
  vec2 at = pixel + u_jitter;
  int t = int(floor(u_view.x + at.x * u_view.z));
  int i = int(floor(u_view.y + at.y * u_view.w));
  float value = -1.0;
  int level = -1, slot = 0;
  // The causal future is empty: no locate there (half of a causal matrix).
  bool future = u_variant == 0 && t > i;
  if (i >= 0 && t >= 0 && i < u_tokens && t < u_tokens && !future) {
    int qi = axis_token(i, u_z_order), kt = axis_token(t, u_z_order);
    level = locate(qi, kt, slot);
    if (level >= 0)
      value = ((u_level_mask >> level) & 1) == 1 ? with_level(band_value(level, qi, band_column(level, slot)), level) : -0.5;
  }
  if (u_debug_locate == 1) {
    if (future) level = -1;
    o_color = vec4(float(level), float(slot), float(i), float(t));
    return;
  }
  o_color = vec4(value, float(level + 1), 0.0, 1.0);
}
