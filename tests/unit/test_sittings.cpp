// Trainings in sittings: a sitting that stops early (the callback, a signal in the CLI, or the
// sitting limit) writes its checkpoint and resume state without pretending the schedule ended,
// and --resume continues the same schedule to its end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

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


// The state file lost (a new machine) but the checkpoint kept: --resume goes on with the same
// schedule from the checkpoint's step rather than starting afresh over it.
TEST(Sittings, ResumeWithoutTheStateContinuesFromTheCheckpoint) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_text_training(tmp.path + "/m.safetensors", write_corpus(tmp), 64, 16, 8, 12, 2);
  o.eval_interval = 4;
  int calls = 0;
  ASSERT_TRUE(train(o, [&calls](const TrainProgress&) { return ++calls < 6; }).stopped_early);
  ASSERT_TRUE(std::filesystem::remove(o.out + ".state"));
  const auto stopped = training_history(o.out);
  ASSERT_EQ(stopped.at("steps_done"), 6);

  o.resume = true;
  int second_calls = 0;
  const TrainResult second = train(o, [&second_calls](const TrainProgress&) { return ++second_calls > 0; });
  EXPECT_FALSE(second.stopped_early);
  EXPECT_EQ(second.steps, 12);  // the same 12-step schedule, from step 6
  EXPECT_EQ(second_calls, 6);   // six steps run in this sitting, not twelve afresh
  const auto finished = training_history(o.out);
  EXPECT_EQ(finished.at("steps_done"), 12);
  EXPECT_GT(finished.at("wall_s").get<double>(), stopped.at("wall_s").get<double>());
  // One loss curve: the first sitting's points, then the second's, steps increasing to 12.
  const auto& curve = finished.at("loss_curve");
  ASSERT_GE(curve.size(), stopped.at("loss_curve").size());
  EXPECT_EQ(curve[0], stopped.at("loss_curve")[0]);
  int64_t last = 0;
  for (const auto& point : curve) {
    EXPECT_GT(point.at("step").get<int64_t>(), last);
    last = point.at("step").get<int64_t>();
  }
  EXPECT_EQ(last, 12);
  EXPECT_TRUE(std::filesystem::exists(o.out + ".state"));  // written again for the next sitting
}

// A damaged history (a hand-edited state, a checkpoint from elsewhere) is refused with the file
// and the field named, before any step, for --resume and for --init alike.
TEST(Sittings, ADamagedTrainingHistoryIsRefusedWithTheFileAndField) {
  test::TempDir tmp;
  TrainOptions o = test::tiny_text_training(tmp.path + "/m.safetensors", write_corpus(tmp), 64, 16, 8, 12, 2);
  o.eval_interval = 100;
  int calls = 0;
  ASSERT_TRUE(train(o, [&calls](const TrainProgress&) { return ++calls < 3; }).stopped_early);
  const std::string state = o.out + ".state";
  const SafeTensorsFile good = read_safetensors(state);
  auto damage = [&](const std::string& path, const std::string& field, const nlohmann::json& value) {
    SafeTensorsFile file = good;
    nlohmann::json h = nlohmann::json::parse(file.metadata.at("training"));
    h[field] = value;
    file.metadata["training"] = h.dump();
    write_safetensors(path, file);
  };
  auto expect_refused = [&](const TrainOptions& options, const std::string& path, const std::string& field) {
    try {
      train(options, nullptr);
      ADD_FAILURE() << "a history with a bad '" << field << "' was accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find("'" + field + "'"), std::string::npos) << message;
    }
  };
  TrainOptions resumed = o;
  resumed.resume = true;
  damage(state, "phase_index", "two");
  expect_refused(resumed, state, "phase_index");
  damage(state, "steps_done", -3);
  expect_refused(resumed, state, "steps_done");
  damage(state, "loss_curve", nlohmann::json::array({{{"step", 1}, {"val", "low"}}}));
  expect_refused(resumed, state, "loss_curve");

  const std::string donor = tmp.path + "/donor.safetensors";
  damage(donor, "wall_s", "an hour");
  TrainOptions warm = o;
  warm.out = tmp.path + "/warm.safetensors";
  warm.init = donor;
  expect_refused(warm, donor, "wall_s");
  EXPECT_FALSE(std::filesystem::exists(warm.out));  // refused before anything is written

  // The undamaged state still resumes.
  write_safetensors(state, good);
  EXPECT_FALSE(train(resumed, nullptr).stopped_early);
}

}  // namespace
}  // namespace fmalens
