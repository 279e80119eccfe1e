// The background runner: results, progress, cancel, supersede, errors, shutdown mid-run.
// A stand-in runner replaces the model so that each test is quick and deterministic.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "fmalens/engine.h"

namespace fmalens {
namespace {

using namespace std::chrono_literals;

// Polls until a result arrives or `timeout` passes (the UI does this once per frame).
std::optional<EngineResult> wait_result(Engine& engine, std::chrono::milliseconds timeout = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (auto r = engine.poll()) return r;
    std::this_thread::sleep_for(1ms);
  }
  return std::nullopt;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// A runner that reports progress in small steps until told to finish or stopped.
struct SteppingRunner {
  std::atomic<bool> release{false};
  std::atomic<int> started{0}, stopped{0};

  Engine::Runner runner() {
    return [this](const EngineJob& job, const Engine::Progress& progress) {
      ++started;
      for (int step = 0; !release; ++step) {
        if (!progress(0.25)) {
          ++stopped;
          throw Cancelled();
        }
        std::this_thread::sleep_for(1ms);
      }
      EngineResult r;
      auto snap = std::make_shared<Snapshot>();
      snap->text = job.text.value_or("");
      r.snapshot = snap;
      return r;
    };
  }
};

TEST(Engine, DeliversTheResultOfAJobOnce) {
  Engine engine([](const EngineJob& job, const Engine::Progress& progress) {
    EXPECT_TRUE(progress(1.0));
    EngineResult r;
    auto snap = std::make_shared<Snapshot>();
    snap->text = *job.text;
    r.snapshot = snap;
    return r;
  });
  EngineJob job;
  job.text = "hello";
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t gen = engine.submit(job);
  auto r = wait_result(engine);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->generation, gen);
  ASSERT_TRUE(r->snapshot);
  EXPECT_EQ(r->snapshot->text, "hello");
  // The job's own time: measured (not left at zero) and within what the caller waited.
  EXPECT_GT(r->seconds, 0.0);
  EXPECT_LE(r->seconds, waited);
  EXPECT_FALSE(engine.poll().has_value());
  EXPECT_TRUE(wait_until([&] { return !engine.busy(); }));
}

TEST(Engine, ReportsProgressWhileRunning) {
  SteppingRunner stepping;
  Engine engine(stepping.runner());
  engine.submit({});
  ASSERT_TRUE(wait_until([&] { return engine.progress() == 0.25; }));
  EXPECT_TRUE(engine.busy());
  EXPECT_FALSE(engine.poll().has_value());
  stepping.release = true;
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok());
}

TEST(Engine, CancelStopsTheRunningJobAndSaysSo) {
  SteppingRunner stepping;
  Engine engine(stepping.runner());
  const uint64_t gen = engine.submit({});
  ASSERT_TRUE(wait_until([&] { return stepping.started == 1; }));
  engine.cancel();
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(r->generation, gen);
  EXPECT_FALSE(r->snapshot);
  EXPECT_EQ(stepping.stopped, 1);
  EXPECT_TRUE(wait_until([&] { return !engine.busy(); }));
}

TEST(Engine, ANewerSubmitSupersedesTheRunningOne) {
  SteppingRunner stepping;
  Engine engine(stepping.runner());
  EngineJob first, second;
  first.text = "first";
  second.text = "second";
  engine.submit(first);
  ASSERT_TRUE(wait_until([&] { return stepping.started == 1; }));
  const uint64_t gen = engine.submit(second);
  ASSERT_TRUE(wait_until([&] { return stepping.started == 2; }));
  EXPECT_EQ(stepping.stopped, 1);  // the first job was told to stop
  stepping.release = true;
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->generation, gen);
  ASSERT_TRUE(r->snapshot);
  EXPECT_EQ(r->snapshot->text, "second");
  EXPECT_FALSE(engine.poll().has_value());  // nothing of the first job comes back
}

TEST(Engine, QueuedJobsThatAreSupersededNeverRun) {
  // A runner busy in a part it cannot interrupt (like loading a checkpoint).
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  Engine engine([&](const EngineJob&, const Engine::Progress&) {
    ++started;
    while (!release) std::this_thread::sleep_for(1ms);
    return EngineResult{};
  });
  engine.submit({});
  ASSERT_TRUE(wait_until([&] { return started == 1; }));
  for (int i = 0; i < 20; ++i) engine.submit({});
  release = true;
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->generation, 21u);
  EXPECT_EQ(started, 2);  // the one running, then only the newest
}

