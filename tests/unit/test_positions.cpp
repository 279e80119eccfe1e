// Text models without a position table (--positions none): nothing of size block_size in the
// model, the config says so and round-trips, and the output no longer depends on where a window
// sits in the context; models with learned positions are as before.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fmalens/config.h"
#include "model/network.h"

namespace fmalens {
namespace {

ModelConfig small_text(bool learned) {
  ModelConfig c;
  c.kind = ModelKind::text;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 32;
  c.block_size = 256;
  c.attention.m = 16;
  c.attention.p = 2;
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

}  // namespace
}  // namespace fmalens
