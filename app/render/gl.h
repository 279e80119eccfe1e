// OpenGL 3.3 core entry points, straight from libGL (libglvnd exports every core function on
// Linux, so no loader is needed). Every file of the renderer includes GL through this header.
#pragma once

#ifndef GL_GLEXT_PROTOTYPES
#define GL_GLEXT_PROTOTYPES 1
#endif
#include <GL/glcorearb.h>

#include <string>

namespace fmalens::render {

// Throws fmalens::Error naming `where` and the GL error code when the GL error flag is set.
// Used after uploads and framebuffer setup, where a silent failure would draw garbage.
void check_gl(const char* where);

// "OpenGL 4.5 (Core Profile) Mesa 22.3.6, llvmpipe (LLVM 15.0.6, 256 bits)"
std::string gl_description();

}  // namespace fmalens::render
