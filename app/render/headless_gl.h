// An OpenGL 3.3 core context with no window and no display, for figure export on servers:
// EGL on Mesa's surfaceless platform (llvmpipe or a GPU's DRI driver), else the EGL device
// platform (NVIDIA's EGL on GPU servers), else EGL's default display. The context renders
// into offscreen targets only (render/offscreen_target.h).
#pragma once

#include <memory>
#include <string>

namespace fmalens::render {

class HeadlessGL {
 public:
  // Creates the context and makes it current on this thread. Throws fmalens::Error with one
  // line that says what failed and what to install when no platform gives a GL 3.3 context.
  static std::unique_ptr<HeadlessGL> create();
  ~HeadlessGL();
  HeadlessGL(const HeadlessGL&) = delete;
  HeadlessGL& operator=(const HeadlessGL&) = delete;

  // "EGL surfaceless (Mesa)", "EGL device", "EGL default display".
  const std::string& platform() const { return platform_; }

 private:
  HeadlessGL() = default;
  void* display_ = nullptr;
  void* context_ = nullptr;
  void* surface_ = nullptr;
  std::string platform_;
};

}  // namespace fmalens::render
