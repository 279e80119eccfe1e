// A view's picture inside an ImGui window: an offscreen target the view's GL drawing fills
// (the same functions a figure export calls), shown with ImGui::Image, with the figure's text
// labels drawn on top by ImGui. Redraws only when the inputs' key or the size changes.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "render/canvas.h"
#include "render/figure_common.h"
#include "render/offscreen_target.h"
#include "render/render_context.h"

namespace fmalens::gui {

// FNV-1a over the bytes of plain values: the inputs a picture depends on.
class KeyHasher {
 public:
  template <typename T>
  KeyHasher& add(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>, "hash plain values");
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    for (unsigned char b : bytes) hash_ = (hash_ ^ b) * 1099511628211ull;
    return *this;
  }
  // Member by member: a struct's padding bytes are not values.
  KeyHasher& add(const render::ColourScale& c) { return add(c.colormap).add(c.log_scale).add(c.lo).add(c.hi); }
  uint64_t get() const { return hash_; }

 private:
  uint64_t hash_ = 1469598103934665603ull;
};

class ViewImage {
 public:
  // Sizes the target to `size` (ImGui points) times the framebuffer scale. Returns true when
  // the picture must be redrawn (new size, new key, or `force`); the target is then bound and
  // cleared, and canvas() is empty. Call finish() after drawing.
  bool begin(ImVec2 size, float framebuffer_scale, uint64_t key, bool force = false);
  void finish();
  // Shows the picture at the cursor and draws its labels. The picture is one ImGui item
  // (an invisible button), so panels can ask it for hover, drag and click.
  void show(const char* id);

  render::Canvas& canvas() { return canvas_; }
  render::PixelRect rect() const { return {0, 0, target_.width(), target_.height()}; }
  int width() const { return target_.width(); }
  int height() const { return target_.height(); }
  // Target pixels of a screen position (ImGui coordinates) over the shown picture.
  render::Point to_pixels(ImVec2 screen) const;
  ImVec2 to_screen(float x, float y) const;
  float scale() const { return scale_; }
  bool hovered() const { return hovered_; }
  bool active() const { return active_; }   // held down (dragging)
  bool clicked() const { return clicked_; } // released without dragging
  void invalidate() { key_ = 0; }
  // Where the picture was last shown (ImGui coordinates) and in which ImGui frame.
  ImVec2 shown_at() const { return origin_; }
  ImVec2 shown_size() const { return size_; }
  int shown_frame() const { return shown_frame_; }

 private:
  render::OffscreenTarget target_;
  render::Canvas canvas_;
  uint64_t key_ = 0;
  float scale_ = 1;
  ImVec2 origin_{0, 0}, size_{0, 0};
  bool hovered_ = false, active_ = false, clicked_ = false;
  int shown_frame_ = -1;
  int bound_framebuffer_ = 0;
  int viewport_[4] = {0, 0, 0, 0};
};

}  // namespace fmalens::gui
