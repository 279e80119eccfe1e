// Colormaps from a lookup texture (one row per map, built by render/colormap.cpp so that the
// CPU and the GPU use the same tables) and the value scale shared by every view.
uniform sampler2D u_colormaps;  // 256 x maps, RGBA8

vec3 colormap(int map, float x) {
  return texelFetch(u_colormaps, ivec2(int(clamp(x, 0.0, 1.0) * 255.0 + 0.5), map), 0).rgb;
}

// Position of a weight on the colormap: linear v / hi, or log10 between lo and hi
// (render/colormap.cpp's scale_value is the same function).
float scale_value(float v, int log_scale, float lo, float hi) {
  if (!(v > 0.0) || !(hi > 0.0)) return 0.0;
  if (log_scale == 0) return clamp(v / hi, 0.0, 1.0);
  lo = max(lo, hi * 1e-12);
  if (hi <= lo) return v >= hi ? 1.0 : 0.0;
  return clamp((log(v) - log(lo)) / (log(hi) - log(lo)), 0.0, 1.0);
}
