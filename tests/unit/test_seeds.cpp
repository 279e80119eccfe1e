// --seed and --data-seed: the initialisation and the data order come from separate seeds when
// asked, so that the spread of a recipe's seeds can be split between the two.
#include <gtest/gtest.h>

#include <string>

#include "fmalens/checkpoint.h"
#include "fmalens/train.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

struct SeededRun {
  double first_loss = 0;  // the first step's loss: what the first batch costs the initial weights
  TensorMap weights;      // at lr 0 the weights stay the initialisation
};

class Seeds : public ::testing::Test {
 protected:
  void SetUp() override {
    // Lines that differ everywhere, so that two draws of windows differ in loss.
    std::string text;
    for (int i = 0; text.size() < 20000; ++i) text += "line " + std::to_string((i * 7919) % 1009) + (i % 3 ? " of text\n" : ": {x}\n");
    corpus_ = tmp_.path + "/t.txt";
    test::write_file(corpus_, text);
  }

  SeededRun run(uint64_t seed, int64_t data_seed) {
    const std::string out = tmp_.path + "/m" + std::to_string(++runs_) + ".safetensors";
    TrainOptions o = test::tiny_text_training(out, corpus_, 64, 16, 8, 2, 2);
    o.lr = 0;  // weights never move: the checkpoint holds the initialisation
    o.min_lr = 0;
    o.seed = seed;
    o.data_seed = data_seed;
    SeededRun r;
    bool first = true;
    train(o, [&](const TrainProgress& p) {
      if (first) r.first_loss = p.loss;
      first = false;
      return true;
    });
    r.weights = read_safetensors(out).tensors;
    return r;
  }

  static bool same_weights(const TensorMap& a, const TensorMap& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [name, t] : a) {
      auto it = b.find(name);
      if (it == b.end() || it->second.bytes != t.bytes) return false;
    }
    return true;
  }

  test::TempDir tmp_;
  std::string corpus_;
  int runs_ = 0;
};

TEST_F(Seeds, ADataSeedEqualToTheSeedChangesNothing) {
  const SeededRun a = run(1, -1), b = run(1, 1);
  EXPECT_EQ(a.first_loss, b.first_loss);
  EXPECT_TRUE(same_weights(a.weights, b.weights));
}

TEST_F(Seeds, TheDataSeedChangesTheBatchesAndNotTheInitialisation) {
  const SeededRun a = run(1, 1), other_data = run(1, 2);
  EXPECT_TRUE(same_weights(a.weights, other_data.weights));
  EXPECT_NE(a.first_loss, other_data.first_loss);
}

TEST_F(Seeds, TheSeedChangesTheInitialisation) {
  const SeededRun a = run(1, 1), other_init = run(2, 1);
  EXPECT_FALSE(same_weights(a.weights, other_init.weights));
  EXPECT_NE(a.first_loss, other_init.first_loss);
}

}  // namespace
}  // namespace fmalens
