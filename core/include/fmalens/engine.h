// The background runner of the GUI: one worker thread owns the loaded model and runs it, so
// the UI thread never waits on LibTorch (ARCHITECTURE.md: "model runs only on the engine's
// worker thread"). Torch-free: it uses only the public Model API.
//
// The UI submits jobs and polls each frame. A newer submit supersedes every older job: a
// queued one is dropped, a running one is told to stop at its next progress report, and its
// result is never delivered. cancel() stops the current job and delivers a `cancelled` result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "fmalens/model.h"

namespace fmalens {

// What to run. The checkpoint is (re)loaded on the worker when it is not the one loaded, or
// when the file changed on disk since (a training run rewrites it in place).
struct EngineJob {
  std::string checkpoint;
  std::string tokenizer;  // for text models that are not byte models ("": found as Model::load finds it)
  std::string device = "auto";  // auto | cpu | cuda
  // The inputs: the model runs the one it takes (text models the text, image models the
  // image). Neither: the job only loads the checkpoint (a model and no snapshot come back).
  std::optional<std::string> text;
  std::optional<Image> image;
};

struct EngineResult {
  uint64_t generation = 0;
  bool cancelled = false;
  std::string error;                         // one line; empty on success and on cancel
  std::shared_ptr<const ModelInfo> model;    // the model the job ran on (null if none loaded)
  std::shared_ptr<const Snapshot> snapshot;  // null for load-only jobs, errors and cancels
  double seconds = 0;                        // wall time of the job on the worker

  bool ok() const { return !cancelled && error.empty(); }
};

class Engine {
 public:
  // Progress in [0, 1]; returns false once the job is cancelled or superseded.
  using Progress = std::function<bool(double)>;
  // Does one job on the worker thread. It may throw: Cancelled becomes a cancelled result,
  // any other exception an error whose message is error_line() of the exception.
  using Runner = std::function<EngineResult(const EngineJob&, const Progress&)>;

  // The runner of Engine(): runs jobs with Model, keeping the last checkpoint loaded; it
  // reports progress once per layer and stops (Cancelled) as soon as progress says so.
  static Runner model_runner();

  Engine();                        // Engine(model_runner())
  explicit Engine(Runner runner);  // a stand-in or wrapped runner (tests)
  ~Engine();                       // cancels the running job and joins the worker
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues `job` and returns its generation (1, 2, ...); every older job is superseded.
  uint64_t submit(EngineJob job);
  // Stops the current job (queued or running); poll() then returns it as cancelled.
  void cancel();
  // Whether a job is queued or running.
  bool busy() const;
  // Progress of the current job, [0, 1].
  double progress() const;
  // The result of the newest job once it finished, at most once; nullopt otherwise.
  std::optional<EngineResult> poll();
  // Called on the worker thread each time a result is ready to poll (a window that sleeps
  // until an event wakes itself with it). Set it before submitting.
  void set_result_ready(std::function<void()> callback);

 private:
  struct Impl;  // the worker thread and what it shares with the caller
  std::unique_ptr<Impl> impl_;
};

}  // namespace fmalens
