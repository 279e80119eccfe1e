// --bench-frames N: the matrix view's frame rate, measured in the real window (a development
// aid; the numbers in the report come from it). Phases, N frames each: panning a zoomed-in
// view 3 pixels a frame, holding still, zooming in and out every frame (a full resample each
// time); then, for checkpoints, the frames while the model runs once more on the worker.
#include "gui/app.h"  // first: GLFW without its own GL header

#include <algorithm>
#include <cstdio>

#include "render/gl.h"

namespace fmalens::gui {
namespace {

void print_stats(std::vector<double> ms, const char* what) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double x : ms) sum += x;
  const double mean = ms.empty() ? 0 : sum / static_cast<double>(ms.size());
  std::printf("%s: %zu frames, mean %.1f ms (%.1f fps), median %.1f ms, p95 %.1f ms, max %.1f ms\n", what, ms.size(), mean,
              mean > 0 ? 1000 / mean : 0, ms.empty() ? 0 : ms[ms.size() / 2], ms.empty() ? 0 : ms[ms.size() * 95 / 100],
              ms.empty() ? 0 : ms.back());
}

}  // namespace

void App::bench_step() {
  glFinish();  // count the GPU's work in the frame it belongs to
  const double t = glfwGetTime();
  if (last_frame_at_ > 0) frame_ms_.push_back((t - last_frame_at_) * 1000);
  last_frame_at_ = t;
  const int k = static_cast<int>(frame_ms_.size()), N = options_.bench_frames;
  const render::MatrixView v = res_->last_matrix_view;
  const auto slice = [&](int from, int to) {
    return std::vector<double>(frame_ms_.begin() + from, frame_ms_.begin() + std::min<int>(to, static_cast<int>(frame_ms_.size())));
  };
  if (k == 1 || v.cells_per_pixel <= 0) {
    commands_.push_back(SetMatrixView{0, 0, res_->last_fit_cells_per_pixel / 1.5});
  } else if (k <= N) {
    const double step = (k / 40) % 2 ? -1 : 1;  // back and forth, whole pixels
    commands_.push_back(SetMatrixView{v.t0 + 3 * step * v.cells_per_pixel, v.i0 + 2 * step * v.cells_per_pixel, v.cells_per_pixel});
  } else if (k > 2 * N && k <= 3 * N) {
    const float cx = static_cast<float>(res_->last_matrix_w) * 0.5f, cy = static_cast<float>(res_->last_matrix_h) * 0.5f;
    const render::MatrixView z = v.zoomed(k % 2 ? 1.25 : 0.8, cx, cy);
    commands_.push_back(SetMatrixView{z.t0, z.i0, z.cells_per_pixel});
    res_->zoomed_at = t;  // as the mouse wheel does
  }
  if (k == 3 * N + 2) {
    std::printf("matrix view, n=%lld, %dx%d window, %s\n", static_cast<long long>(state_.snapshot->tokens), options_.width,
                options_.height, render::gl_description().c_str());
    print_stats(slice(2, N), "panning 3 px a frame");
    print_stats(slice(N + 2, 2 * N), "holding still");
    print_stats(slice(2 * N + 2, 3 * N + 2), "zooming every frame");
    bench_run_from_ = frame_ms_.size();
    if (options_.synthetic > 0) glfwSetWindowShouldClose(window_, GLFW_TRUE);
    else commands_.push_back(RunNow{});
  } else if (k > 3 * N + 2 && !state_.running) {
    std::vector<double> ms(frame_ms_.begin() + static_cast<std::ptrdiff_t>(bench_run_from_), frame_ms_.end());
    char what[96];
    std::snprintf(what, sizeof(what), "while the model ran (%.0f ms)", state_.snapshot->run_ms);
    print_stats(ms, what);
    glfwSetWindowShouldClose(window_, GLFW_TRUE);
  }
}

}  // namespace fmalens::gui
