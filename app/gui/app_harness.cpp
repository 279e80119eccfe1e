// The headless harnesses of the window (--screenshot, --bench-frames): they run the real app,
// and here is what they add to its frames: errors end the run with exit 2, the command line's
// selection is applied once the model ran, and the screenshot is saved after --frames frames.
#include "gui/app.h"  // first: GLFW without its own GL header

#include <cstdio>

#include "fmalens/atomic_file.h"
#include "fmalens/quote.h"
#include "gui/views.h"
#include "render/gl.h"
#include "render/png.h"

namespace fmalens::gui {

bool App::harness_before_draw(const std::string& error_before) {
  if (!state_.error.empty() && state_.error != error_before) {
    std::fprintf(stderr, "error: %s\n", state_.error.c_str());
    exit_code_ = 2;
    glfwSetWindowShouldClose(window_, GLFW_TRUE);
    return false;
  }
  const std::string bad = apply_start_selection();
  if (!bad.empty()) {
    std::fprintf(stderr, "error: %s\n", bad.c_str());
    exit_code_ = 2;
    glfwSetWindowShouldClose(window_, GLFW_TRUE);
    return false;
  }
  return true;
}

std::string App::apply_start_selection() {
  if (!state_.snapshot || state_.running || selection_applied_) return "";
  // The command line's selection, checked against the model that ran, once.
  selection_applied_ = true;
  const Snapshot& s = *state_.snapshot;
  if (options_.layer >= static_cast<int>(s.layers.size()))
    return "--layer " + std::to_string(options_.layer) + " out of range (the model's layers are 0.." +
           std::to_string(static_cast<long long>(s.layers.size()) - 1) + ")";
  if (options_.head >= s.config.n_head)
    return "--head " + std::to_string(options_.head) + " out of range (the model has " + std::to_string(s.config.n_head) + " heads)";
  if (options_.query >= s.tokens)
    return "--query " + std::to_string(options_.query) + " out of range (the input has " + std::to_string(s.tokens) + " tokens)";
  if (options_.layer >= 0) perform(apply(state_, SelectLayer{options_.layer}));
  if (options_.head >= -1) perform(apply(state_, SelectHead{options_.head}));
  if (options_.query >= 0) perform(apply(state_, SelectQuery{options_.query}));
  return "";
}

void App::harness_after_draw() {
  if (state_.snapshot && selection_applied_ && !state_.running && !state_.partner_running) {
    // A picture still refining or a view's worker still computing (the error map) holds the
    // count, for at most 20,000 frames.
    if (res_->animating && ++frames_waited_ < 20000) return;
    if (++frames_after_result_ >= options_.frames) {
      try {
        glFinish();
        save_screenshot(options_.screenshot, true);
        if (!options_.view_rects.empty()) write_view_rects(options_.view_rects);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", error_line(e).c_str());
        exit_code_ = 2;
      }
      glfwSetWindowShouldClose(window_, GLFW_TRUE);
    }
  }
}

void App::save_screenshot(const std::string& path, bool headless) {
  int w = 0, h = 0;
  if (headless) {
    w = headless_target_->width();
    h = headless_target_->height();
    glBindFramebuffer(GL_READ_FRAMEBUFFER, headless_target_->framebuffer());
  } else {
    glfwGetFramebufferSize(window_, &w, &h);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, 0);
    glReadBuffer(GL_BACK);
  }
  const std::vector<uint8_t> px = render::read_framebuffer_rgba8(w, h);
  render::write_png(path, px, w, h);
}

void App::write_view_rects(const std::string& path) const {
  // {"font_px": f, "matrix": [x, y, w, h], ...} in screenshot pixels, for the views drawn in the
  // last frame; f is the interface font's height, which the figures lay themselves out by.
  const float scale = ImGui::GetIO().DisplayFramebufferScale.x;
  std::string json = "{\"font_px\": " + std::to_string(ImGui::GetFontSize() * scale);
  for (int v = 0; v < kViewCount; ++v) {
    const ViewImage& img = res_->images[static_cast<size_t>(v)];
    if (img.shown_frame() != ImGui::GetFrameCount()) continue;
    char item[160];
    std::snprintf(item, sizeof(item), "%s\"%s\": [%d, %d, %d, %d]", ", ", view_name(static_cast<ViewId>(v)),
                  static_cast<int>(std::lround(img.shown_at().x * scale)), static_cast<int>(std::lround(img.shown_at().y * scale)),
                  img.width(), img.height());
    json += item;
  }
  write_file_atomically(path, json + "}\n");
}

}  // namespace fmalens::gui
