#include "render/offscreen_target.h"

#include <cstring>

#include "fmalens/config.h"

namespace fmalens::render {

bool OffscreenTarget::resize(int width, int height) {
  if (width < 1) width = 1;
  if (height < 1) height = 1;
  if (width == width_ && height == height_ && texture_) return false;
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &max_size);
  if (width > max_size || height > max_size)
    throw Error("offscreen target " + std::to_string(width) + "x" + std::to_string(height) + " exceeds this GL's limit of " +
                std::to_string(max_size) + " pixels a side");
  GLint old_texture = 0, old_fb = 0;
  glGetIntegerv(GL_TEXTURE_BINDING_2D, &old_texture);
  glGetIntegerv(GL_FRAMEBUFFER_BINDING, &old_fb);
  texture_ = make_texture();
  glBindTexture(GL_TEXTURE_2D, texture_.get());
  set_nearest_clamp(GL_TEXTURE_2D);
  if (format_ == TargetFormat::rgba8)
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
  else if (format_ == TargetFormat::rgba32f)
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA32F, width, height, 0, GL_RGBA, GL_FLOAT, nullptr);
  else
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RG32F, width, height, 0, GL_RG, GL_FLOAT, nullptr);
  framebuffer_ = make_framebuffer();
  glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_.get());
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture_.get(), 0);
  const GLenum status = glCheckFramebufferStatus(GL_FRAMEBUFFER);
  glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(old_texture));
  glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(old_fb));
  if (status != GL_FRAMEBUFFER_COMPLETE) {
    texture_.reset();
    framebuffer_.reset();
    width_ = height_ = 0;
    throw Error("offscreen framebuffer incomplete (status 0x" + std::to_string(status) + ")");
  }
  check_gl("OffscreenTarget::resize");
  width_ = width;
  height_ = height;
  return true;
}

void OffscreenTarget::bind() const {
  glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_.get());
  glViewport(0, 0, width_, height_);
}

std::vector<uint8_t> read_framebuffer_rgba8(int width, int height) {
  std::vector<uint8_t> px(static_cast<size_t>(width) * height * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, px.data());
  // GL's first row is the bottom one; images (PNG) start at the top.
  const size_t row = static_cast<size_t>(width) * 4;
  std::vector<uint8_t> tmp(row);
  for (int y = 0; y < height / 2; ++y) {
    uint8_t* a = px.data() + static_cast<size_t>(y) * row;
    uint8_t* b = px.data() + static_cast<size_t>(height - 1 - y) * row;
    std::memcpy(tmp.data(), a, row);
    std::memcpy(a, b, row);
    std::memcpy(b, tmp.data(), row);
  }
  return px;
}

std::vector<uint8_t> OffscreenTarget::read_rgba8() const {
  GLint old_fb = 0;
  glGetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &old_fb);
  glBindFramebuffer(GL_READ_FRAMEBUFFER, framebuffer_.get());
  auto px = read_framebuffer_rgba8(width_, height_);
  glBindFramebuffer(GL_READ_FRAMEBUFFER, static_cast<GLuint>(old_fb));
  return px;
}

std::vector<float> OffscreenTarget::read_rgba32f() const {
  GLint old_fb = 0;
  glGetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &old_fb);
  glBindFramebuffer(GL_READ_FRAMEBUFFER, framebuffer_.get());
  std::vector<float> px(static_cast<size_t>(width_) * height_ * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 4);
  glReadPixels(0, 0, width_, height_, GL_RGBA, GL_FLOAT, px.data());
  glBindFramebuffer(GL_READ_FRAMEBUFFER, static_cast<GLuint>(old_fb));
  const size_t row = static_cast<size_t>(width_) * 4;
  for (int y = 0; y < height_ / 2; ++y)
    std::swap_ranges(px.begin() + static_cast<std::ptrdiff_t>(y * row), px.begin() + static_cast<std::ptrdiff_t>((y + 1) * row),
                     px.begin() + static_cast<std::ptrdiff_t>((height_ - 1 - y) * row));
  return px;
}

}  // namespace fmalens::render
