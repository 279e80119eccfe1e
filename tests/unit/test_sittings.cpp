// Trainings in sittings: a sitting that stops early (the callback, a signal in the CLI, or the
// sitting limit) writes its checkpoint and resume state without pretending the schedule ended,
// and --resume continues the same schedule to its end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fmalens/checkpoint.h"
#include "fmalens/train.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

nlohmann::json training_history(const std::string& path) {
  return nlohmann::json::parse(read_safetensors(path).metadata.at("training"));
}

std::string write_corpus(const test::TempDir& tmp) {
  std::string text;
  for (int i = 0; text.size() < 20000; ++i) text += "sitting line " + std::to_string(i % 37) + "\n";
  const std::string path = tmp.path + "/t.txt";
  test::write_file(path, text);
  return path;
}

TEST(Sittings, AStoppedSittingSavesAndResumeFinishesTheSchedule) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_text_training(tmp.path + "/m.safetensors", write_corpus(tmp), 64, 16, 8, 12, 2);
  o.eval_interval = 100;  // no evaluation inside the schedule: the stop itself must save
  int calls = 0;
  const TrainResult first = train(o, [&calls](const TrainProgress&) { return ++calls < 5; });
  EXPECT_TRUE(first.stopped_early);
  EXPECT_EQ(first.steps, 5);
  const auto stopped = training_history(o.out);
  EXPECT_EQ(stopped.at("steps_done"), 5);
  EXPECT_FALSE(stopped.contains("final_val_loss"));  // the schedule did not end
  EXPECT_EQ(training_history(o.out + ".state").at("steps_done"), 5);

  o.resume = true;
  const TrainResult second = train(o, nullptr);
  EXPECT_FALSE(second.stopped_early);
  EXPECT_EQ(second.steps, 12);  // the same 12-step schedule, not 12 more
  const auto finished = training_history(o.out);
  EXPECT_EQ(finished.at("steps_done"), 12);
  EXPECT_TRUE(finished.contains("final_val_loss"));
  // One loss curve across both sittings, its steps increasing.
  int64_t last = 0;
  for (const auto& point : finished.at("loss_curve")) {
    EXPECT_GT(point.at("step").get<int64_t>(), last);
    last = point.at("step").get<int64_t>();
  }
  EXPECT_EQ(last, 12);
}

TEST(Sittings, AResumedSittingReportsThePreviousValidationUntilItMeasuresItsOwn) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_text_training(tmp.path + "/m.safetensors", write_corpus(tmp), 64, 16, 8, 12, 2);
  o.eval_interval = 4;  // validations at steps 4, 8, 12
  int calls = 0;
  const TrainResult first = train(o, [&calls](const TrainProgress&) { return ++calls < 5; });
  ASSERT_TRUE(first.stopped_early);
  ASSERT_GT(first.val_loss, 0);  // measured at step 4
  o.resume = true;
  calls = 0;
  const TrainResult second = train(o, [&calls](const TrainProgress&) { return ++calls < 1; });
  ASSERT_TRUE(second.stopped_early);
  EXPECT_EQ(second.steps, 6);
  EXPECT_DOUBLE_EQ(second.val_loss, first.val_loss);  // not "-1": the schedule's latest validation
}

TEST(Sittings, TheSittingLimitStopsBeforeTheScheduleEnds) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_text_training(tmp.path + "/m.safetensors", write_corpus(tmp), 64, 16, 8, 100000, 2);
  o.sitting_limit_s = 0.5;
  const TrainResult r = train(o, nullptr);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_GT(r.steps, 0);
  EXPECT_LT(r.steps, 100000);
  EXPECT_EQ(training_history(o.out).at("steps_done"), r.steps);
  // Without a limit the same options (a short schedule) run to the end.
  o.sitting_limit_s = 0;
  o.steps = 3;
  o.out = tmp.path + "/n.safetensors";
  EXPECT_FALSE(train(o, nullptr).stopped_early);
}


TEST(Sittings, ATrainingInSittingsIsTheSameTrainingAsOneUninterrupted) {
  test::TempDir tmp;
  // Mixed lengths at random offsets and a length switch: every step draws from the data order.
  TrainOptions o = test::tiny_text_training(tmp.path + "/whole.safetensors", write_corpus(tmp), 64, 16, 8, 12, 2);
  o.seq_schedule = "16:2+64:1@0,64:2@0.5";
  o.position_offsets = true;
  o.switch_warmup = 4;  // the switch at step 6 ramps the rate over steps 6-9: the second stop falls inside
  o.eval_interval = 100;
  train(o, nullptr);

  TrainOptions split = o;
  split.out = tmp.path + "/split.safetensors";
  int calls = 0;
  ASSERT_TRUE(train(split, [&calls](const TrainProgress&) { return ++calls < 5; }).stopped_early);
  split.resume = true;
  calls = 0;
  ASSERT_TRUE(train(split, [&calls](const TrainProgress&) { return ++calls < 3; }).stopped_early);  // to step 8
  ASSERT_FALSE(train(split, nullptr).stopped_early);
  test::expect_same_tensors(o.out, split.out);
  test::expect_same_tensors(o.out + ".state", split.out + ".state");
}

}  // namespace
}  // namespace fmalens
