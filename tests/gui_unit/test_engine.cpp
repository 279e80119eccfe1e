// The background runner: results, progress, cancel, supersede, errors, shutdown mid-run.
// A stand-in runner replaces the model so that each test is quick and deterministic.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
  const uint64_t gen = engine.submit(job);
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->generation, gen);
  ASSERT_TRUE(r->snapshot);
  EXPECT_EQ(r->snapshot->text, "hello");
  EXPECT_GE(r->seconds, 0.0);
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

TEST(Engine, ErrorsComeBackAsOneLine) {
  Engine engine([](const EngineJob&, const Engine::Progress&) -> EngineResult {
    throw Error("model.safetensors: header is not JSON\n  at frame 1\n  at frame 2");
  });
  engine.submit({});
  auto r = wait_result(engine);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok());
  EXPECT_FALSE(r->cancelled);
  EXPECT_EQ(r->error, "model.safetensors: header is not JSON");
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

}  // namespace
}  // namespace fmalens
