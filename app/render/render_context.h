// What every view's GL drawing shares: the shader programs, the colormap texture, an empty
// vertex array for full-rectangle passes, and the canvas (flat shapes) renderer. A view draws
// with a function of (its settings, the snapshot's textures, a target rectangle), so the GUI's
// panels, the headless screenshots and a figure exporter all call the same code.
#pragma once

#include <cstdint>

#include "render/canvas.h"
#include "render/colormap.h"
#include "render/gl_objects.h"
#include "render/shader_library.h"

namespace fmalens::render {

// A rectangle of a target in pixels, origin at the top left (like ImGui and images).
struct PixelRect {
  int x = 0, y = 0, w = 0, h = 0;
  bool contains(float px, float py) const { return px >= x && py >= y && px < x + w && py < y + h; }
};

// How a float texture becomes colours (heatmaps: weights, exact attention, differences).
struct HeatmapStyle {
  Colormap colormap = Colormap::viridis;
  enum class Scale { linear, log, diverging } scale = Scale::linear;
  float lo = 0, hi = 1;  // log: the range; linear: [0, hi]; diverging: [-hi, hi]
  Rgb nan_color{0.12f, 0.12f, 0.13f};
};

class RenderContext {
 public:
  RenderContext();  // needs a current GL 3.3 core context

  ShaderLibrary& shaders() { return shaders_; }
  // Binds the colormap texture to `unit` and points the program's u_colormaps at it.
  void bind_colormaps(GLuint program, int unit) const;
  // Sets the viewport to `rect` of a target `target_height` pixels tall and draws the
  // full-rectangle quad (shaders/quad.vert.glsl) with the bound program.
  void draw_rect_pass(const PixelRect& rect, int target_height) const;
  // Flat shapes (labels are not drawn here: see Canvas).
  void draw_canvas(const Canvas& canvas, int target_width, int target_height);
  // Off: draw_canvas draws nothing, so a render holds only the shader-drawn fields (the
  // pictures a vector export embeds under its own vector shapes).
  void set_canvas_enabled(bool enabled) { canvas_enabled_ = enabled; }
  void draw_colorbar(Colormap map, const PixelRect& rect, int target_height);
  // An R32F texture of `columns x rows` texels, rows top to bottom, showing texels
  // [u0, u1) x [v0, v1) stretched over `rect` (nearest texel).
  void draw_heatmap(GLuint texture, const HeatmapStyle& style, float u0, float v0, float u1, float v1, const PixelRect& rect,
                    int target_height);

 private:
  ShaderLibrary shaders_;
  Texture colormaps_;
  VertexArray empty_vao_;
  VertexArray canvas_vao_;
  Buffer canvas_vbo_;
  bool canvas_enabled_ = true;
};

// Sets the viewport to `rect` of a target `target_height` pixels tall (GL counts from the bottom).
void set_viewport(const PixelRect& rect, int target_height);

// Uploads a [rows, columns] float array as an R32F texture (nearest, clamped).
Texture make_float_texture(const float* data, int columns, int rows);

}  // namespace fmalens::render
