// The baseline attentions beside FMA and dense (config.h's AttentionKind): `local`, FMA's fine
// band alone, against softmax with the band as an explicit mask; `elu_linear`, chunked causal
// linear attention, against its O(n^2) definition in outputs, gradients and the viewer's row;
// and a model of each kind that trains, saves, loads, evaluates and runs with a capture.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fma/attention.h"
#include "fmalens/model.h"
#include "fmalens/train.h"
#include "model/model_io.h"
#include "model/network.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

double max_abs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

AttentionConfig local_config(Variant v, int64_t n, int64_t m) {
  AttentionConfig c;
  c.variant = v;
  c.n = n;
  c.m = m;
  c.p = 2;
  c.heads = 2;
  c.head_dim = 8;
  c.boundary = Boundary::mask;
  c.max_coarse_levels = 0;
  return c;
}

// Softmax over the fine band written out: causal, the keys of the query's block up to it and the
// whole block before; bidirectional, the blocks before, of and after the query's.
torch::Tensor band_softmax(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t m, bool causal,
                           torch::Tensor* weights = nullptr) {
  const int64_t n = q.size(2);
  auto allowed = torch::zeros({n, n}, torch::kBool);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t bi = i / m, bj = j / m;
      allowed[i][j] = causal ? (j <= i && bj >= bi - 1) : (bj >= bi - 1 && bj <= bi + 1);
    }
  auto S = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(q.size(3)));
  S = S.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  auto W = torch::softmax(S, -1);
  if (weights) *weights = W;
  return torch::matmul(W, v);
}

TEST(LocalAttention, IsSoftmaxOverTheFineBandOnBothPaths) {
  for (Variant variant : {Variant::causal, Variant::bidirectional}) {
    const bool causal = variant == Variant::causal;
    const AttentionConfig c = local_config(variant, 64, 8);
    EXPECT_EQ(coarse_levels(c), 0);
    EXPECT_EQ(Layout(c).num_levels(), 1);
    FmaAttention attn(c);
    EXPECT_TRUE(attn->parameters().empty()) << "local attention learns no summaries";
    torch::manual_seed(4);
    auto q = torch::randn({2, 2, 64, 8}), k = torch::randn_like(q), v = torch::randn_like(q);
    const auto expected = band_softmax(q, k, v, 8, causal);
    torch::NoGradGuard no_grad;
    EXPECT_LT(max_abs(attn->forward_ops(q, k, v) - expected), 1e-5) << to_string(variant);
    EXPECT_LT(max_abs(attn->forward_kernel(q, k, v) - expected), 1e-5) << to_string(variant);
    // A key outside the band changes nothing: the coarse levels are gone.
    auto far = v.clone();
    far.narrow(2, 0, 8).add_(100.0);  // the first block: outside every band of queries 24..
    const auto moved = attn->forward(q, k, far);
    EXPECT_LT(max_abs(moved.narrow(2, 24, 40) - attn->forward(q, k, v).narrow(2, 24, 40)), 1e-6);
  }
}

TEST(LocalAttention, ModelConfigNamesItAndBuildsNoCoarseLevels) {
  ModelConfig c = test::tiny_text_config();
  c.attention_kind = AttentionKind::local;
  validate(c);
  EXPECT_EQ(coarse_levels(c.attention_config()), 0);
  const ModelConfig back = model_config_from_json(to_json(c));
  EXPECT_EQ(back.attention_kind, AttentionKind::local);
  EXPECT_NE(to_json(c).find("\"attention_kind\":\"local\""), std::string::npos);
  EXPECT_EQ(attention_kind_from_string("elu_linear"), AttentionKind::elu_linear);
  EXPECT_THROW(attention_kind_from_string("linear"), ConfigError);  // "linear" names FMA's query downsampling here
}

// The O(n^2) definition of elu+1 linear attention, for checking the chunked one.
torch::Tensor linear_definition(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
  const auto fq = torch::elu(q) + 1, fk = torch::elu(k) + 1;
  auto A = torch::matmul(fq, fk.transpose(2, 3));  // (b, h, n, n)
  if (causal) A = A.tril();
  return torch::matmul(A / A.sum(-1, true), v);
}

TEST(EluLinearAttention, ChunkedEqualsTheDefinitionInOutputsAndGradients) {
  for (bool causal : {true, false})
    for (int64_t chunk : {1, 7, 16, 64, 200}) {
      torch::manual_seed(5);
      auto q = torch::randn({2, 3, 50, 8}, torch::kDouble).requires_grad_(), k = torch::randn_like(q).requires_grad_(),
           v = torch::randn_like(q).requires_grad_();
      const auto y = elu_linear_attention(q, k, v, causal, chunk);
      const auto ref = linear_definition(q, k, v, causal);
      EXPECT_LT(max_abs(y - ref), 1e-10) << "causal " << causal << " chunk " << chunk;
      const auto g = torch::randn_like(y);
      const auto grads = torch::autograd::grad({y}, {q, k, v}, {g});
      const auto ref_grads = torch::autograd::grad({ref}, {q, k, v}, {g});
      for (size_t t = 0; t < 3; ++t) EXPECT_LT(max_abs(grads[t] - ref_grads[t]), 1e-9) << "gradient " << t << " chunk " << chunk;
    }
  // Float32 in, float32 out; a causal output never depends on a later token.
  auto q = torch::randn({1, 1, 40, 4}), k = torch::randn_like(q), v = torch::randn_like(q);
  const auto y = elu_linear_attention(q, k, v, true, 8);
  EXPECT_EQ(y.scalar_type(), torch::kFloat);
  auto later = v.clone();
  later.narrow(2, 30, 10).add_(50.0);
  EXPECT_LT(max_abs(elu_linear_attention(q, k, later, true, 8).narrow(2, 0, 30) - y.narrow(2, 0, 30)), 1e-6);
}