// A foreign exception (LibTorch's carry a backtrace) comes back as its first line; an Error,
// whose values are quoted already, whole with any stray control byte escaped (error_line).
TEST(Engine, ErrorsComeBackAsOneLine) {
  Engine engine([](const EngineJob&, const Engine::Progress&) -> EngineResult {
    throw std::runtime_error("model.safetensors: header is not JSON\n  at frame 1\n  at frame 2");
  });
  engine.submit({});
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok());
  EXPECT_FALSE(r->cancelled);
  EXPECT_EQ(r->error, "model.safetensors: header is not JSON");

  Engine quoting([](const EngineJob&, const Engine::Progress&) -> EngineResult {
    throw Error("kind must be text or image, got ca\nusal");
  });
  quoting.submit({});
  r = wait_result(quoting);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error, "kind must be text or image, got ca\\nusal");
}

TEST(Engine, TheEngineKeepsWorkingAfterAnError) {
  std::atomic<int> calls{0};
  Engine engine([&](const EngineJob&, const Engine::Progress&) -> EngineResult {
    if (++calls == 1) throw std::runtime_error("boom");
    return {};
  });
  engine.submit({});
  auto r1 = wait_result(engine);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->error, "boom");
  engine.submit({});
  auto r2 = wait_result(engine);
  ASSERT_TRUE(r2.has_value());
  EXPECT_TRUE(r2->ok());
}

TEST(Engine, DestructorStopsARunningJob) {
  SteppingRunner stepping;
  const auto t0 = std::chrono::steady_clock::now();
  {
    Engine engine(stepping.runner());
    engine.submit({});
    ASSERT_TRUE(wait_until([&] { return stepping.started == 1; }));
  }  // closing the window mid-run
  EXPECT_EQ(stepping.stopped, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(Engine, CancelBeforeTheJobStartsAnswersAtOnce) {
  SteppingRunner stepping;
  Engine engine(stepping.runner());
  engine.submit({});
  ASSERT_TRUE(wait_until([&] { return stepping.started == 1; }));
  engine.submit({});  // queued behind the running one, superseding it
  engine.cancel();
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->cancelled);
  EXPECT_TRUE(wait_until([&] { return !engine.busy(); }));
}

TEST(Engine, TheModelRunnerReportsAMissingCheckpointByName) {
  Engine engine;
  EngineJob job;
  job.checkpoint = "/nonexistent/model.safetensors";
  job.text = "abc";
  engine.submit(job);
  auto r = wait_result(engine, 20000ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok());
  EXPECT_NE(r->error.find("model.safetensors"), std::string::npos) << r->error;
  EXPECT_FALSE(r->model);
}


// The real model runner over hostile files and long runs (issue 7): what the GUI does when a
// user opens a bad checkpoint, cancels, opens another file mid-run, or closes the window.
class EngineWithModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fmalens_engine_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    return p;
  }
  static std::string text_model() { return std::string(FMALENS_ASSETS_DIR) + "/models/text_fma.safetensors"; }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  static EngineJob long_text_job(const std::string& checkpoint) {
    EngineJob job;
    job.checkpoint = checkpoint;
    job.device = "cpu";
    std::string text;
    while (text.size() < 4096) text += "The quick brown fox jumps over the lazy dog. ";
    job.text = text.substr(0, 4096);
    return job;
  }
  std::string dir_;
};

TEST_F(EngineWithModelTest, HostileCheckpointsComeBackAsOneLineErrorsAndTheEngineKeepsWorking) {
  const std::string good = read(text_model());
  ASSERT_GT(good.size(), 1000u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"truncated.safetensors", good.substr(0, good.size() / 2)},
      {"absurd_header.safetensors", std::string("\x00\xe1\xf5\x05\x00\x00\x00\x00{", 9) + good.substr(9, 1000)},
      {"empty.safetensors", ""},
      {"random.pt", std::string(4096, '\x7f')},
  };
  Engine engine;
  for (const auto& [name, bytes] : bad) {
    SCOPED_TRACE(name);
    EngineJob job;
    job.checkpoint = write(name, bytes);
    job.text = "abc";
    engine.submit(job);
    auto r = wait_result(engine, 30000ms);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->ok());
    EXPECT_FALSE(r->cancelled);
    EXPECT_NE(r->error.find(job.checkpoint), std::string::npos) << r->error;
    EXPECT_EQ(r->error.find('\n'), std::string::npos) << r->error;
  }
  EngineJob job;
  job.checkpoint = text_model();
  job.device = "cpu";
  job.text = "hello";
  engine.submit(job);
  auto r = wait_result(engine, 60000ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok()) << r->error;
  ASSERT_TRUE(r->snapshot);
}

