// Dense references: FMA as an n x (n + summaries) softmax built from the definition of the
// interaction lists (`serves`) and summaries made by torch's own convolutions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fma/attention.h"

namespace fmalens {
namespace {

// Convolution arguments (kernel = stride = the block width, no padding), spelled out as
// arrays: LibTorch also has a string-padding overload that makes plain integers ambiguous.
std::vector<int64_t> stride1(int64_t w) { return {w}; }
std::vector<int64_t> stride2(int64_t w) { return {w, w}; }
const std::vector<int64_t> pad1{0}, pad2{0, 0}, one1{1}, one2{1, 1};

// Level l's summaries of x (B, n, d), token order, straight from the layer's parameters with
// torch's own convolution and pooling: (B, blocks * p, d), row blk*p + s = summary s of block
// blk in public order (1D left to right, 2D row-major over the level's cells).
torch::Tensor reference_summaries(const FmaAttentionImpl& attention, const Layout& layout, const torch::Tensor& x,
                                  int l, char which) {
  const AttentionConfig& c = layout.config();
  const LevelGeometry& g = layout.level(l);
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2), p = c.p, w = g.width;
  const bool two_d = c.variant == Variant::grid2d;
  if (c.downsampling == Downsampling::avgpool) {
    if (!two_d)  // chunk s of a block's w tokens: pooling over w/p consecutive tokens
      return torch::avg_pool1d(x.transpose(1, 2), {w / p}, {w / p}).transpose(1, 2);
    // 2D: chunk s of a cell's tokens in Z order (FMA.md): an explicit averaging matrix.
    auto A = torch::zeros({g.blocks * p, n}, x.options());
    const int64_t chunk = g.block_tokens / p;
    for (int64_t blk = 0; blk < g.blocks; ++blk) {
      std::vector<int64_t> tokens = layout.block_tokens(l, blk);
      std::sort(tokens.begin(), tokens.end(),
                [&](int64_t a, int64_t b) { return layout.to_internal(a) < layout.to_internal(b); });
      for (size_t i = 0; i < tokens.size(); ++i)
        A[blk * p + static_cast<int64_t>(i) / chunk][tokens[i]] = 1.0 / static_cast<double>(chunk);
    }
    return torch::matmul(A, x);
  }
  // nested: one convolution of the tokens with the composed cascade (independent of nest_up).
  const auto [conv_weight, conv_bias] = attention.composed_depthwise(l, which);
  const auto weight = conv_weight.to(x.scalar_type()), bias = conv_bias.to(x.scalar_type());
  const int64_t groups = c.downsampling == Downsampling::conv ? 1 : d;
  torch::Tensor y;  // (B, p*d, blocks...), output channel ch*p + s
  if (two_d) {
    const int64_t G = c.grid_side;
    y = torch::conv2d(x.transpose(1, 2).reshape({B, d, G, G}), weight, bias, stride2(w), pad2, one2, groups);
  } else {
    y = torch::conv1d(x.transpose(1, 2), weight, bias, stride1(w), pad1, one1, groups);
  }
  return y.reshape({B, d, p, g.blocks}).permute({0, 3, 2, 1}).reshape({B, g.blocks * p, d});
}

// Level l's coarse query of every token (query downsampling): the depthwise convolution of
// the queries over the token's block, repeated over the block. q: (B, n, d) token order.
torch::Tensor reference_coarse_queries(const FmaAttentionImpl& attention, const Layout& layout, const torch::Tensor& q,
                                       int l) {
  const AttentionConfig& c = layout.config();
  const LevelGeometry& g = layout.level(l);
  const int64_t B = q.size(0), n = q.size(1), d = q.size(2), w = g.width;
  const ConvWeightsImpl& cw = attention.conv('q', l);
  const auto weight = cw.weight.to(q.scalar_type()), bias = cw.bias.to(q.scalar_type());
  std::vector<int64_t> block_of(static_cast<size_t>(n));
  torch::Tensor blocks;  // (B, blocks, d)
  if (c.variant == Variant::grid2d) {
    const int64_t G = c.grid_side, cells = G / w;
    blocks = torch::conv2d(q.transpose(1, 2).reshape({B, d, G, G}), weight, bias, stride2(w), pad2, one2, d)
                 .reshape({B, d, cells * cells}).transpose(1, 2);
    for (int64_t t = 0; t < n; ++t) block_of[static_cast<size_t>(t)] = (t / G / w) * cells + (t % G) / w;
  } else {
    blocks = torch::conv1d(q.transpose(1, 2), weight, bias, stride1(w), pad1, one1, d).transpose(1, 2);
    for (int64_t t = 0; t < n; ++t) block_of[static_cast<size_t>(t)] = t / w;
  }
  return blocks.index_select(1, torch::tensor(block_of, torch::kLong).to(q.device()));
}

}  // namespace

torch::Tensor fma_dense_reference(FmaAttentionImpl& attention, const torch::Tensor& q,
                                  const torch::Tensor& k, const torch::Tensor& v,
                                  torch::Tensor* weights) {
  const int64_t b = q.size(0), h = q.size(1), n = q.size(2), d = q.size(3), B = b * h;
  const Layout layout(attention.config());
  const AttentionConfig& config = layout.config();
  TORCH_CHECK(n == layout.tokens(), "the dense reference needs exactly n = ", layout.tokens(), " tokens, got ", n);
  const int nl = layout.num_levels();
  const auto compute = q.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto opts = torch::TensorOptions().dtype(compute).device(q.device());

  const auto qf = q.to(compute).reshape({B, n, d});
  const auto kf = k.to(compute).reshape({B, n, d});
  const auto vf = v.to(compute).reshape({B, n, d});
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto qs = qf * scale;

  // Column blocks: the n key tokens, then every summary of every coarse level (public block
  // order), then one phantom column (zero key, zero value).
  std::vector<torch::Tensor> scores{torch::matmul(qs, kf.transpose(1, 2))};
  std::vector<torch::Tensor> values{vf};
  std::vector<int64_t> col_begin{0};
  int64_t cols = n;
  for (int l = 1; l < nl; ++l) {
    const LevelGeometry& g = layout.level(l);
    const auto ks = reference_summaries(attention, layout, kf, l, 'k');  // (B, blocks*p, d)
    const auto vs = reference_summaries(attention, layout, vf, l, 'v');
    // With query downsampling every token scores with its block's coarse query.
    const auto queries = config.query_downsampling ? reference_coarse_queries(attention, layout, qf, l) * scale : qs;
    scores.push_back(torch::matmul(queries, ks.transpose(1, 2)) + std::log(g.alpha));
    values.push_back(vs);
    col_begin.push_back(cols);
    cols += g.blocks * g.summaries;
  }
  const int64_t phantom_col = cols++;
  std::vector<double> phantom_bias(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double c = layout.phantom_count(i);
    phantom_bias[static_cast<size_t>(i)] = c > 0 ? std::log(c) : 0.0;
  }
  scores.push_back(torch::tensor(phantom_bias, torch::kDouble).to(opts).view({1, n, 1}).expand({B, n, 1}));
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
  auto S = torch::cat(scores, 2).masked_fill(allowed.to(q.device()).logical_not(), -std::numeric_limits<double>::infinity());
  auto W = torch::softmax(S, -1);  // (B, n, cols)
  if (weights) *weights = W;
  return torch::matmul(W, torch::cat(values, 1)).reshape({b, h, n, d}).to(q.scalar_type());
}

}  // namespace fmalens
