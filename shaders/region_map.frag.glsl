#version 330 core
// View 4, a 2D region map: the model's input image at full resolution with the selected
// patch's attention over it. Each image pixel belongs to a patch (token t); the pixel takes
// the weight of the cell that serves t for the query, i.e. a coarse cell's mass spread evenly
// over its pixels (FMA.md), and each level's cells are outlined in the level's tint.
#include "bands.glsl"
#include "colormap.glsl"

uniform sampler2D u_image;      // S x S, grey in r (or RGB)
uniform int u_image_size;       // S
uniform int u_query;            // row-major patch
uniform int u_level_mask;       // levels shown
uniform int u_only_level;       // >= 0: this level only (the small per-level maps)
uniform int u_colormap;
uniform int u_log_scale;
uniform vec2 u_range;
uniform float u_opacity;        // of the attention over the image
uniform vec2 u_size;            // rectangle in pixels
uniform vec3 u_tints[16];
in vec2 v_uv;
out vec4 o_color;

void main() {
  int G = u_grid;
  vec2 image_px = v_uv * float(u_image_size);
  float patch_px = float(u_image_size) / float(G);
  vec2 patch_f = image_px / patch_px;  // (x, y) in patches
  ivec2 patch_i = clamp(ivec2(floor(patch_f)), ivec2(0), ivec2(G - 1));
  int t = patch_i.y * G + patch_i.x;
  int slot;
  int level = locate(u_query, t, slot);
  bool shown = level >= 0 && ((u_level_mask >> level) & 1) == 1 && (u_only_level < 0 || u_only_level == level);
  vec3 image = texture(u_image, v_uv).rgb;
  vec3 color = image * (shown ? 1.0 : 0.35);
  if (shown) {
    float v = band_value(level, u_query, band_column(level, slot));
    color = mix(color, colormap(u_colormap, scale_value(v, u_log_scale, u_range.x, u_range.y)), u_opacity);
    // Outline the cell serving t: fine cells are r x r patches, coarse cells s_l x s_l.
    float cell = float(level == 0 ? u_m : (u_m << (level - 1)));
    vec2 in_cell = mod(patch_f, cell);
    vec2 screen_per_patch = u_size / float(G);
    vec2 edge = min(in_cell, cell - in_cell) * screen_per_patch;
    if (min(edge.x, edge.y) < 1.0) color = mix(color, u_tints[level], 0.85);
  }
  ivec2 q = ivec2(u_query % G, u_query / G);
  vec2 qd = min(abs(patch_f - vec2(q)), abs(patch_f - vec2(q + 1))) * (u_size / float(G));
  bool in_q = patch_i == q;
  if (in_q && min(qd.x, qd.y) < 2.0) color = vec3(1.0, 0.25, 0.25);
  o_color = vec4(color, 1.0);
}
