#version 330 core
// A float texture as a heatmap: the downsampling weights, exact attention rows and their
// difference to FMA. Texel rows run top to bottom; NaN marks "no value".
#include "colormap.glsl"

uniform sampler2D u_data;   // R32F
uniform vec4 u_texels;      // shown texel range: u0, v0, u1, v1
uniform int u_colormap;
uniform int u_scale;        // 0 linear [0, hi], 1 log [lo, hi], 2 diverging [-hi, hi]
uniform vec2 u_range;       // lo, hi
uniform vec4 u_nan_color;
in vec2 v_uv;
out vec4 o_color;

void main() {
  vec2 texel = mix(u_texels.xy, u_texels.zw, v_uv);
  float v = texelFetch(u_data, ivec2(floor(texel)), 0).r;
  if (isnan(v)) {
    o_color = u_nan_color;
    return;
  }
  float x;
  if (u_scale == 2) x = 0.5 + 0.5 * clamp(v / max(u_range.y, 1e-30), -1.0, 1.0);
  else x = scale_value(v, u_scale, u_range.x, u_range.y);
  o_color = vec4(colormap(u_colormap, x), 1.0);
}
