// The GUI's background runner (see engine.h). Torch-free: Model hides LibTorch.
#include "fmalens/engine.h"
#include "fmalens/quote.h"
#include "threads.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <set>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace fmalens {
namespace {

// The model kept loaded between jobs, only ever touched by the worker thread.
struct LoadedModel {
  std::shared_ptr<Model> model;
  std::shared_ptr<const ModelInfo> info;
  std::string path, tokenizer;
  std::filesystem::file_time_type mtime{};
};

std::filesystem::file_time_type modified(const std::string& path) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(path, ec);
  return ec ? std::filesystem::file_time_type{} : t;
}

}  // namespace

Engine::Runner Engine::model_runner() {
  auto loaded = std::make_shared<LoadedModel>();
  return [loaded](const EngineJob& job, const Engine::Progress& progress) {
    EngineResult r;
    const auto mtime = modified(job.checkpoint);
    if (!loaded->model || loaded->path != job.checkpoint || loaded->mtime != mtime || loaded->tokenizer != job.tokenizer) {
      // A failed load throws before anything is replaced: the previous model stays loaded.
      auto model = Model::load(job.checkpoint, job.tokenizer);
      loaded->tokenizer = job.tokenizer;
      loaded->model = model;
      loaded->info = std::make_shared<const ModelInfo>(model->info());
      loaded->path = job.checkpoint;
      loaded->mtime = mtime;
    }
    r.model = loaded->info;
    if (!progress(0.0)) throw Cancelled();
    RunOptions options;
    options.device = job.device;
    options.progress = progress;
    options.mask_underscores = true;  // the window's way to mask for a masked LM: '_' runs
    // A job may carry both inputs (the GUI keeps a text and an image): run the one the model takes.
    const bool image_model = loaded->model->config().kind == ModelKind::image;
    if (image_model && job.image) r.snapshot = std::make_shared<const Snapshot>(loaded->model->run_image(*job.image, options));
    else if (!image_model && job.text) r.snapshot = std::make_shared<const Snapshot>(loaded->model->run_text(*job.text, options));
    else if (job.text || job.image)
      throw Error(image_model ? "this is an image model: open an image to run it" : "this is a text model: type or open text to run it");
    return r;
  };
}

// The worker and what it shares with the UI thread (all under `mutex_`).
struct Engine::Impl {
  explicit Impl(Runner runner) : runner_(std::move(runner)), worker_([this] { work(); }) {}
  ~Impl();
  uint64_t submit(EngineJob job);
  void cancel();
  bool busy() const;
  double progress() const;
  std::optional<EngineResult> poll();

  void work();
  bool keep_going(uint64_t generation) const;  // called under no lock, from the worker
  void lower_priority_once();                  // worker only

  static constexpr int kBackgroundNice = 5;

  Runner runner_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<EngineJob> pending_;
  uint64_t latest_ = 0;           // generation of the newest submit
  uint64_t running_ = 0;          // generation on the worker now (0: idle)
  uint64_t cancelled_upto_ = 0;   // jobs with generation <= this are cancelled
  double progress_ = 0;
  bool stop_ = false;
  std::optional<EngineResult> result_;
  std::function<void()> result_ready_;
  std::set<long> threads_before_;  // worker only: the process's threads before it ran a job
  bool lowered_ = false;
  std::thread worker_;            // last member: starts after everything above exists
};

Engine::Engine() : Engine(model_runner()) {}
Engine::Engine(Runner runner) : impl_(std::make_unique<Impl>(std::move(runner))) {}
Engine::~Engine() = default;
uint64_t Engine::submit(EngineJob job) { return impl_->submit(std::move(job)); }
void Engine::cancel() { impl_->cancel(); }
bool Engine::busy() const { return impl_->busy(); }
double Engine::progress() const { return impl_->progress(); }
std::optional<EngineResult> Engine::poll() { return impl_->poll(); }
void Engine::set_result_ready(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  impl_->result_ready_ = std::move(callback);
}

Engine::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    pending_.reset();
  }
  wake_.notify_all();
  worker_.join();
}

uint64_t Engine::Impl::submit(EngineJob job) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation = ++latest_;
    pending_ = std::move(job);
    result_.reset();  // an older result is superseded too
    progress_ = 0;
  }
  wake_.notify_all();
  return generation;
}

void Engine::Impl::cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_) {
    // Never started: answer at once.
    pending_.reset();
    EngineResult r;
    r.generation = latest_;
    r.cancelled = true;
    result_ = std::move(r);
  }
  cancelled_upto_ = latest_;
}

bool Engine::Impl::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.has_value() || running_ != 0;
}

double Engine::Impl::progress() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return progress_;
}

std::optional<EngineResult> Engine::Impl::poll() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<EngineResult> out = std::move(result_);
  result_.reset();
  return out;
}

bool Engine::Impl::keep_going(uint64_t generation) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !stop_ && generation == latest_ && generation > cancelled_upto_;
}

#ifdef __linux__
namespace {

std::set<long> thread_ids() {
  std::set<long> ids;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec))
    ids.insert(std::atol(it->path().filename().c_str()));
  return ids;
}

}  // namespace
#endif

// Runs after every job. The first job (the model the window opens on) runs at normal priority,
// so that attention shows up fast; afterwards this thread and the compute threads it started
// (LibTorch's pool, created during the first run) take a lower priority, so that the UI thread
// keeps its frames short while a model re-runs on a busy machine. Raising the nice value needs
// no privilege; threads started later inherit it.
void Engine::Impl::lower_priority_once() {
#ifdef __linux__
  if (lowered_) return;
  lowered_ = true;
  for (long id : thread_ids())
    if (!threads_before_.count(id)) setpriority(PRIO_PROCESS, static_cast<id_t>(id), kBackgroundNice);
#endif
}

void Engine::Impl::work() {
#ifdef __linux__
  threads_before_ = thread_ids();
  threads_before_.erase(static_cast<long>(syscall(SYS_gettid)));
#endif
  for (;;) {
    EngineJob job;
    uint64_t generation;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || pending_.has_value(); });
      if (stop_) return;
      job = std::move(*pending_);
      pending_.reset();
      generation = running_ = latest_;
      progress_ = 0;
    }
    const Progress progress = [this, generation](double x) {
      if (!keep_going(generation)) return false;
      std::lock_guard<std::mutex> lock(mutex_);
      progress_ = x < 0 ? 0 : (x > 1 ? 1 : x);
      return true;
    };
    const auto t0 = std::chrono::steady_clock::now();
    EngineResult r;
    try {
      r = runner_(job, progress);
      if (!keep_going(generation)) {  // finished, but cancelled meanwhile: the user asked to drop it
        r = EngineResult{};
        r.cancelled = true;
      }
    } catch (const Cancelled&) {
      r = EngineResult{};
      r.cancelled = true;
    } catch (const std::exception& e) {
      r = EngineResult{};
      r.error = error_line(e);
      if (r.error.empty()) r.error = "the model run failed";
    }
    r.generation = generation;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    release_free_memory();  // the window idles now: the run's scratch memory goes back
    lower_priority_once();
    std::function<void()> ready;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = 0;
      // Superseded: a newer job is queued or was cancelled-and-replaced; drop this result.
      if (generation == latest_ && !stop_) {
        result_ = std::move(r);
        ready = result_ready_;
      }
    }
    if (ready) ready();
  }
}

}  // namespace fmalens
