#include "render/band_textures.h"

#include <algorithm>
#include <vector>

#include "fmalens/config.h"
#include "render/render_context.h"
#include "render/shader_library.h"

namespace fmalens::render {

void set_layout_uniforms(GLuint program, const AttentionConfig& a, int levels) {
  const int variant = a.variant == Variant::causal ? 0 : a.variant == Variant::bidirectional ? 1 : 2;
  set_uniform(program, "u_variant", variant);
  set_uniform(program, "u_n", static_cast<int>(a.tokens()));
  set_uniform(program, "u_m", static_cast<int>(a.m));
  set_uniform(program, "u_p", static_cast<int>(a.p));
  set_uniform(program, "u_grid", static_cast<int>(a.grid_side));
  set_uniform(program, "u_levels", levels);
}

void BandTextures::clear() {
  texture_.reset();
  levels_ = 0;
  ++version_;
}

void BandTextures::upload(const BandData& data, int max_rows_per_tile) {
  if (data.empty()) {
    clear();
    return;
  }
  constexpr int kMaxLevels = 16;  // shaders/bands.glsl's offsets
  if (data.levels.size() > kMaxLevels)
    throw Error("the bands have " + std::to_string(data.levels.size()) + " levels; the viewer shows at most " +
                std::to_string(kMaxLevels));
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  int offsets[kMaxLevels] = {};
  int64_t stride = 0;
  for (size_t l = 0; l < data.levels.size(); ++l) {
    offsets[l] = static_cast<int>(stride);
    stride += data.levels[l].columns;
  }
  int64_t rows_per_tile = std::min<int64_t>(data.rows, max_size);
  if (max_rows_per_tile > 0) rows_per_tile = std::min<int64_t>(rows_per_tile, max_rows_per_tile);
  const int64_t tiles = (data.rows + rows_per_tile - 1) / rows_per_tile;
  if (stride * tiles > max_size)
    throw Error("the bands (" + std::to_string(data.rows) + " rows, " + std::to_string(stride) +
                " columns) do not fit this GL's textures of " + std::to_string(max_size) + " texels a side");
  const int width = static_cast<int>(stride * tiles), height = static_cast<int>(rows_per_tile);
  std::vector<float> texels(static_cast<size_t>(width) * height, 0.0f);
  for (size_t l = 0; l < data.levels.size(); ++l) {
    const BandLevel& level = data.levels[l];
    for (int64_t i = 0; i < data.rows; ++i) {
      const int64_t tile = i / rows_per_tile, y = i - tile * rows_per_tile;
      std::copy_n(&level.values[static_cast<size_t>(i * level.columns)], level.columns,
                  &texels[static_cast<size_t>(y * width + tile * stride + offsets[l])]);
    }
  }
  texture_ = make_float_texture(texels.data(), width, height);
  std::copy(std::begin(offsets), std::end(offsets), offsets_);
  attention_ = data.attention;
  tokens_ = data.tokens;
  levels_ = static_cast<int>(data.levels.size());
  stride_ = static_cast<int>(stride);
  rows_per_tile_ = static_cast<int>(rows_per_tile);
  tiles_ = static_cast<int>(tiles);
  max_value_ = data.max_value();
  min_positive_ = data.min_positive();
  ++version_;
}

void BandTextures::bind(GLuint program, int unit) const {
  glActiveTexture(GL_TEXTURE0 + static_cast<GLenum>(unit));
  glBindTexture(GL_TEXTURE_2D, texture_.get());
  set_uniform(program, "u_bands", unit);
  set_uniform(program, "u_band_stride", stride_);
  set_uniform(program, "u_rows_per_tile", rows_per_tile_);
  set_uniform_array(program, "u_band_offset", offsets_, 16);
  set_layout_uniforms(program, attention_, levels_);
  glActiveTexture(GL_TEXTURE0);
}

}  // namespace fmalens::render
