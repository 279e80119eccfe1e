// A hidden GLFW window with a GL 3.3 core context, shared by every render test of the process
// (run through `xvfb-run -a` where there is no display).
#pragma once

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <gtest/gtest.h>

#include <memory>

#include "render/render_context.h"

namespace fmalens::test {

class GlTestContext {
 public:
  static GlTestContext& get() {
    static GlTestContext ctx;
    return ctx;
  }
  bool ok() const { return window_ != nullptr; }
  render::RenderContext& render() { return *render_; }

 private:
  GlTestContext() {
    if (!glfwInit()) return;
    glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    window_ = glfwCreateWindow(64, 64, "fmalens render tests", nullptr, nullptr);
    if (!window_) return;
    glfwMakeContextCurrent(window_);
    // Tests read the shaders from the source tree, like development builds with hot reload.
    render_ = std::make_unique<render::RenderContext>();
  }
  GLFWwindow* window_ = nullptr;
  std::unique_ptr<render::RenderContext> render_;
};

#define FMALENS_REQUIRE_GL()                                                                       \
  do {                                                                                             \
    if (!::fmalens::test::GlTestContext::get().ok()) GTEST_FAIL() << "no GL context (run under xvfb-run -a)"; \
  } while (0)

}  // namespace fmalens::test
