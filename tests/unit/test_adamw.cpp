// The optimizer's per-parameter step counts: a parameter that joins training late (a coarse
// level first reached when a length curriculum switches to longer windows) starts as Adam starts.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "fmalens/checkpoint.h"
#include "fmalens/train.h"
#include "test_util.h"
#include "model/model_io.h"
#include "train/adamw.h"
#include "train_util.h"

namespace fmalens {
namespace {

TEST(AdamW, AParameterFirstUsedLateTakesAdamsFirstStep) {
  auto early = torch::zeros({4}), late = torch::zeros({4});
  early.set_requires_grad(true);
  late.set_requires_grad(true);
  AdamW opt({{"early", early}, {"late", late}}, 0.9, 0.999, 0.0);
  const double lr = 0.01;
  for (int k = 0; k < 500; ++k) {  // only `early` takes part
    early.mutable_grad() = torch::full({4}, 0.5);
    opt.step(lr);
  }
  EXPECT_EQ(opt.steps_of(0), 500);
  EXPECT_EQ(opt.steps_of(1), 0);
  EXPECT_EQ(late.abs().max().item<float>(), 0.0f);
  // Adam's first step moves each element by lr against the sign of its gradient, whatever the
  // gradient's size; with the global count (500) it moved by 0.1 / sqrt(0.001) = 3.16 lr.
  late.mutable_grad() = torch::tensor({2.0f, -0.001f, 30.0f, -4.0f});
  opt.step(lr);
  EXPECT_EQ(opt.steps_of(1), 1);
  const auto moved = late.detach();
  const float expected[4] = {-0.01f, 0.01f, -0.01f, 0.01f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(moved[i].item<float>(), expected[i], 1e-5) << "element " << i;
}

TEST(AdamW, StepCountsSurviveTheResumeStateAndOldStatesUseTheGlobalStep) {
  auto a = torch::ones({3}), b = torch::ones({2});
  AdamW opt({{"a", a}, {"b", b}}, 0.9, 0.999, 0.0);
  for (int k = 0; k < 7; ++k) {
    a.mutable_grad() = torch::ones({3});
    if (k >= 4) b.mutable_grad() = torch::ones({2});
    opt.step(0.001);
  }
  ASSERT_EQ(opt.steps_of(0), 7);
  ASSERT_EQ(opt.steps_of(1), 3);
  TensorMap state = opt.state();

  AdamW resumed({{"a", torch::ones({3})}, {"b", torch::ones({2})}}, 0.9, 0.999, 0.0);
  resumed.load(state, 7, "run.state");
  EXPECT_EQ(resumed.steps_of(0), 7);
  EXPECT_EQ(resumed.steps_of(1), 3);

  state.erase("optim.t.a");
  state.erase("optim.t.b");
  AdamW old({{"a", torch::ones({3})}, {"b", torch::ones({2})}}, 0.9, 0.999, 0.0);
  old.load(state, 7, "run.state");
  EXPECT_EQ(old.steps_of(0), 7);
  EXPECT_EQ(old.steps_of(1), 7);

  TensorMap bad = opt.state();
  bad["optim.t.b"] = bad["optim.t.a"];
  AdamW rejects({{"a", torch::ones({3})}, {"b", torch::ones({2})}}, 0.9, 0.999, 0.0);
  try {
    rejects.load(bad, 5, "run.state");  // 7 steps of `b` in a training at step 5
    FAIL() << "a count beyond the training's step was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.state"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step count"), std::string::npos) << e.what();
  }
}

// In a real curriculum the widest level's summaries take no part in the short windows: their
// count is the steps at full length, the finest level's every step.
TEST(AdamW, InACurriculumTheWidestLevelCountsOnlyTheLongSteps) {
  test::TempDir tmp;
  // Context 64, m 4: coarse levels of widths 4, 8 and 16; 16-byte windows reach only the first.
  TrainOptions o = test::tiny_curriculum_training(tmp.path, 64, 4);
  train(o, nullptr);
  const auto state = read_safetensors(o.out + ".state").tensors;
  int checked_first = 0, checked_widest = 0;
  for (const auto& [name, data] : state) {
    if (name.rfind("optim.t.", 0) != 0) continue;
    const double t = from_tensor_data(data).item<double>();
    if (name.find("conv_k.0.weight") != std::string::npos) {
      EXPECT_EQ(t, 8) << name;
      ++checked_first;
    }
    if (name.find("conv_k.2.weight") != std::string::npos) {
      EXPECT_EQ(t, 4) << name;
      ++checked_widest;
    }
  }
  EXPECT_GT(checked_first, 0);
  EXPECT_GT(checked_widest, 0);
}

// A phase that mixes lengths ("16:4+64:1") trains the widest level in every step.
TEST(AdamW, AMixedPhaseTrainsTheWidestLevelInEveryStep) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_curriculum_training(tmp.path, 64, 4);
  o.seq_schedule = "16:3+64:1@0,64:2@0.5";
  const TrainResult r = train(o, nullptr);
  EXPECT_TRUE(std::isfinite(r.val_loss));
  const auto state = read_safetensors(o.out + ".state").tensors;
  int checked = 0;
  for (const auto& [name, data] : state)
    if (name.rfind("optim.t.", 0) == 0 && name.find("conv_v.2.weight") != std::string::npos) {
      EXPECT_EQ(from_tensor_data(data).item<double>(), 8) << name;
      ++checked;
    }
  EXPECT_GT(checked, 0);
  // Two steps at the lengths of each phase: the curve reports the longest part's length.
  const auto history = nlohmann::json::parse(read_safetensors(o.out).metadata.at("training"));
  EXPECT_EQ(history.at("loss_curve").back().at("seq_len").get<int64_t>(), 64);
}

TEST(AdamW, AMixedScheduleIsCheckedPartByPart) {
  test::TempDir tmp;
  for (const std::string bad : {"16:3+@0", "16:3+128:1@0", "16:3+0:1@0", "16x:3@0", "+@0"}) {
    TrainOptions o = test::tiny_curriculum_training(tmp.path, 64, 4);
    o.seq_schedule = bad;
    try {
      train(o, nullptr);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("seq schedule"), std::string::npos) << bad << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace fmalens