TEST(EluLinearAttention, RowIsTheDefinitionsWeights) {
  torch::manual_seed(6);
  auto q = torch::randn({1, 2, 30, 4}, torch::kDouble), k = torch::randn_like(q);
  const auto fq = torch::elu(q) + 1, fk = torch::elu(k) + 1;
  for (bool causal : {true, false}) {
    auto A = torch::matmul(fq, fk.transpose(2, 3));
    if (causal) A = A.tril();
    A = A / A.sum(-1, true);
    for (int64_t i : {0, 13, 29}) {
      const auto row = elu_linear_row(q, k, i, causal);
      EXPECT_LT(max_abs(row - A.select(2, i)), 1e-12) << i;
      EXPECT_NEAR(row.sum(-1).min().item<double>(), 1.0, 1e-12);
    }
  }
}

// A one-layer byte model of each baseline kind trains a few steps, saves, loads, evaluates and
// runs with a capture: local has the fine band only, elu_linear has queries and keys.
TEST(Baselines, ModelsOfEachKindTrainEvaluateAndRun) {
  test::TempDir tmp;
  const std::string data = tmp.path + "/text.txt";
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the cat sat on the mat; the dog sat on the log. ";
  test::write_file(data, text);
  for (AttentionKind kind : {AttentionKind::local, AttentionKind::elu_linear}) {
    SCOPED_TRACE(to_string(kind));
    TrainOptions o = test::tiny_text_training(tmp.path + "/" + to_string(kind) + ".safetensors", data, 64, 16, 8, 20, 4);
    o.model.attention_kind = kind;
    train(o, nullptr);
    const EvalResult r = evaluate(o.out, data, 2000, "cpu");
    EXPECT_EQ(r.metric, "bits_per_byte");
    EXPECT_LT(r.value, 8.0);  // better than uniform over 256 bytes
    auto model = Model::load(o.out);
    EXPECT_EQ(model->info().config.attention_kind, kind);
    RunOptions ro;
    ro.device = "cpu";
    const Snapshot s = model->run_text("the cat sat on the", ro);
    EXPECT_EQ(s.tokens, 18);
    ASSERT_FALSE(s.layers.empty());
    if (kind == AttentionKind::local) {
      ASSERT_EQ(s.layers[0].bands.size(), 1u) << "the fine band and nothing else";
      EXPECT_EQ(Layout(s.attention).num_levels(), 1);
    } else {
      EXPECT_TRUE(s.layers[0].bands.empty());
      EXPECT_FALSE(s.layers[0].q.data.empty());
    }
    EXPECT_NE(model->describe().find(attention_kind_name(kind)), std::string::npos);
  }
}

// The shipped twins (issue 23): one recipe, four attentions. Each file is what the README says
// (kind, summaries, shape) and a trained model, not a fresh one (about 8 bits per byte): on every
// byte of the bundled sample (not their training data) the three with a fine band score under
// 2.9 bits/byte and linear attention, the weakest, under 3.8.
TEST(Baselines, TheShippedTwinsAreTrainedModelsOfTheirKinds) {
  struct Twin {
    const char* file;
    AttentionKind kind;
    Downsampling downsampling;
    double below;
  };
  const Twin twins[] = {{"text_twin_fma", AttentionKind::fma, Downsampling::groupedconv, 2.9},
                        {"text_twin_avgpool", AttentionKind::fma, Downsampling::avgpool, 2.9},
                        {"text_twin_local", AttentionKind::local, Downsampling::groupedconv, 2.9},
                        {"text_twin_elu_linear", AttentionKind::elu_linear, Downsampling::groupedconv, 3.8}};
  for (const Twin& t : twins) {
    const std::string path = std::string(FMALENS_ASSETS_DIR "/models/") + t.file + ".safetensors";
    const ModelConfig c = Model::load(path)->config();
    EXPECT_EQ(c.attention_kind, t.kind) << t.file;
    if (t.kind == AttentionKind::fma) {
      EXPECT_EQ(c.attention.downsampling, t.downsampling) << t.file;
    }
    EXPECT_EQ(c.n_layer, 4) << t.file;
    EXPECT_EQ(c.n_head, 4) << t.file;
    EXPECT_EQ(c.n_embd, 128) << t.file;
    EXPECT_EQ(c.block_size, 4096) << t.file;
    const EvalResult r = evaluate(path, FMALENS_ASSETS_DIR "/samples/sample.txt", 0, "cpu", nullptr, {}, 1024);
    EXPECT_GT(r.items, 700) << t.file;
    EXPECT_LT(r.value, t.below) << t.file;
  }
}

}  // namespace
}  // namespace fmalens
