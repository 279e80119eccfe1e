// The bands of one layer and head (or the head average) on the GPU: one R32F layer of a 2D
// array texture per level, so that a shader can fetch from the level a pixel needs (GLSL 330
// cannot index an array of samplers by a per-pixel value). Layer l holds BandData level l as
// [rows, columns]; when the rows exceed GL_MAX_TEXTURE_SIZE they wrap into tiles placed side by
// side: row i lives in tile i / rows_per_tile at column tile * stride + c.
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

  // Binds the texture to `unit` and sets the program's band and layout uniforms (u_bands,
  // u_band_stride, u_rows_per_tile and those of shaders/locate.glsl).
  void bind(GLuint program, int unit) const;

  const AttentionConfig& attention() const { return attention_; }
  int64_t tokens() const { return tokens_; }
  int levels() const { return levels_; }
  int rows_per_tile() const { return rows_per_tile_; }
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
  float max_value_ = 0, min_positive_ = 0;
  uint64_t version_ = 0;
};

// Sets the uniforms of shaders/locate.glsl for `attention` with `levels` levels.
void set_layout_uniforms(GLuint program, const AttentionConfig& attention, int levels);

}  // namespace fmalens::render
