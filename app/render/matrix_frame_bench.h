// The matrix view's frame time, rendered offscreen with the renderer the window uses, for
// `fmalens bench` (the window's own `--bench-frames` measures the same phases on screen).
#pragma once

#include <cstdint>
#include <string>

#include "render/matrix_renderer.h"

namespace fmalens::render {

struct MatrixFrameTimes {
  double zoom_ms = 0;   // every frame a new zoom: a full resample of the whole view
  double pan_ms = 0;    // a zoomed-in view moved 3 pixels a frame: only new strips sampled
  double still_ms = 0;  // the same view again
  MatrixRenderer::Work zoom_work, pan_work, still_work;  // what each phase's frames did
  std::string gl;       // renderer, for the record
};

// Needs a current GL 3.3 context (HeadlessGL). A synthetic causal snapshot of n tokens (as
// `fmalens --synthetic n`), drawn into a width x height target, `frames` frames per phase;
// each frame waits for the GL (glFinish).
MatrixFrameTimes time_matrix_frames(int64_t n, int width, int height, int frames);

}  // namespace fmalens::render
