// Dense references: FMA as an n x (n + summaries) softmax built from the definition of the
// interaction lists (`serves`), and plain softmax attention.
#include <cmath>
#include <limits>

#include "fma/attention.h"

namespace fmalens {

torch::Tensor fma_dense_reference(FmaAttentionImpl& attention, const torch::Tensor& q,
                                  const torch::Tensor& k, const torch::Tensor& v,
                                  torch::Tensor* weights) {
  const int64_t b = q.size(0), h = q.size(1), T = q.size(2), d = q.size(3), B = b * h;
  const Plan& plan = attention.plan(T, q.device());
  const Layout& layout = *plan.layout;
  const AttentionConfig& config = layout.config();
  const int64_t n = layout.tokens();
  TORCH_CHECK(T == n, "the dense reference needs exactly n = ", n, " tokens, got ", T);
  const bool two_d = config.variant == Variant::grid2d;
  const int nl = layout.num_levels();
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(q.device());

  const auto qf = q.to(torch::kFloat).reshape({B, n, d});
  const auto kf = k.to(torch::kFloat).reshape({B, n, d});
  const auto vf = v.to(torch::kFloat).reshape({B, n, d});
  auto internal = [&](const torch::Tensor& x) { return two_d ? x.index_select(1, plan.token_of_internal) : x; };
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto qs = qf * scale;

  // Column blocks: the n key tokens, then every summary of every coarse level (public block
  // order: 1D left to right, 2D row-major), then one phantom column (zero key, zero value).
  std::vector<torch::Tensor> scores{torch::matmul(qs, kf.transpose(1, 2))};
  std::vector<torch::Tensor> values{vf};
  std::vector<int64_t> col_begin{0};
  int64_t cols = n;
  for (int l = 1; l < nl; ++l) {
    const LevelGeometry& g = layout.level(l);
    std::vector<int64_t> public_rows(static_cast<size_t>(g.blocks * g.summaries));
    for (int64_t blk = 0; blk < g.blocks; ++blk) {
      int64_t internal_blk = blk;
      if (two_d) {
        const int64_t cells = config.grid_side / g.width;
        internal_blk = Layout::morton(blk / cells, blk % cells);
      }
      for (int64_t s = 0; s < g.summaries; ++s)
        public_rows[static_cast<size_t>(blk * g.summaries + s)] = internal_blk * g.summaries + s;
    }
    const auto rows = torch::tensor(public_rows, torch::kLong).to(q.device());
    const auto ks = attention.downsample(internal(kf), l, 'k').index_select(1, rows);  // (B, blocks*p, d)
    const auto vs = attention.downsample(internal(vf), l, 'v').index_select(1, rows);
    torch::Tensor queries = qs;
    if (config.query_downsampling) {
      // Every token scores with its block's coarse query.
      auto qh = attention.downsample_queries(internal(qf), l) * scale;  // (B, blocks, d) internal
      qh = qh.repeat_interleave(g.block_tokens, 1);                     // (B, n, d) internal
      queries = two_d ? qh.index_select(1, plan.internal_of_token) : qh;
    }
    scores.push_back(torch::matmul(queries, ks.transpose(1, 2)) + std::log(g.alpha));
    values.push_back(vs);
    col_begin.push_back(cols);
    cols += g.blocks * g.summaries;
  }
  const int64_t phantom_col = cols++;
  std::vector<float> phantom_bias(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double c = layout.phantom_count(i);
    phantom_bias[static_cast<size_t>(i)] = c > 0 ? static_cast<float>(std::log(c)) : 0.0f;
  }
  scores.push_back(torch::tensor(phantom_bias, opts).view({1, n, 1}).expand({B, n, 1}));
  values.push_back(torch::zeros({B, 1, d}, opts));

  // Allowed (query, column) pairs, straight from the definition.
  auto allowed = torch::zeros({n, cols}, torch::kBool);
  auto* a = allowed.data_ptr<bool>();
  for (int64_t i = 0; i < n; ++i) {
    bool* row = a + i * cols;
    for (int64_t t = 0; t < n; ++t) row[t] = serves(config, 0, i, t);
    for (int l = 1; l < nl; ++l) {
      const LevelGeometry& g = layout.level(l);
      for (int64_t blk = 0; blk < g.blocks; ++blk)
        if (serves(config, l, i, blk))
          for (int64_t s = 0; s < g.summaries; ++s) row[col_begin[static_cast<size_t>(l)] + blk * g.summaries + s] = true;
    }
    row[phantom_col] = layout.phantom_count(i) > 0;
  }
  auto S = torch::cat(scores, 2).masked_fill(allowed.to(q.device()).logical_not(), -std::numeric_limits<float>::infinity());
  auto W = torch::softmax(S, -1);  // (B, n, cols)
  if (weights) *weights = W;
  return torch::matmul(W, torch::cat(values, 1)).reshape({b, h, n, d}).to(q.scalar_type());
}

torch::Tensor dense_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              bool causal, torch::Tensor* weights) {
  const int64_t n = q.size(2), d = q.size(3);
  auto S = torch::matmul(q.to(torch::kFloat), k.to(torch::kFloat).transpose(2, 3)) / std::sqrt(static_cast<double>(d));
  if (causal) {
    auto future = torch::ones({n, n}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
    S = S.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  auto W = torch::softmax(S, -1);
  if (weights) *weights = W;
  return torch::matmul(W, v.to(torch::kFloat)).to(q.scalar_type());
}

}  // namespace fmalens
