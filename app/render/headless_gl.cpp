#include "render/headless_gl.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <cstring>
#include <vector>

#include "fmalens/config.h"

namespace fmalens::render {
namespace {

constexpr const char* kInstallHint =
    "install Mesa's EGL and GL drivers (Debian: apt install libegl1 libegl-mesa0 libgl1-mesa-dri) or a GPU driver with EGL";

bool has_extension(const char* list, const char* name) {
  if (!list) return false;
  const size_t n = std::strlen(name);
  for (const char* p = list; (p = std::strstr(p, name)) != nullptr; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return true;
  return false;
}

// Tries to initialise `dpy` and create a 3.3 core context on it; returns false (cleaning up) when it cannot.
bool make_context(EGLDisplay dpy, EGLContext* ctx_out, EGLSurface* surface_out, std::string* why) {
  EGLint major = 0, minor = 0;
  if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor)) {
    *why = "eglInitialize failed";
    return false;
  }
  if (!eglBindAPI(EGL_OPENGL_API)) {
    *why = "this EGL has no desktop OpenGL";
    eglTerminate(dpy);
    return false;
  }
  const bool surfaceless = has_extension(eglQueryString(dpy, EGL_EXTENSIONS), "EGL_KHR_surfaceless_context");
  const EGLint config_attribs[] = {EGL_SURFACE_TYPE, surfaceless ? 0 : EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
                                   EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_NONE};
  EGLConfig config = nullptr;
  EGLint count = 0;
  if (!eglChooseConfig(dpy, config_attribs, &config, 1, &count) || count < 1) {
    *why = "no EGL config renders desktop OpenGL";
    eglTerminate(dpy);
    return false;
  }
  const EGLint context_attribs[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3, EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                    EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
  EGLContext ctx = eglCreateContext(dpy, config, EGL_NO_CONTEXT, context_attribs);
  if (ctx == EGL_NO_CONTEXT) {
    *why = "no OpenGL 3.3 core context";
    eglTerminate(dpy);
    return false;
  }
  EGLSurface surface = EGL_NO_SURFACE;
  if (!surfaceless) {
    const EGLint pbuffer_attribs[] = {EGL_WIDTH, 1, EGL_HEIGHT, 1, EGL_NONE};
    surface = eglCreatePbufferSurface(dpy, config, pbuffer_attribs);
  }
  if (!eglMakeCurrent(dpy, surface, surface, ctx)) {
    *why = "eglMakeCurrent failed";
    if (surface != EGL_NO_SURFACE) eglDestroySurface(dpy, surface);
    eglDestroyContext(dpy, ctx);
    eglTerminate(dpy);
    return false;
  }
  *ctx_out = ctx;
  *surface_out = surface;
  return true;
}

}  // namespace

std::unique_ptr<HeadlessGL> HeadlessGL::create() {
  std::unique_ptr<HeadlessGL> gl(new HeadlessGL());
  const char* client_ext = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);  // null without client extensions
  auto get_platform_display =
      reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(eglGetProcAddress("eglGetPlatformDisplayEXT"));
  struct Candidate {
    EGLDisplay display;
    const char* name;
  };
  std::vector<Candidate> candidates;
  if (get_platform_display && has_extension(client_ext, "EGL_MESA_platform_surfaceless"))
    candidates.push_back({get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr), "EGL surfaceless (Mesa)"});
  if (get_platform_display && has_extension(client_ext, "EGL_EXT_platform_device")) {
    auto query_devices = reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(eglGetProcAddress("eglQueryDevicesEXT"));
    EGLDeviceEXT devices[8];
    EGLint count = 0;
    if (query_devices && query_devices(8, devices, &count))
      for (EGLint k = 0; k < count; ++k)
        candidates.push_back({get_platform_display(EGL_PLATFORM_DEVICE_EXT, devices[k], nullptr), "EGL device"});
  }
  candidates.push_back({eglGetDisplay(EGL_DEFAULT_DISPLAY), "EGL default display"});
  std::string why = "no EGL display";
  for (const Candidate& c : candidates) {
    EGLContext ctx = EGL_NO_CONTEXT;
    EGLSurface surface = EGL_NO_SURFACE;
    if (c.display == EGL_NO_DISPLAY || !make_context(c.display, &ctx, &surface, &why)) continue;
    gl->display_ = c.display;
    gl->context_ = ctx;
    gl->surface_ = surface;
    gl->platform_ = c.name;
    return gl;
  }
  throw EnvironmentError("no OpenGL 3.3 without a display (" + why + "): " + kInstallHint);
}

HeadlessGL::~HeadlessGL() {
  if (!display_) return;
  eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  if (surface_) eglDestroySurface(display_, surface_);
  if (context_) eglDestroyContext(display_, context_);
  eglTerminate(display_);
}

}  // namespace fmalens::render
