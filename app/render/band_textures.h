// The bands of one layer and head (or the head average) on the GPU, in one R32F texture: the
// levels side by side, level l's columns from offset(l) (fine: 2m or 3m slots; coarse: one
// column per block of the key list). One texture rather than one per level because a shader
// picks the level per pixel, and GLSL 330 cannot index an array of samplers by such a value;
// side by side rather than as layers of an array texture because the coarse levels are narrow
// (2 to 32 columns against the fine level's 64 and more), so layers would upload mostly
// padding. When the rows exceed GL_MAX_TEXTURE_SIZE they wrap into tiles placed side by side:
// row i lives in tile i / rows_per_tile, whose columns start at tile * stride.
#pragma once

#include <cstdint>

#include "render/band_data.h"
#include "render/gl_objects.h"

namespace fmalens::render {

class BandTextures {
 public:
  // Replaces the textures with `data`. `max_rows_per_tile` > 0 forces smaller tiles (tests).
  void upload(const BandData& data, int max_rows_per_tile = 0);
  void clear();
  bool valid() const { return static_cast<bool>(texture_); }

  // Binds the texture to `unit` and sets the program's band and layout uniforms (those of
  // shaders/bands.glsl and shaders/locate.glsl).
  void bind(GLuint program, int unit) const;

  const AttentionConfig& attention() const { return attention_; }
  int64_t tokens() const { return tokens_; }
  int levels() const { return levels_; }
  int rows_per_tile() const { return rows_per_tile_; }
  int offset(int level) const { return offsets_[level]; }
  int tiles() const { return tiles_; }
  float max_value() const { return max_value_; }
  float min_positive() const { return min_positive_; }
  // Changes with every upload: views restart their accumulation when it does.
  uint64_t version() const { return version_; }

 private:
  Texture texture_;
  AttentionConfig attention_;
  int64_t tokens_ = 0;
  int levels_ = 0, stride_ = 0, rows_per_tile_ = 0, tiles_ = 0;
  int offsets_[16] = {};
  float max_value_ = 0, min_positive_ = 0;
  uint64_t version_ = 0;
};

// Sets the uniforms of shaders/locate.glsl for `attention` with `levels` levels.
void set_layout_uniforms(GLuint program, const AttentionConfig& attention, int levels);

}  // namespace fmalens::render
