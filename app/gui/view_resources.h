// What the panels draw from, kept on the main thread: the GL objects (band textures, the
// matrix's accumulation, images, weights) and the data derived from the snapshot for the
// current selection (bands of the layer and head, the query's row and level masses). update()
// rebuilds only what the last state change made stale.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fmalens/head_metrics.h"
#include "fmalens/layout.h"
#include "gui/app_state.h"
#include "gui/view_image.h"
#include "render/band_textures.h"
#include "render/compare_figure.h"
#include "render/matrix_renderer.h"
#include "render/region_figure.h"
#include "render/render_context.h"
#include "render/weights_figure.h"

namespace fmalens::gui {

class ViewResources {
 public:
  ViewResources() = default;  // needs a current GL context (RenderContext compiles shaders lazily)

  void update(const AppState& state);

  render::RenderContext ctx;
  render::BandTextures band_textures;
  render::MatrixRenderer matrix;
  bool matrix_complete = true;  // the matrix picture finished its sampling passes
  double zoomed_at = -1;        // last wheel zoom: while it goes on, the matrix shows a scaled preview
  bool bands_fresh = false;     // new band textures this frame: the matrix resamples next frame,
                                // so that the frame a run arrives in stays short
  render::RegionRenderer regions;
  render::WeightsFigure weights;
  render::CompareFigure compare;
  uint64_t compare_key = 0;          // of the data the compare figure holds
  uint64_t compare_pending_key = 0;  // wanted since compare_pending_at: computed once it holds still
  double compare_pending_at = 0;
  std::string compare_error;
  // The matrix view last drawn and the zoom that fits it (keyboard zoom, benchmark).
  render::MatrixView last_matrix_view;
  double last_fit_cells_per_pixel = 1;
  int last_matrix_w = 1, last_matrix_h = 1;
  // Rows and columns of the matrix on screen, set by the matrix panel each frame it draws.
  int64_t visible_r0 = 0, visible_r1 = -1, visible_c0 = 0, visible_c1 = -1;
  std::array<ViewImage, kViewCount> images;

  // Derived from the snapshot for the selection (empty when there is no FMA snapshot).
  const render::BandData* bands() const { return bands_.empty() ? nullptr : &bands_; }
  const Layout* layout() const { return layout_.get(); }
  const std::string& bands_error() const { return bands_error_; }
  std::vector<float> row;         // implied row of the query
  std::vector<int> row_levels;    // level serving each key of the row
  std::vector<double> mass;       // mass per level of the row
  uint64_t row_version = 0;       // changes with the row (pictures key on it)
  // Every head's statistics of the current run (head_metrics.h), made on first use (the head
  // finder, the distance profile); null for a run without bands. head_stats_ms: what it took.
  const std::vector<HeadStats>* head_stats();
  double head_stats_ms = 0;
  // The error map of the selected layer and head (fma_error_profile): O(n^2 d) work, so made on
  // a worker thread when the view asks; null until it is there (error_progress says how far;
  // error_message why it failed). A new run or selection cancels the job in flight.
  const FmaErrorProfile* error_profile(const std::shared_ptr<const Snapshot>& snapshot, int layer, int head);
  double error_progress() const { return error_job_ ? error_job_->progress.load() : 1.0; }
  std::string error_message;
  double error_ms = 0;
  ~ViewResources();

  // Set by panels while a picture is still refining (the matrix's passes): the app then keeps
  // drawing frames instead of waiting for events.
  bool animating = false;
  double engine_progress = 0;  // of the running job, for the progress bar

 private:
  render::BandData bands_;
  std::unique_ptr<Layout> layout_;
  std::string bands_error_;
  const Snapshot* snapshot_ = nullptr;  // what the derived data was built from
  std::vector<HeadStats> head_stats_;
  bool head_stats_made_ = false;
  struct ErrorJob {
    std::atomic<bool> cancel{false};
    std::atomic<double> progress{0};
    std::future<FmaErrorProfile> result;
    const Snapshot* snapshot = nullptr;
    int layer = 0, head = -1;
    std::chrono::steady_clock::time_point started;
  };
  std::unique_ptr<ErrorJob> error_job_;
  std::optional<FmaErrorProfile> error_;
  const Snapshot* error_snapshot_ = nullptr;
  const Snapshot* asked_snapshot_ = nullptr;
  int asked_layer_ = -1, asked_head_ = -2;
  int layer_ = -1, head_ = -2, weights_level_ = -1, weights_layer_ = -1;
  int64_t query_ = -1;
};

}  // namespace fmalens::gui
