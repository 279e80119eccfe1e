// A framebuffer with one colour texture, at any size: where every view draws (the GUI shows
// the texture with ImGui::Image; a screenshot or a figure export reads it back).
#pragma once

#include <cstdint>
#include <vector>

#include "render/gl_objects.h"

namespace fmalens::render {

enum class TargetFormat {
  rgba8,    // colour for display and PNG files
  rgba32f,  // data passes (the locate test)
  rg32f,    // the matrix view's accumulated samples
};

class OffscreenTarget {
 public:
  explicit OffscreenTarget(TargetFormat format = TargetFormat::rgba8) : format_(format) {}

  // (Re)allocates when the size changes; returns true when it did (contents are then undefined).
  bool resize(int width, int height);
  // Binds the framebuffer and sets the viewport to the whole target.
  void bind() const;

  int width() const { return width_; }
  int height() const { return height_; }
  GLuint texture() const { return texture_.get(); }
  GLuint framebuffer() const { return framebuffer_.get(); }
  bool valid() const { return width_ > 0 && height_ > 0; }

  // Pixels top row first (GL's origin is the bottom row): RGBA8 bytes or RGBA float32.
  std::vector<uint8_t> read_rgba8() const;
  std::vector<float> read_rgba32f() const;

 private:
  TargetFormat format_;
  int width_ = 0, height_ = 0;
  Texture texture_;
  Framebuffer framebuffer_;
};

// Reads `width x height` RGBA8 pixels of the bound read framebuffer, top row first.
std::vector<uint8_t> read_framebuffer_rgba8(int width, int height);

}  // namespace fmalens::render
