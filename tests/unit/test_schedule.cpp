// The learning-rate schedule of text curricula: --switch-warmup ramps the rate up again after
// each length switch.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "fmalens/checkpoint.h"
#include "fmalens/train.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

// The learning rate of each of 8 steps of a 16-then-64-byte curriculum (switch at step 5) at a
// constant rate of 0.01 after a one-step warm-up.
std::vector<double> rates(int64_t switch_warmup) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_curriculum_training(tmp.path, 64, 8);
  o.lr = o.min_lr = 0.01;
  o.warmup = 1;
  o.eval_interval = 1;  // a loss-curve point (with its rate) at every step
  o.switch_warmup = switch_warmup;
  train(o, nullptr);
  std::vector<double> out;
  const auto history = nlohmann::json::parse(read_safetensors(o.out).metadata.at("training"));
  for (const auto& point : history.at("loss_curve")) out.push_back(point.at("lr").get<double>());
  return out;
}

TEST(Schedule, TheRateRampsUpAgainAfterALengthSwitch) {
  const std::vector<double> r = rates(4);
  ASSERT_EQ(r.size(), 8u);
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(r[i], 0.01) << "step " << i + 1;
  EXPECT_DOUBLE_EQ(r[4], 0.0025);
  EXPECT_DOUBLE_EQ(r[5], 0.005);
  EXPECT_DOUBLE_EQ(r[6], 0.0075);
  EXPECT_DOUBLE_EQ(r[7], 0.01);
}

TEST(Schedule, WithoutSwitchWarmupTheRateIgnoresTheSwitch) {
  const std::vector<double> r = rates(0);
  ASSERT_EQ(r.size(), 8u);
  for (double lr : r) EXPECT_DOUBLE_EQ(lr, 0.01);
}

}  // namespace
}  // namespace fmalens
