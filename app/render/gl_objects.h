// RAII owners of GL objects: each deletes its name when destroyed, moves but never copies,
// so a texture or framebuffer cannot outlive its context twice or leak on an early return.
// GL calls happen only on the main thread (ARCHITECTURE.md).
#pragma once

#include <utility>

#include "render/gl.h"

namespace fmalens::render {

// One GL name with its delete function.
template <void (*Delete)(GLuint)>
class GlName {
 public:
  GlName() = default;
  explicit GlName(GLuint name) : name_(name) {}
  ~GlName() { reset(); }
  GlName(GlName&& other) noexcept : name_(std::exchange(other.name_, 0)) {}
  GlName& operator=(GlName&& other) noexcept {
    if (this != &other) {
      reset();
      name_ = std::exchange(other.name_, 0);
    }
    return *this;
  }
  GlName(const GlName&) = delete;
  GlName& operator=(const GlName&) = delete;

  GLuint get() const { return name_; }
  explicit operator bool() const { return name_ != 0; }
  void reset() {
    if (name_ != 0) Delete(name_);
    name_ = 0;
  }

 private:
  GLuint name_ = 0;
};

namespace detail {
inline void delete_texture(GLuint n) { glDeleteTextures(1, &n); }
inline void delete_buffer(GLuint n) { glDeleteBuffers(1, &n); }
inline void delete_vertex_array(GLuint n) { glDeleteVertexArrays(1, &n); }
inline void delete_framebuffer(GLuint n) { glDeleteFramebuffers(1, &n); }
inline void delete_shader(GLuint n) { glDeleteShader(n); }
inline void delete_program(GLuint n) { glDeleteProgram(n); }
}  // namespace detail

using Texture = GlName<detail::delete_texture>;
using Buffer = GlName<detail::delete_buffer>;
using VertexArray = GlName<detail::delete_vertex_array>;
using Framebuffer = GlName<detail::delete_framebuffer>;
using Shader = GlName<detail::delete_shader>;
using Program = GlName<detail::delete_program>;

Texture make_texture();
Buffer make_buffer();
VertexArray make_vertex_array();
Framebuffer make_framebuffer();

// Nearest filtering and clamping: the renderer reads cells with texelFetch or wants crisp
// cells when a texture is magnified.
void set_nearest_clamp(GLenum target);

// Restores the bound draw framebuffer and viewport when it goes out of scope, so a view can
// draw into its own target in the middle of an ImGui frame.
class FramebufferScope {
 public:
  FramebufferScope();
  ~FramebufferScope();
  FramebufferScope(const FramebufferScope&) = delete;
  FramebufferScope& operator=(const FramebufferScope&) = delete;

 private:
  GLint framebuffer_ = 0;
  GLint viewport_[4] = {0, 0, 0, 0};
  GLboolean blend_ = GL_FALSE, scissor_ = GL_FALSE;
};

// Everything else a drawing that borrows someone's GL context may change, restored when it goes
// out of scope: the current program, vertex array and array buffer, the active texture unit and
// the 2D texture of units 0..3, the pixel-store alignments, and what FramebufferScope keeps. A
// figure export in the window's context keeps one over its whole work: its own programs and
// textures are deleted when it ends, and a deleted program left current broke the window's next
// frame (ImGui's backend restores "the current program", which was gone: GL_INVALID_VALUE).
class GlStateScope {
 public:
  GlStateScope();
  ~GlStateScope();
  GlStateScope(const GlStateScope&) = delete;
  GlStateScope& operator=(const GlStateScope&) = delete;

 private:
  FramebufferScope framebuffer_;
  GLint program_ = 0, vertex_array_ = 0, array_buffer_ = 0, active_texture_ = GL_TEXTURE0;
  GLint textures_[4] = {0, 0, 0, 0};
  GLint unpack_alignment_ = 4, pack_alignment_ = 4;
};

// Errors an earlier GL call left unchecked are not the next check's: this reports each one
// on stderr (naming `before`, once per kind) and clears them, so that check_gl names the
// call that failed.
void clear_stale_gl_errors(const char* before);

}  // namespace fmalens::render
