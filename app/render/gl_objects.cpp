#include "render/gl_objects.h"

#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include "fmalens/config.h"

namespace fmalens::render {

void check_gl(const char* where) {
  const GLenum err = glGetError();
  if (err == GL_NO_ERROR) return;
  while (glGetError() != GL_NO_ERROR) {
  }
  char msg[128];
  std::snprintf(msg, sizeof(msg), "OpenGL error 0x%04x in %s", err, where);
  throw EnvironmentError(msg);
}

std::string gl_description() {
  auto str = [](GLenum e) {
    const GLubyte* s = glGetString(e);
    return s ? std::string(reinterpret_cast<const char*>(s)) : std::string("?");
  };
  return "OpenGL " + str(GL_VERSION) + ", " + str(GL_RENDERER);
}

Texture make_texture() {
  GLuint n = 0;
  glGenTextures(1, &n);
  return Texture(n);
}

Buffer make_buffer() {
  GLuint n = 0;
  glGenBuffers(1, &n);
  return Buffer(n);
}

VertexArray make_vertex_array() {
  GLuint n = 0;
  glGenVertexArrays(1, &n);
  return VertexArray(n);
}

Framebuffer make_framebuffer() {
  GLuint n = 0;
  glGenFramebuffers(1, &n);
  return Framebuffer(n);
}

void set_nearest_clamp(GLenum target) {
  glTexParameteri(target, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(target, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(target, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(target, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

GlStateScope::GlStateScope() {
  glGetIntegerv(GL_CURRENT_PROGRAM, &program_);
  glGetIntegerv(GL_VERTEX_ARRAY_BINDING, &vertex_array_);
  glGetIntegerv(GL_ARRAY_BUFFER_BINDING, &array_buffer_);
  glGetIntegerv(GL_ACTIVE_TEXTURE, &active_texture_);
  for (int unit = 0; unit < 4; ++unit) {
    glActiveTexture(GL_TEXTURE0 + static_cast<GLenum>(unit));
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &textures_[unit]);
  }
  glActiveTexture(static_cast<GLenum>(active_texture_));
  glGetIntegerv(GL_UNPACK_ALIGNMENT, &unpack_alignment_);
  glGetIntegerv(GL_PACK_ALIGNMENT, &pack_alignment_);
}

GlStateScope::~GlStateScope() {
  glUseProgram(static_cast<GLuint>(program_));
  glBindVertexArray(static_cast<GLuint>(vertex_array_));
  glBindBuffer(GL_ARRAY_BUFFER, static_cast<GLuint>(array_buffer_));
  for (int unit = 0; unit < 4; ++unit) {
    glActiveTexture(GL_TEXTURE0 + static_cast<GLenum>(unit));
    glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(textures_[unit]));
  }
  glActiveTexture(static_cast<GLenum>(active_texture_));
  glPixelStorei(GL_UNPACK_ALIGNMENT, unpack_alignment_);
  glPixelStorei(GL_PACK_ALIGNMENT, pack_alignment_);
}

void clear_stale_gl_errors(const char* before) {
  static std::set<std::pair<GLenum, std::string>> said;
  for (int k = 0; k < 16; ++k) {  // bounded: a lost context can report forever
    const GLenum err = glGetError();
    if (err == GL_NO_ERROR) return;
    if (said.insert({err, before}).second)
      std::fprintf(stderr, "warning: OpenGL error 0x%04x left unchecked before %s\n", err, before);
  }
}

FramebufferScope::FramebufferScope() {
  glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &framebuffer_);
  glGetIntegerv(GL_VIEWPORT, viewport_);
  blend_ = glIsEnabled(GL_BLEND);
  scissor_ = glIsEnabled(GL_SCISSOR_TEST);
}

FramebufferScope::~FramebufferScope() {
  glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(framebuffer_));
  glViewport(viewport_[0], viewport_[1], viewport_[2], viewport_[3]);
  if (blend_) glEnable(GL_BLEND);
  else glDisable(GL_BLEND);
  if (scissor_) glEnable(GL_SCISSOR_TEST);
  else glDisable(GL_SCISSOR_TEST);
}

}  // namespace fmalens::render
