#include "gui/view_image.h"

#include <algorithm>
#include <cmath>

#include "render/figure_common.h"
#include "render/gl.h"

namespace fmalens::gui {

bool ViewImage::begin(ImVec2 size, float framebuffer_scale, uint64_t key, bool force) {
  size_ = ImVec2(std::max(size.x, 8.0f), std::max(size.y, 8.0f));
  scale_ = framebuffer_scale;
  const int w = static_cast<int>(std::lround(size_.x * scale_)), h = static_cast<int>(std::lround(size_.y * scale_));
  const bool resized = target_.resize(w, h);
  if (!resized && !force && key == key_) return false;
  key_ = key;
  canvas_.clear();
  glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &bound_framebuffer_);
  glGetIntegerv(GL_VIEWPORT, viewport_);
  target_.bind();
  const auto bg = render::kFigureBackground;
  glClearColor(bg.r, bg.g, bg.b, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  return true;
}

void ViewImage::finish() {
  glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(bound_framebuffer_));
  glViewport(viewport_[0], viewport_[1], viewport_[2], viewport_[3]);
}

void ViewImage::show(const char* id) {
  origin_ = ImGui::GetCursorScreenPos();
  shown_frame_ = ImGui::GetFrameCount();
  ImGui::InvisibleButton(id, size_);
  hovered_ = ImGui::IsItemHovered();
  active_ = ImGui::IsItemActive();
  clicked_ = ImGui::IsItemDeactivated() && hovered_ && ImGui::GetIO().MouseDragMaxDistanceSqr[0] < 16.0f;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  // GL textures start at the bottom row: flip vertically.
  dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(target_.texture())), origin_,
               ImVec2(origin_.x + size_.x, origin_.y + size_.y), ImVec2(0, 1), ImVec2(1, 0));
  dl->PushClipRect(origin_, ImVec2(origin_.x + size_.x, origin_.y + size_.y), true);
  for (const render::Label& l : canvas_.labels()) {
    ImVec2 at = to_screen(l.at.x, l.at.y);
    const ImVec2 extent = ImGui::CalcTextSize(l.text.c_str());
    if (l.align == render::Label::Align::centre) at.x -= extent.x * 0.5f;
    else if (l.align == render::Label::Align::right) at.x -= extent.x;
    dl->AddText(ImVec2(std::round(at.x), std::round(at.y)), ImGui::ColorConvertFloat4ToU32(ImVec4(l.color.r, l.color.g, l.color.b, l.color.a)),
                l.text.c_str());
  }
  dl->PopClipRect();
}

render::Point ViewImage::to_pixels(ImVec2 screen) const {
  return {(screen.x - origin_.x) * scale_, (screen.y - origin_.y) * scale_};
}

ImVec2 ViewImage::to_screen(float x, float y) const { return ImVec2(origin_.x + x / scale_, origin_.y + y / scale_); }

}  // namespace fmalens::gui
