#include "render/matrix_frame_bench.h"

#include <chrono>
#include <functional>

#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/gl.h"
#include "render/matrix_renderer.h"
#include "render/offscreen_target.h"
#include "render/render_context.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::render {

MatrixFrameTimes time_matrix_frames(int64_t n, int width, int height, int frames) {
  // The window's synthetic run: causal, m 32, p 4 (gui/app.cpp).
  const Snapshot snapshot = make_synthetic_snapshot(SyntheticSpec::sequence(Variant::causal, n, 32, 4, 1, 1));
  BandTextures bands;
  bands.upload(make_band_data(snapshot, 0, 0));
  RenderContext ctx;
  MatrixRenderer renderer;
  OffscreenTarget target;
  target.resize(width, height);
  const PixelRect rect{0, 0, width, height};
  MatrixView view = MatrixView::fit(snapshot.tokens, width, height);

  // Mean milliseconds of `frames` frames, each made by `next` and drawn to completion; `work`:
  // what the renderer did in those frames.
  auto phase = [&](const std::function<void(int)>& next, MatrixRenderer::Work* work) {
    renderer.draw(ctx, bands, view, rect, height);  // settle: the phase's first view complete
    glFinish();
    const MatrixRenderer::Work before = renderer.work();
    const auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < frames; ++k) {
      next(k);
      target.bind();
      renderer.draw(ctx, bands, view, rect, height);
      glFinish();
    }
    const MatrixRenderer::Work& after = renderer.work();
    *work = {after.full_passes - before.full_passes, after.strip_passes - before.strip_passes,
             after.reprojections - before.reprojections, after.previews - before.previews};
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / frames;
  };
  target.bind();
  MatrixFrameTimes t;
  t.gl = gl_description();
  t.still_ms = phase([](int) {}, &t.still_work);
  const float cx = static_cast<float>(width) * 0.5f, cy = static_cast<float>(height) * 0.5f;
  t.zoom_ms = phase([&](int k) { view = view.zoomed(k % 2 ? 0.8 : 1.25, cx, cy).clamped(snapshot.tokens, width, height); },
                    &t.zoom_work);
  view = MatrixView::fit(snapshot.tokens, width, height).zoomed(1.5, cx, cy);
  t.pan_ms = phase([&](int k) {
    const float step = (k / 20) % 2 ? -3.0f : 3.0f;  // back and forth, whole pixels
    view = view.panned(step, step).clamped(snapshot.tokens, width, height);
  }, &t.pan_work);
  return t;
}

}  // namespace fmalens::render