// The real model runner, slowed as if each layer took 3 s: each of its progress reports (one
// before the run, one per layer and one at the end: 6 for the text model) waits 3 s in 50 ms steps that pass the
// engine's "stop" on at once. A model that goes on after being told to stop pays the full 3 s
// for every further layer. Uncancelled, a run takes 18 s; only a model that honours cancel
// answers within a second (the engine alone cannot hide one that does not).
Engine::Runner slowed_model_runner(std::atomic<int>* reports) {
  Engine::Runner inner = Engine::model_runner();
  return [inner, reports](const EngineJob& job, const Engine::Progress& progress) {
    bool told_to_stop = false;
    return inner(job, [&](double x) {
      ++*reports;
      if (told_to_stop) {
        std::this_thread::sleep_for(3s);
        return false;
      }
      for (int step = 0; step < 60; ++step) {
        if (!progress(x)) {
          told_to_stop = true;
          return false;
        }
        std::this_thread::sleep_for(50ms);
      }
      return progress(x);
    });
  };
}

TEST_F(EngineWithModelTest, CancelALongRunAnswersPromptly) {
  std::atomic<int> reports{0};
  Engine engine(slowed_model_runner(&reports));
  EngineJob load;
  load.checkpoint = text_model();
  engine.submit(load);  // load first, so that the run below is all compute
  ASSERT_TRUE(wait_result(engine, 60000ms).has_value());
  reports = 0;
  engine.submit(long_text_job(text_model()));
  ASSERT_TRUE(wait_until([&] { return reports.load() >= 2; }, 30000ms));  // inside the model's layers
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  engine.cancel();
  auto r = wait_result(engine, 60000ms);  // a deadlock guard only
  const auto answered = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->cancelled) << (r->ok() ? "the run finished: cancel was ignored" : r->error);
  EXPECT_FALSE(r->snapshot);
  EXPECT_LT(answered, 1s);
  EXPECT_LT(reports.load(), 6);  // it stopped inside the run
  EXPECT_TRUE(wait_until([&] { return !engine.busy(); }));
}

TEST_F(EngineWithModelTest, OpeningAnotherFileMidRunDeliversOnlyTheNewest) {
  const std::string other = write("copy.safetensors", read(text_model()));
  Engine engine;
  engine.submit(long_text_job(text_model()));
  ASSERT_TRUE(wait_until([&] { return engine.busy(); }));
  EngineJob second;
  second.checkpoint = other;
  second.device = "cpu";
  second.text = "hello again";
  const uint64_t g = engine.submit(second);
  auto r = wait_result(engine, 120000ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->generation, g);
  EXPECT_TRUE(r->ok()) << r->error;
  ASSERT_TRUE(r->model);
  EXPECT_EQ(r->model->path, other);
  ASSERT_TRUE(r->snapshot);
  EXPECT_EQ(r->snapshot->tokens, static_cast<int64_t>(second.text->size()));
  EXPECT_FALSE(engine.poll().has_value());  // nothing of the first run comes back
}

TEST_F(EngineWithModelTest, ClosingTheWindowMidRunExitsCleanly) {
  std::atomic<int> reports{0};
  std::chrono::steady_clock::time_point t0;
  {
    Engine engine(slowed_model_runner(&reports));
    engine.submit(long_text_job(text_model()));
    ASSERT_TRUE(wait_until([&] { return reports.load() >= 2; }, 30000ms));  // an 18 s run is in its layers
    t0 = std::chrono::steady_clock::now();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // the destructor cancelled it
  EXPECT_LT(reports.load(), 6);
}

}  // namespace
}  // namespace fmalens
