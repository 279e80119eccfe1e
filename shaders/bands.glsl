// The bands of one layer and head (or the head average) in one R32F texture, as
// render/band_textures.cpp lays them out: level l's columns start at u_band_offset[l] inside a
// tile of u_rows_per_tile rows; past GL_MAX_TEXTURE_SIZE rows the tiles sit side by side,
// u_band_stride columns apart.
#include "locate.glsl"

uniform sampler2D u_bands;
uniform int u_band_stride;
uniform int u_rows_per_tile;
uniform int u_band_offset[16];

float band_value(int level, int row, int column) {
  int tile = row < u_rows_per_tile ? 0 : idiv(row, u_rows_per_tile);
  return texelFetch(u_bands, ivec2(tile * u_band_stride + u_band_offset[level] + column, row - tile * u_rows_per_tile), 0).r;
}
