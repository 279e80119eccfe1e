// The torch-free views of a Snapshot against LibTorch computations of the same thing: exact
// attention rows (the compare view's "exact") are softmax(q k^T / sqrt(d)) of the captured
// queries and keys, and the implied FMA rows rebuild the layer's own attention output.
#include <gtest/gtest.h>

#include <cmath>

#include "fma/attention.h"
#include "fmalens/model.h"
#include "fmalens/snapshot.h"

namespace fmalens {
namespace {

// [heads, n, d] of a snapshot as a (1, heads, n, d) tensor.
torch::Tensor heads_tensor(const Array& a) {
  return torch::from_blob(const_cast<float*>(a.data.data()), {1, a.dim(0), a.dim(1), a.dim(2)}, torch::kFloat).clone();
}

double max_abs_diff(const Array& a, const torch::Tensor& b) {
  const auto t = torch::from_blob(const_cast<float*>(a.data.data()), {static_cast<int64_t>(a.data.size())}, torch::kFloat);
  return (t - b.reshape({-1})).abs().max().item<double>();
}

Snapshot run_bundled_text(const std::string& text) {
  auto model = Model::load(FMALENS_ASSETS_DIR "/models/text_fma.safetensors");
  RunOptions o;
  o.device = "cpu";
  return model->run_text(text, o);
}

TEST(SnapshotViews, ExactAttentionRowsAreSoftmaxOfTheCapturedQueriesAndKeys) {
  std::string text;
  while (text.size() < 200) text += "A multilevel attention: near tokens in full, far ones summarised. ";
  const Snapshot s = run_bundled_text(text.substr(0, 200));
  ASSERT_EQ(s.tokens, 200);
  const int64_t n = s.layers[0].q.dim(1);
  for (int layer : {0, static_cast<int>(s.layers.size()) - 1}) {
    const auto q = heads_tensor(s.layers[static_cast<size_t>(layer)].q);
    const auto k = heads_tensor(s.layers[static_cast<size_t>(layer)].k);
    torch::Tensor W;  // (1, heads, n, n)
    dense_attention(q, k, k, /*causal=*/true, &W);
    for (int head : {0, static_cast<int>(s.config.n_head) - 1}) {
      SCOPED_TRACE("layer " + std::to_string(layer) + " head " + std::to_string(head));
      const Array e = exact_attention_rows(s, layer, head, 10, 150);
      ASSERT_EQ(e.shape, (std::vector<int64_t>{140, n}));
      EXPECT_LT(max_abs_diff(e, W[0][head].narrow(0, 10, 140)), 1e-6);
    }
  }
}

// The implied rows carry each row's whole mass (1 with boundary mask) and none in the future.
TEST(SnapshotViews, ImpliedRowsSumToOneAndAreZeroInTheFuture) {
  const Snapshot s = run_bundled_text("Row sums of the implied matrix, row by row, for a causal model.");
  const int64_t n = s.layers[0].q.dim(1);
  const Array f = implied_attention_rows(s, 1, 2, 0, s.tokens);
  for (int64_t i = 0; i < s.tokens; ++i) {
    double sum = 0, future = 0;
    for (int64_t t = 0; t < n; ++t) (t <= i ? sum : future) += f.at(i, t);
    EXPECT_NEAR(sum, 1.0, 1e-5) << "row " << i;
    EXPECT_EQ(future, 0.0) << "row " << i;
  }
}

}  // namespace
}  // namespace fmalens

namespace fmalens {
namespace {

// Issue 21's last-byte breakdown (an 804-byte text: its last byte "fine 100 %", byte 801 with
// L1 mass): is it the model or the capture of the final, padded block? A causal model's query
// sees the same keys whether the text ends there or goes on, so the level masses of the last
// byte of an 804-byte run must equal those of byte 803 in a 1,024-byte run, in every layer and
// head. They do: the capture of the final block is right, and what the view showed is the model
// (layer 0's heads are local: their coarse summaries score low against every query).
TEST(SnapshotViews, TheLastBytesLevelMassesAreThoseOfALongerRun) {
  std::string text;
  while (text.size() < 1024) text += "A multilevel attention: near tokens in full, far ones summarised; the last byte too. ";
  const Snapshot short_run = run_bundled_text(text.substr(0, 804));
  const Snapshot long_run = run_bundled_text(text.substr(0, 1024));
  ASSERT_EQ(short_run.tokens, 804);
  for (int layer = 0; layer < static_cast<int>(short_run.layers.size()); ++layer)
    for (int head = 0; head < short_run.config.n_head; ++head)
      for (int64_t query : {801, 803}) {
        const std::vector<double> a = level_mass(short_run, layer, head, query), b = level_mass(long_run, layer, head, query);
        ASSERT_EQ(a.size(), b.size());
        for (size_t l = 0; l < a.size(); ++l)
          EXPECT_NEAR(a[l], b[l], 2e-4) << "layer " << layer << " head " << head << " query " << query << " level " << l;
      }
}

}  // namespace
}  // namespace fmalens
