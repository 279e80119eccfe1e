// The masked byte LM: span masking, its configuration rule, bidirectional dense twins, and a
// repeatable evaluation on the masked bytes.
#include <gtest/gtest.h>

#include <random>

#include "fmalens/config.h"
#include "fmalens/train.h"
#include "fmalens/model.h"
#include "model/model_io.h"
#include "model/network.h"
#include "test_util.h"
#include "train_util.h"
#include "train/datasets.h"

namespace fmalens {
namespace {

TEST(MaskedLm, SpansCoverTheRateAndTargetsAreTheMaskedBytes) {
  auto bytes = torch::randint(0, 256, {8, 512}, torch::kLong);
  std::mt19937_64 rng(3);
  const MaskedBatch mb = mask_spans(bytes, rng);
  const auto masked = mb.inputs.eq(kMaskToken);
  // Masked places are exactly those with a target, and the target is the byte that was there.
  EXPECT_TRUE(masked.equal(mb.targets.ge(0)));
  EXPECT_TRUE(mb.targets.masked_select(masked).equal(bytes.masked_select(masked)));
  EXPECT_TRUE(mb.inputs.masked_select(masked.logical_not()).equal(bytes.masked_select(masked.logical_not())));
  EXPECT_EQ(mb.masked, masked.sum().item<int64_t>());
  for (int64_t r = 0; r < 8; ++r) {
    const int64_t count = masked[r].sum().item<int64_t>();
    EXPECT_GE(count, 77);            // at least 15 % of 512
    EXPECT_LE(count, 77 + 8 - 1);    // the last span overshoots by less than a span
    // Runs of masked places: each at most 8 long unless spans touch; some are longer than 1.
    int64_t run = 0, longest = 0;
    for (int64_t t = 0; t < 512; ++t) {
      run = masked[r][t].item<bool>() ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    EXPECT_GT(longest, 1);
  }
  // The same seed masks the same places.
  std::mt19937_64 again(3);
  EXPECT_TRUE(mask_spans(bytes, again).inputs.equal(mb.inputs));
}

// A one-layer causal FMA byte model of 64 bytes (m 8, p 2): the tests make it masked.
ModelConfig tiny_text_model() { return test::tiny_text_config(); }

TEST(MaskedLm, ConfigNeedsBidirectionalAttentionAndTheMaskToken) {
  ModelConfig c = tiny_text_model();
  c.masked_lm = true;
  c.vocab_size = kMaskToken + 1;
  c.attention.variant = Variant::causal;
  EXPECT_THROW(validate(c), ConfigError);
  c.attention.variant = Variant::bidirectional;
  EXPECT_NO_THROW(validate(c));
  EXPECT_FALSE(c.causal());
  c.vocab_size = 256;
  EXPECT_THROW(validate(c), ConfigError);
  c.vocab_size = kMaskToken + 1;
  // Local mixing: an odd width, for bidirectional models only.
  for (int64_t bad : {2, 8, 1, 65}) {
    c.local_mixing = bad;
    EXPECT_THROW(validate(c), ConfigError) << bad;
  }
  c.local_mixing = 9;
  EXPECT_NO_THROW(validate(c));
  const ModelConfig back = model_config_from_json(to_json(c));
  EXPECT_EQ(back.local_mixing, 9);
  EXPECT_TRUE(back.masked_lm);
  EXPECT_EQ(to_json(back), to_json(c));
  // Without the field (every model before masked LMs): not masked.
  ModelConfig causal_model = c;
  causal_model.masked_lm = false;
  causal_model.vocab_size = 256;
  causal_model.attention.variant = Variant::causal;
  causal_model.local_mixing = 9;
  EXPECT_THROW(validate(causal_model), ConfigError);  // a causal model may not look ahead through it
  causal_model.local_mixing = 0;
  std::string json = to_json(causal_model);
  json.erase(json.find(",\"masked_lm\":false"), std::string(",\"masked_lm\":false").size());
  EXPECT_FALSE(model_config_from_json(json).masked_lm);
  EXPECT_TRUE(model_config_from_json(json).causal());
}

// A dense masked LM sees both sides: changing a later byte changes an earlier position's logits.
TEST(MaskedLm, DenseTwinIsBidirectional) {
  ModelConfig c;
  c.kind = ModelKind::text;
  c.attention_kind = AttentionKind::dense;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 32;
  c.masked_lm = true;
  c.vocab_size = kMaskToken + 1;
  c.attention.variant = Variant::bidirectional;
  torch::manual_seed(1);
  Network net(c);
  torch::NoGradGuard no_grad;
  auto x = torch::randint(0, 256, {1, 32}, torch::kLong);
  auto y = x.clone();
  y[0][31] = (x[0][31].item<int64_t>() + 1) % 256;
  EXPECT_GT((net.forward(x)[0][0] - net.forward(y)[0][0]).abs().max().item<double>(), 1e-6);
}

// --init-weights: a causal byte LM's tensors seed a masked LM of the same shape; the embedding
// keeps the 256 bytes' rows (the mask token's row is new), the local mixing keeps its init.
TEST(MaskedLm, TransplantCopiesMatchingTensorsFromACausalModel) {
  const ModelConfig causal = tiny_text_model();
  ModelConfig masked = causal;
  masked.masked_lm = true;
  masked.vocab_size = kMaskToken + 1;
  masked.attention.variant = Variant::bidirectional;
  masked.local_mixing = 3;
  torch::manual_seed(1);
  Network donor(causal);
  torch::manual_seed(2);
  Network net(masked);
  const torch::Tensor mask_row_before = net.module().named_parameters()["transformer.wte.weight"][kMaskToken].clone();
  const torch::Tensor mix_before = net.module().named_parameters()["transformer.local_mix.weight"].clone();
  const TransplantReport r = transplant_tensors(net.module(), donor.module());
  EXPECT_EQ(r.partly_copied, std::vector<std::string>{"transformer.wte.weight"});
  EXPECT_EQ(r.kept.size(), 2u);  // local_mix weight and bias
  EXPECT_EQ(r.copied.size() + r.partly_copied.size() + r.kept.size(), net.module().parameters().size());
  auto params = net.module().named_parameters();
  auto donor_params = donor.module().named_parameters();
  EXPECT_TRUE(params["transformer.wte.weight"].narrow(0, 0, 256).equal(donor_params["transformer.wte.weight"]));
  EXPECT_TRUE(params["transformer.wte.weight"][kMaskToken].equal(mask_row_before));
  EXPECT_TRUE(params["transformer.local_mix.weight"].equal(mix_before));
  for (const auto& name : r.copied) EXPECT_TRUE(params[name].equal(donor_params[name])) << name;
}

TEST(MaskedLm, TrainsAndEvaluatesRepeatablyOnMaskedBytes) {
  test::TempDir tmp;
  const std::string data = tmp.path + "/text.txt";
  std::string text;
  for (int i = 0; i < 400; ++i) text += "the cat sat on the mat; the dog sat on the log. ";
  test::write_file(data, text);
  TrainOptions o = test::tiny_text_training(tmp.path + "/mlm.safetensors", data, 128, 32, 16, 60, 8);
  o.model.masked_lm = true;
  o.model.vocab_size = kMaskToken + 1;
  o.model.attention.variant = Variant::bidirectional;
  o.eval_batches = 2;
  train(o, nullptr);
  const EvalResult a = evaluate(o.out, data, 4000, "cpu");
  const EvalResult b = evaluate(o.out, data, 4000, "cpu");
  EXPECT_EQ(a.metric, "bits_per_masked_byte");
  EXPECT_EQ(a.value, b.value);  // the masks come from a fixed seed
  EXPECT_EQ(a.items, b.items);
  // About 15 % of the scored bytes (the held-out tenth of 19,600 bytes, at most 4,000).
  EXPECT_GT(a.items, 0.14 * 1960);
  EXPECT_LT(a.value, 8.0);  // better than a uniform guess over 256 bytes after 60 steps
  // The buckets by distance to a seen byte partition the masked bytes, and their figures
  // average to the total; spans of 1..8 fill every bucket.
  ASSERT_EQ(a.by_mask_gap.size(), 5u);
  int64_t bytes = 0;
  double bits = 0;
  for (const OffsetBucket& g : a.by_mask_gap) {
    EXPECT_GT(g.bytes, 0) << g.name;
    bytes += g.bytes;
    bits += g.bits_per_byte * static_cast<double>(g.bytes);
  }
  EXPECT_EQ(bytes, a.items);
  EXPECT_NEAR(bits / static_cast<double>(bytes), a.value, 1e-9);
  EXPECT_EQ(a.by_mask_gap[0].name, "alone");
  EXPECT_EQ(a.mask_span, kTrainingMaskSpan);

  // Single-byte masks (--mask-span 1): the same share masked, most bytes now alone between two
  // seen ones (runs form only where masks touch), against few with spans of 1..8.
  const EvalResult single = evaluate(o.out, data, 4000, "cpu", nullptr, {}, 0, 1);
  EXPECT_EQ(single.mask_span, 1);
  EXPECT_GT(single.items, 0.14 * 1960);
  EXPECT_LE(single.items, a.items);  // spans of 1..8 overshoot the share by up to 7 per window
  EXPECT_GT(single.by_mask_gap[0].bytes, single.items / 2);
  EXPECT_LT(a.by_mask_gap[0].bytes, a.items / 5);
  EXPECT_NE(single.value, a.value);
  // 0 is "as trained": the training span, the same figure as naming it.
  EXPECT_EQ(evaluate(o.out, data, 4000, "cpu", nullptr, {}, 0, kTrainingMaskSpan).value, a.value);
  EXPECT_THROW(evaluate(o.out, data, 4000, "cpu", nullptr, {}, 0, -1), Error);
  EXPECT_THROW(evaluate(o.out, data, 4000, "cpu", nullptr, {}, 0, 129), Error);  // longer than the 128-byte window
  // Fewer held-out bytes than the window, and not a length the bidirectional layout runs
  // (m 16: 32, 64 or 128): read by 64-byte windows, every masked byte scored.
  const EvalResult short_text = evaluate(o.out, data, 100, "cpu");
  EXPECT_GT(short_text.items, 10);
  EXPECT_LT(short_text.items, 100);
  EXPECT_LT(short_text.value, 8.0);
}

// The window's and inspect's masks: masked bytes are run as mask tokens and filled with the
// model's most likely byte; a bidirectional FMA model pads short text to its layout's length
// and returns one row of logits per byte of text.
TEST(MaskedLm, RunTextFillsMasksAndPadsShortTextForBidirectionalFma) {
  test::TempDir tmp;
  ModelConfig c;
  c.kind = ModelKind::text;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 256;
  c.masked_lm = true;
  c.vocab_size = kMaskToken + 1;
  c.local_mixing = 9;
  c.attention.variant = Variant::bidirectional;
  c.attention.m = 16;
  c.attention.p = 2;
  torch::manual_seed(3);
  Network net(c);
  const std::string path = tmp.path + "/mlm.safetensors";
  save_network(path, net, {});
  auto model = Model::load(path);
  RunOptions o;
  o.device = "cpu";
  o.mask_spans = {{4, 7}};
  o.mask_underscores = true;
  const std::string text = "the cat sat on _he mat";  // 22 bytes: run padded to 32
  const Snapshot s = model->run_text(text, o);
  EXPECT_EQ(s.tokens, 22);
  EXPECT_EQ(s.attention.tokens(), 32);
  EXPECT_EQ(s.logits.shape, (std::vector<int64_t>{22, kMaskToken + 1}));
  ASSERT_EQ(s.masked.size(), 22u);
  for (int64_t t = 0; t < 22; ++t) EXPECT_EQ(s.masked[static_cast<size_t>(t)], (t >= 4 && t < 7) || t == 15) << t;
  ASSERT_EQ(s.filled.size(), text.size());
  for (int64_t t = 0; t < 22; ++t) {
    if (!s.masked[static_cast<size_t>(t)]) {
      EXPECT_EQ(s.filled[static_cast<size_t>(t)], text[static_cast<size_t>(t)]);
      continue;
    }
    const float* row = &s.logits.data[static_cast<size_t>(t * s.logits.dim(1))];
    EXPECT_EQ(static_cast<uint8_t>(s.filled[static_cast<size_t>(t)]), std::max_element(row, row + 256) - row);
  }
  // A mask outside the text, and masks for a model that reads every byte, are refused.
  o.mask_spans = {{20, 30}};
  EXPECT_THROW(model->run_text(text, o), Error);
}

}  // namespace
}  // namespace fmalens
