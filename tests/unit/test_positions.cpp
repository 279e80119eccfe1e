// Text models without a position table (--positions none): nothing of size block_size in the
// model, the config says so and round-trips, and the output no longer depends on where a window
// sits in the context; models with learned positions are as before.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fmalens/config.h"
#include "fmalens/model.h"
#include "fmalens/train.h"
#include "model/network.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

ModelConfig small_text(bool learned) {
  ModelConfig c = test::tiny_text_config(256, 32, 16);
  c.learned_positions = learned;
  return c;
}

TEST(Positions, NoneHasNoTableAndIgnoresWhereAWindowSits) {
  const ModelConfig none = small_text(false), learned = small_text(true);
  EXPECT_NE(to_json(none).find("\"positions\":\"none\""), std::string::npos);
  EXPECT_EQ(to_json(learned).find("positions"), std::string::npos);  // older readers see the same config
  EXPECT_FALSE(model_config_from_json(to_json(none)).learned_positions);
  EXPECT_TRUE(model_config_from_json(to_json(learned)).learned_positions);
  EXPECT_THROW(model_config_from_json(std::string(to_json(learned)).insert(1, "\"positions\":\"rotary\",")), ConfigError);

  torch::manual_seed(1);
  GPT without(none), with(learned);
  for (const auto& p : without->named_parameters()) EXPECT_EQ(p.key().find("wpe"), std::string::npos) << p.key();
  bool has_table = false;
  for (const auto& p : with->named_parameters()) has_table = has_table || p.key() == "transformer.wpe.weight";
  EXPECT_TRUE(has_table);
  torch::NoGradGuard no_grad;
  const auto idx = torch::randint(0, 256, {1, 64}, torch::kLong);
  EXPECT_TRUE(torch::allclose(without->forward(idx, nullptr, nullptr, 0), without->forward(idx, nullptr, nullptr, 128)));
  EXPECT_FALSE(torch::allclose(with->forward(idx, nullptr, nullptr, 0), with->forward(idx, nullptr, nullptr, 128)));
  EXPECT_THROW(without->forward(idx, nullptr, nullptr, 200), c10::Error);  // still within the context
}

// --init with a longer --block-size: the model grows to the new context and keeps what fits
// (before, the checkpoint's context silently stayed).
TEST(Positions, AWarmStartGrowsTheContextAndKeepsWhatFits) {
  test::TempDir tmp;
  std::string text;
  for (int i = 0; text.size() < 20000; ++i) text += "warm start line " + std::to_string(i % 31) + "\n";
  test::write_file(tmp.path + "/t.txt", text);
  for (bool learned : {true, false}) {
    TrainOptions o = test::tiny_text_training(tmp.path + "/short.safetensors", tmp.path + "/t.txt", 256, 32, 16, 2, 2);
    o.model.learned_positions = learned;
    o.model.attention.downsampling = Downsampling::nested;
    train(o, nullptr);
    TrainOptions longer = test::tiny_text_training(tmp.path + "/long.safetensors", tmp.path + "/t.txt", 256, 32, 16, 2, 2);
    longer.init = tmp.path + "/short.safetensors";
    longer.init_block_size = 1024;
    train(longer, nullptr);
    const auto before = Model::load(tmp.path + "/short.safetensors"), after = Model::load(tmp.path + "/long.safetensors");
    EXPECT_EQ(after->config().block_size, 1024);
    EXPECT_EQ(after->config().learned_positions, learned);
    // Two more coarse levels, each with the small 2p -> p maps of nested.
    EXPECT_EQ(after->info().parameters - before->info().parameters,
              (learned ? (1024 - 256) * 32 : 0) + 2 * 1 * 2 * (2 * 16 * 4 + 2 * 16));
  }
}

// The shipped long model (issue 22): nothing in it grows with its 65,536-byte context, and it
// is a trained model, not a fresh one (a fresh one scores about 8 bits per byte): on the first
// 8 KiB of the bundled sample of C++ sources (not its training data) it scores under 5, and
// the same at 16,384 bytes of context as at 4,096 (no position table to run out of).
TEST(Positions, TheShippedLongModelIsTrainedAndHasNothingOfContextSize) {
  const std::string path = FMALENS_ASSETS_DIR "/models/long_fma.safetensors";
  const auto model = Model::load(path);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.block_size, 65536);
  EXPECT_FALSE(c.learned_positions);
  EXPECT_EQ(c.attention.downsampling, Downsampling::nested);
  EXPECT_LT(model->info().parameters, 1000000);
  test::TempDir tmp;
  const std::string text = test::read_file(FMALENS_ASSETS_DIR "/samples/long_sources.txt").substr(0, 8192);
  ASSERT_EQ(text.size(), 8192u);
  test::write_file(tmp.path + "/sample.txt", text);
  const EvalResult at4k = evaluate(path, tmp.path + "/sample.txt", 0, "cpu", nullptr, {}, 4096);
  EXPECT_EQ(at4k.items, 8191);
  EXPECT_LT(at4k.value, 5.0);
  const EvalResult at16k = evaluate(path, tmp.path + "/sample.txt", 0, "cpu", nullptr, {}, 16384);
  EXPECT_LT(at16k.value, 5.0);
}

}  // namespace
}  // namespace fmalens
