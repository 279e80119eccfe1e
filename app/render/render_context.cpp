#include "render/render_context.h"

#include "fmalens/config.h"

namespace fmalens::render {

void set_viewport(const PixelRect& rect, int target_height) {
  glViewport(rect.x, target_height - rect.y - rect.h, rect.w, rect.h);
}

Texture make_float_texture(const float* data, int columns, int rows) {
  clear_stale_gl_errors("make_float_texture");
  Texture t = make_texture();
  glBindTexture(GL_TEXTURE_2D, t.get());
  set_nearest_clamp(GL_TEXTURE_2D);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_R32F, columns, rows, 0, GL_RED, GL_FLOAT, data);
  check_gl("make_float_texture");
  return t;
}

RenderContext::RenderContext() {
  colormaps_ = make_texture();
  glBindTexture(GL_TEXTURE_2D, colormaps_.get());
  set_nearest_clamp(GL_TEXTURE_2D);
  const auto lut = colormap_lut();
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, kColormapLutSize, kColormapCount, 0, GL_RGBA, GL_UNSIGNED_BYTE, lut.data());
  empty_vao_ = make_vertex_array();
  canvas_vao_ = make_vertex_array();
  canvas_vbo_ = make_buffer();
  glBindVertexArray(canvas_vao_.get());
  glBindBuffer(GL_ARRAY_BUFFER, canvas_vbo_.get());
  glEnableVertexAttribArray(0);
  glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 6 * sizeof(float), nullptr);
  glEnableVertexAttribArray(1);
  glVertexAttribPointer(1, 4, GL_FLOAT, GL_FALSE, 6 * sizeof(float), reinterpret_cast<void*>(2 * sizeof(float)));
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
  check_gl("RenderContext");
}

void RenderContext::bind_colormaps(GLuint program, int unit) const {
  glActiveTexture(GL_TEXTURE0 + static_cast<GLenum>(unit));
  glBindTexture(GL_TEXTURE_2D, colormaps_.get());
  set_uniform(program, "u_colormaps", unit);
}

void RenderContext::draw_rect_pass(const PixelRect& rect, int target_height) const {
  set_viewport(rect, target_height);
  glBindVertexArray(empty_vao_.get());
  glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
  glBindVertexArray(0);
}

void RenderContext::draw_canvas(const Canvas& canvas, int target_width, int target_height) {
  if (!canvas_enabled_) return;
  const std::vector<float> tris = canvas.triangles();
  if (tris.empty()) return;
  const GLuint program = shaders_.program("canvas.vert.glsl", "canvas.frag.glsl");
  glUseProgram(program);
  set_uniform(program, "u_size", static_cast<float>(target_width), static_cast<float>(target_height));
  glViewport(0, 0, target_width, target_height);
  glEnable(GL_BLEND);
  glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
  glBindVertexArray(canvas_vao_.get());
  glBindBuffer(GL_ARRAY_BUFFER, canvas_vbo_.get());
  glBufferData(GL_ARRAY_BUFFER, static_cast<GLsizeiptr>(tris.size() * sizeof(float)), tris.data(), GL_STREAM_DRAW);
  glDrawArrays(GL_TRIANGLES, 0, static_cast<GLsizei>(tris.size() / 6));
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
  glDisable(GL_BLEND);
}

void RenderContext::draw_colorbar(Colormap map, const PixelRect& rect, int target_height) {
  const GLuint program = shaders_.program("quad.vert.glsl", "colorbar.frag.glsl");
  glUseProgram(program);
  bind_colormaps(program, 0);
  set_uniform(program, "u_colormap", static_cast<int>(map));
  draw_rect_pass(rect, target_height);
}

void RenderContext::draw_heatmap(GLuint texture, const HeatmapStyle& style, float u0, float v0, float u1, float v1,
                                 const PixelRect& rect, int target_height) {
  const GLuint program = shaders_.program("quad.vert.glsl", "heatmap.frag.glsl");
  glUseProgram(program);
  bind_colormaps(program, 0);
  glActiveTexture(GL_TEXTURE1);
  glBindTexture(GL_TEXTURE_2D, texture);
  set_uniform(program, "u_data", 1);
  set_uniform(program, "u_texels", u0, v0, u1, v1);
  set_uniform(program, "u_colormap", static_cast<int>(style.colormap));
  set_uniform(program, "u_scale", static_cast<int>(style.scale));
  set_uniform(program, "u_range", style.lo, style.hi);
  set_uniform(program, "u_nan_color", style.nan_color.r, style.nan_color.g, style.nan_color.b, 1.0f);
  draw_rect_pass(rect, target_height);
  glActiveTexture(GL_TEXTURE0);
}

}  // namespace fmalens::render
