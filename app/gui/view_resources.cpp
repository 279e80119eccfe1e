#include "gui/view_resources.h"

#include <chrono>

#include "render/band_data.h"

namespace fmalens::gui {

void ViewResources::update(const AppState& s) {
  bands_fresh = false;
  const Snapshot* snap = s.snapshot.get();
  const bool new_snapshot = snap != snapshot_;
  if (new_snapshot) {
    snapshot_ = snap;
    layer_ = -1;
    weights_layer_ = -1;
    query_ = -1;
    compare_key = 0;
    layout_.reset();
    head_stats_.clear();
    head_stats_made_ = false;
    if (snap && snap->config.kind == ModelKind::image && !snap->image.empty()) regions.set_image(snap->image);
    if (snap && !snap->layers.empty() && !snap->layers[0].bands.empty()) layout_ = std::make_unique<Layout>(snap->attention);
  }
  if (!snap) {
    bands_ = {};
    band_textures.clear();
    return;
  }
  if (s.layer != layer_ || s.head != head_) {
    layer_ = s.layer;
    head_ = s.head;
    query_ = -1;
    try {
      bands_ = render::make_band_data(*snap, s.layer, s.head);
      band_textures.upload(bands_);
      bands_error_.clear();
      bands_fresh = true;
    } catch (const std::exception& e) {
      bands_ = {};
      band_textures.clear();
      bands_error_ = e.what();
    }
  }
  if (s.query != query_) {
    query_ = s.query;
    ++row_version;
    row.clear();
    row_levels.clear();
    mass.clear();
    if (!bands_.empty() && layout_ && s.query >= 0 && s.query < snap->tokens) {
      render::implied_row(bands_, *layout_, s.query, &row, &row_levels);
      mass = render::row_level_mass(*snap, s.layer, s.head, s.query);
    } else if (render::has_qk_rows(*snap) && s.query >= 0 && s.query < snap->tokens) {
      try {  // dense and elu_linear: the row from the run's queries and keys, O(n d)
        render::qk_attention_row(*snap, s.layer, s.head, s.query, &row, &row_levels);
      } catch (const std::exception&) {
        row.clear();
        row_levels.clear();
      }
    }
  }
  if ((s.weights_level != weights_level_ || s.layer != weights_layer_) && static_cast<size_t>(s.layer) < snap->downsampling.size()) {
    weights_level_ = s.weights_level;
    weights_layer_ = s.layer;
    const auto& levels = snap->downsampling[static_cast<size_t>(s.layer)];
    if (s.weights_level >= 1 && static_cast<size_t>(s.weights_level) <= levels.size())
      weights.set(levels[static_cast<size_t>(s.weights_level - 1)], s.weights_level);
  }
}

ViewResources::~ViewResources() {
  if (error_job_) error_job_->cancel = true;  // the future's destructor waits for the worker to see it
}

const FmaErrorProfile* ViewResources::error_profile(const std::shared_ptr<const Snapshot>& snapshot, int layer, int head) {
  const Snapshot* snap = snapshot.get();
  if (snap != asked_snapshot_ || layer != asked_layer_ || head != asked_head_) {  // a new question: an old failure no longer applies
    error_message.clear();
    asked_snapshot_ = snap;
    asked_layer_ = layer;
    asked_head_ = head;
  }
  const bool wanted = error_ && error_snapshot_ == snap && error_->layer == layer && error_->head == head;
  if (wanted) return &*error_;
  if (error_job_ && (error_job_->snapshot != snap || error_job_->layer != layer || error_job_->head != head)) {
    error_job_->cancel = true;  // stale: its result is dropped when it finishes
  }
  if (error_job_ && error_job_->result.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    const bool current = !error_job_->cancel;
    try {
      FmaErrorProfile profile = error_job_->result.get();
      if (current) {
        error_ = std::move(profile);
        error_snapshot_ = error_job_->snapshot;
        error_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - error_job_->started).count();
        error_message.clear();
      }
    } catch (const Cancelled&) {
    } catch (const std::exception& e) {
      if (current) error_message = e.what();
    }
    error_job_.reset();
    if (current) return error_ && error_snapshot_ == snap ? &*error_ : nullptr;
  }
  if (!error_job_ && snap && error_message.empty()) {
    auto job = std::make_unique<ErrorJob>();
    job->snapshot = snap;
    job->layer = layer;
    job->head = head;
    job->started = std::chrono::steady_clock::now();
    ErrorJob* raw = job.get();
    job->result = std::async(std::launch::async, [snapshot, layer, head, raw] {
      return fma_error_profile(*snapshot, layer, head, [raw](double p) {
        raw->progress = p;
        return !raw->cancel.load();
      });
    });
    error_job_ = std::move(job);
  }
  animating = true;  // keep drawing frames until the result is in
  return nullptr;
}

const std::vector<HeadStats>* ViewResources::head_stats() {
  if (!snapshot_ || snapshot_->layers.empty() || snapshot_->layers[0].bands.empty()) return nullptr;
  if (!head_stats_made_) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      head_stats_ = fmalens::head_stats(*snapshot_);
    } catch (const std::exception&) {
      head_stats_.clear();
    }
    head_stats_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    head_stats_made_ = true;
  }
  return head_stats_.empty() ? nullptr : &head_stats_;
}

}  // namespace fmalens::gui
