// FMA attention against its dense reference and against the properties of FMA.md.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cmath>
#include <limits>
#include <random>

#include "fma/attention.h"

namespace fmalens {
namespace {

struct Case {
  AttentionConfig config;
  std::string label;
};

AttentionConfig cfg_1d(Variant v, int64_t n, int64_t m, int64_t p, int64_t d,
                       Downsampling ds = Downsampling::groupedconv, Boundary b = Boundary::mask,
                       bool linear = false, int64_t heads = 2) {
  AttentionConfig c;
  c.variant = v;
  c.n = n;
  c.m = m;
  c.p = p;
  c.head_dim = d;
  c.heads = heads;
  c.downsampling = ds;
  c.boundary = b;
  c.query_downsampling = linear;
  return c;
}

AttentionConfig cfg_2d(int64_t side, int64_t r, int64_t p, int64_t d, Downsampling ds = Downsampling::groupedconv,
                       bool linear = false) {
  AttentionConfig c;
  c.variant = Variant::grid2d;
  c.grid_side = side;
  c.m = r;
  c.p = p;
  c.head_dim = d;
  c.heads = 2;
  c.downsampling = ds;
  c.query_downsampling = linear;
  return c;
}

std::string describe(const AttentionConfig& c) {
  return std::string(to_string(c.variant)) + " n=" + std::to_string(c.tokens()) + " m=" + std::to_string(c.m) +
         " p=" + std::to_string(c.p) + " d=" + std::to_string(c.head_dim) + " " + to_string(c.downsampling) + " " +
         to_string(c.boundary) + (c.query_downsampling ? " linear" : "");
}

// Random weights (not the near-averaging init) so every test exercises generic downsampling.
FmaAttention make_attention(const AttentionConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  FmaAttention a(c);
  torch::NoGradGuard g;
  for (auto& p : a->parameters()) {
    const int64_t fan_in = p.dim() > 1 ? p.numel() / p.size(0) : 1;  // bias: N(0, 1)
    p.copy_(torch::randn_like(p) / std::sqrt(static_cast<double>(fan_in)));
  }
  return a;
}

std::vector<AttentionConfig> agreement_cases() {
  std::vector<AttentionConfig> out;
  std::mt19937 rng(7);
  // Fixed edge cases first.
  out.push_back(cfg_1d(Variant::causal, 16, 8, 2, 8));                 // n/m = 2: fine only
  out.push_back(cfg_1d(Variant::causal, 32, 8, 1, 8));                 // n/m = 4, p = 1
  out.push_back(cfg_1d(Variant::causal, 64, 8, 8, 8));                 // p = m
  out.push_back(cfg_1d(Variant::causal, 64, 2, 2, 8, Downsampling::groupedconv, Boundary::zero_pad));  // m = 2: merged tiles
  out.push_back(cfg_1d(Variant::causal, 128, 8, 4, 16, Downsampling::groupedconv, Boundary::zero_pad));
  out.push_back(cfg_1d(Variant::causal, 64, 4, 2, 8, Downsampling::conv, Boundary::zero_pad));
  out.push_back(cfg_1d(Variant::causal, 64, 8, 2, 8, Downsampling::avgpool));
  out.push_back(cfg_1d(Variant::bidirectional, 64, 8, 2, 8));
  out.push_back(cfg_1d(Variant::bidirectional, 16, 8, 2, 8));
  out.push_back(cfg_1d(Variant::bidirectional, 128, 8, 4, 8, Downsampling::conv));
  out.push_back(cfg_1d(Variant::bidirectional, 128, 8, 4, 8, Downsampling::groupedconv, Boundary::mask, true));
  out.push_back(cfg_1d(Variant::bidirectional, 64, 4, 2, 8, Downsampling::avgpool, Boundary::mask, true));
  out.push_back(cfg_2d(8, 2, 1, 8));
  out.push_back(cfg_2d(8, 1, 1, 8));   // r = 1: one query per fine cell (kernel tiles merge levels)
  out.push_back(cfg_2d(16, 1, 1, 8, Downsampling::groupedconv, true));
  out.push_back(cfg_2d(16, 2, 4, 8));
  out.push_back(cfg_2d(16, 4, 2, 8, Downsampling::conv));
  out.push_back(cfg_2d(16, 2, 4, 8, Downsampling::avgpool));
  out.push_back(cfg_2d(16, 2, 2, 8, Downsampling::groupedconv, true));
  out.push_back(cfg_2d(32, 4, 4, 8, Downsampling::groupedconv, true));
  // m and p at both ends of 1..32.
  out.push_back(cfg_1d(Variant::causal, 8, 1, 1, 4));                   // m = 1: one key per fine block
  out.push_back(cfg_1d(Variant::bidirectional, 16, 1, 1, 4, Downsampling::groupedconv, Boundary::mask, true));
  out.push_back(cfg_1d(Variant::causal, 128, 32, 32, 4));               // m = p = 32
  out.push_back(cfg_1d(Variant::causal, 256, 32, 16, 4, Downsampling::groupedconv, Boundary::zero_pad));
  out.push_back(cfg_1d(Variant::bidirectional, 256, 32, 8, 4, Downsampling::avgpool));
  out.push_back(cfg_1d(Variant::bidirectional, 256, 32, 32, 4, Downsampling::groupedconv, Boundary::mask, true));
  out.push_back(cfg_1d(Variant::causal, 128, 16, 3, 5, Downsampling::conv));  // p that divides nothing
  out.push_back(cfg_2d(8, 4, 16, 4));                                   // p = r^2
  out.push_back(cfg_2d(16, 1, 1, 4, Downsampling::avgpool, true));
  out.push_back(cfg_2d(16, 2, 3, 4, Downsampling::conv, true));
  // nested: the cascade of 2p -> p maps, against one convolution with the composed basis.
  out.push_back(cfg_1d(Variant::causal, 256, 8, 2, 8, Downsampling::nested));
  out.push_back(cfg_1d(Variant::causal, 128, 4, 4, 6, Downsampling::nested, Boundary::zero_pad));
  out.push_back(cfg_1d(Variant::bidirectional, 128, 8, 4, 8, Downsampling::nested));
  // Random (n, m, p, d) in 1D.
  for (int r = 0; r < 8; ++r) {
    const int64_t m = int64_t{1} << std::uniform_int_distribution<int>(1, 4)(rng);
    const int64_t n = m << std::uniform_int_distribution<int>(1, 5)(rng);
    const int64_t p = std::uniform_int_distribution<int64_t>(1, m)(rng);
    const int64_t d = std::uniform_int_distribution<int64_t>(2, 24)(rng);
    const Variant v = r % 3 == 2 ? Variant::bidirectional : Variant::causal;
    const Boundary b = (v == Variant::causal && r % 2 == 0) ? Boundary::zero_pad : Boundary::mask;
    const Downsampling ds = r % 4 == 3 ? Downsampling::conv : Downsampling::groupedconv;
    out.push_back(cfg_1d(v, n, m, p, d, ds, b, v == Variant::bidirectional && r % 2 == 1));
  }
  return out;
}

double max_abs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

// A gradient check's inputs: random q, k, v of (batch, heads, T, head_dim) that need gradients,
// a random cotangent r of the same shape for (y * r).sum(), and what the gradient is taken of:
// q, k, v, then the layer's parameters.
struct GradientProblem {
  torch::Tensor q, k, v, r;
  std::vector<torch::Tensor> inputs;
};

GradientProblem gradient_problem(FmaAttention& attn, const AttentionConfig& c, int64_t batch, int64_t T,
                                 torch::Dtype dtype = torch::kFloat) {
  const auto options = torch::TensorOptions().dtype(dtype);
  GradientProblem g;
  g.q = torch::randn({batch, c.heads, T, c.head_dim}, options).requires_grad_();
  g.k = torch::randn({batch, c.heads, T, c.head_dim}, options).requires_grad_();
  g.v = torch::randn({batch, c.heads, T, c.head_dim}, options).requires_grad_();
  g.r = torch::randn({batch, c.heads, T, c.head_dim}, options);
  g.inputs = {g.q, g.k, g.v};
  for (const auto& p : attn->parameters()) g.inputs.push_back(p);
  return g;
}

const char* path_name(FmaPath path) { return path == FmaPath::kernel ? "kernel" : "ops"; }

// Both implementations against the dense reference, whose summaries come from torch's own
// conv1d / conv2d / average pooling of the layer's parameters (independent of downsample()).
// FmaPath::ops is what a CUDA build runs (grouped-conv by baddbmm, elementwise query
// downsampling): checked here on the CPU, before a GPU ever runs it.
TEST(Attention, BothPathsAgreeWithTheIndependentReferenceInOutputsAndGradients) {
  int index = 0;
  for (const auto& c : agreement_cases()) {
    auto attn = make_attention(c, 100 + index++);
    const auto problem = gradient_problem(attn, c, 2, c.tokens());
    const auto &q = problem.q, &k = problem.k, &v = problem.v, &r = problem.r;
    const auto& inputs = problem.inputs;
    auto y_ref = fma_dense_reference(*attn, q, k, v);
    auto g_ref = torch::autograd::grad({(y_ref * r).sum()}, inputs);
    for (FmaPath path : {FmaPath::kernel, FmaPath::ops}) {
      SCOPED_TRACE(describe(c) + " path " + path_name(path));
      attn->set_path(path);
      auto y = attn->forward(q, k, v);
      auto g = torch::autograd::grad({(y * r).sum()}, inputs);
      EXPECT_LT(max_abs(y - y_ref), 1e-5);
      for (size_t i = 0; i < inputs.size(); ++i)
        EXPECT_LT(max_abs(g[i] - g_ref[i]), 2e-5 * std::max(1.0, max_abs(g_ref[i]))) << "gradient " << i;
    }
  }
}

// Causal inputs shorter than a valid length (odd lengths): both paths right-pad them; the
// reference on the zero-padded input gives the same rows (padding is future).
TEST(Attention, OddLengthCausalInputsAgreeWithTheReferenceOnBothPaths) {
  int index = 0;
  for (const auto& [c, T] : std::vector<std::pair<AttentionConfig, int64_t>>{
           {cfg_1d(Variant::causal, 64, 8, 2, 8), 37}, {cfg_1d(Variant::causal, 64, 4, 4, 8, Downsampling::avgpool), 61},
           {cfg_1d(Variant::causal, 128, 16, 3, 6, Downsampling::conv, Boundary::zero_pad), 99},
           {cfg_1d(Variant::causal, 32, 1, 1, 4), 31}}) {
    auto attn = make_attention(c, 900 + index++);
    const int64_t n = c.tokens();
    const auto problem = gradient_problem(attn, c, 1, T);
    const auto &q = problem.q, &k = problem.k, &v = problem.v, &r = problem.r;
    auto pad = [&](const torch::Tensor& x) { return torch::constant_pad_nd(x, {0, 0, 0, n - T}); };
    auto y_ref = fma_dense_reference(*attn, pad(q), pad(k), pad(v)).narrow(2, 0, T);
    auto g_ref = torch::autograd::grad({(y_ref * r).sum()}, {q, k, v});
    for (FmaPath path : {FmaPath::kernel, FmaPath::ops}) {
      SCOPED_TRACE(describe(c) + " T=" + std::to_string(T) + " path " + path_name(path));
      attn->set_path(path);
      auto y = attn->forward(q, k, v);
      ASSERT_EQ(y.size(2), T);
      auto g = torch::autograd::grad({(y * r).sum()}, {q, k, v});
      EXPECT_LT(max_abs(y - y_ref), 1e-5);
      for (size_t i = 0; i < 3; ++i) EXPECT_LT(max_abs(g[i] - g_ref[i]), 2e-5 * std::max(1.0, max_abs(g_ref[i])));
    }
  }
}

// The LibTorch path in float64 on small sizes: it equals the float64 reference to rounding,
// and its gradients (inputs and downsampling weights) equal central finite differences.
TEST(Attention, OpsPathGradientsInDoubleMatchFiniteDifferences) {
  int index = 0;
  for (const auto& c : {cfg_1d(Variant::causal, 16, 2, 2, 3, Downsampling::groupedconv, Boundary::zero_pad),
                        cfg_1d(Variant::bidirectional, 16, 2, 2, 3, Downsampling::conv),
                        cfg_1d(Variant::bidirectional, 16, 2, 1, 3, Downsampling::groupedconv, Boundary::mask, true),
                        cfg_2d(8, 1, 1, 3), cfg_2d(8, 2, 2, 3, Downsampling::groupedconv, true),
                        cfg_1d(Variant::causal, 32, 2, 2, 3, Downsampling::nested, Boundary::zero_pad),
                        cfg_1d(Variant::bidirectional, 32, 2, 1, 3, Downsampling::nested)}) {
    SCOPED_TRACE(describe(c));
    auto attn = make_attention(c, 40 + index++);
    attn->to(torch::kDouble);
    attn->set_path(FmaPath::ops);
    const auto problem = gradient_problem(attn, c, 1, c.tokens(), torch::kDouble);
    const auto &q = problem.q, &k = problem.k, &v = problem.v, &r = problem.r;
    const auto& inputs = problem.inputs;
    auto loss = [&] { return (attn->forward(q, k, v) * r).sum(); };
    auto y = attn->forward(q, k, v);
    ASSERT_EQ(y.scalar_type(), torch::kDouble);
    EXPECT_LT(max_abs(y - fma_dense_reference(*attn, q, k, v)), 1e-12);
    auto grads = torch::autograd::grad({loss()}, inputs);
    torch::NoGradGuard no_grad;
    std::mt19937 rng(11);
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto flat = inputs[i].view({-1});
      for (int probe = 0; probe < 6; ++probe) {
        const int64_t at = std::uniform_int_distribution<int64_t>(0, flat.numel() - 1)(rng);
        const double x0 = flat[at].item<double>(), eps = 1e-6;
        flat[at] = x0 + eps;
        const double up = loss().item<double>();
        flat[at] = x0 - eps;
        const double down = loss().item<double>();
        flat[at] = x0;
        const double numeric = (up - down) / (2 * eps), analytic = grads[i].reshape({-1})[at].item<double>();
        EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "input " << i << " element " << at;
      }
    }
  }
}

// Column of the dense reference for (level, slot ref): n tokens, then per level blocks*p.
int64_t dense_column(const Layout& layout, int l, const SlotRef& s) {
  if (l == 0) return s.block;
  int64_t col = layout.tokens();
  for (int j = 1; j < l; ++j) col += layout.level(j).blocks * layout.level(j).summaries;
  return col + s.block * layout.level(l).summaries + s.summary;
}

TEST(Attention, CaptureEqualsDenseReferenceWeightsAndRowsSumToOne) {
  std::vector<AttentionConfig> cases{
      cfg_1d(Variant::causal, 64, 4, 2, 8), cfg_1d(Variant::causal, 64, 4, 2, 8, Downsampling::groupedconv, Boundary::zero_pad),
      cfg_1d(Variant::bidirectional, 64, 4, 2, 8), cfg_1d(Variant::bidirectional, 64, 4, 2, 8, Downsampling::groupedconv, Boundary::mask, true),
      cfg_2d(16, 2, 2, 8), cfg_2d(16, 2, 2, 8, Downsampling::groupedconv, true)};
  for (const auto& c : cases) {
    SCOPED_TRACE(describe(c));
    torch::NoGradGuard no_grad;
    auto attn = make_attention(c, 3);
    const int64_t n = c.tokens(), B = 2 * c.heads;
    auto q = torch::randn({2, c.heads, n, c.head_dim}), k = torch::randn_like(q), v = torch::randn_like(q);
    FmaCapture cap;
    attn->forward(q, k, v, &cap);
    torch::Tensor W;
    fma_dense_reference(*attn, q, k, v, &W);
    const Layout& layout = *attn->plan(n, torch::kCPU).layout;
    ASSERT_EQ(static_cast<int>(cap.weights.size()), layout.num_levels());
    auto total = torch::zeros({B, n}, torch::kDouble), phantom_total = torch::zeros({B, n}, torch::kDouble);
    auto ta = total.accessor<double, 2>(), pa = phantom_total.accessor<double, 2>();
    for (int l = 0; l < layout.num_levels(); ++l) {
      const auto& band = cap.weights[static_cast<size_t>(l)];
      ASSERT_EQ(band.sizes(), (std::vector<int64_t>{B, n, layout.level(l).slots}));
      auto acc = band.accessor<float, 3>();
      for (int64_t bb = 0; bb < B; ++bb)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t kk = 0; kk < layout.level(l).slots; ++kk)
            (layout.slot(l, i, kk).phantom ? pa : ta)[bb][i] += acc[bb][i][kk];
      auto wa = W.accessor<float, 3>();
      for (int64_t bb = 0; bb < B; bb += 3)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t kk = 0; kk < layout.level(l).slots; ++kk) {
            SlotRef s = layout.slot(l, i, kk);
            if (!s.valid) {
              ASSERT_EQ(acc[bb][i][kk], 0.0f);
            } else if (!s.phantom) {
              ASSERT_NEAR(acc[bb][i][kk], wa[bb][i][dense_column(layout, l, s)], 1e-6) << "level " << l << " i " << i;
            }
          }
    }
    // Row sums: 1 with mask; 1 - phantom mass with zero_pad (phantom score 0: mass = count e^-M / Z).
    // The phantom slots are in the band (a viewer shows the sink) and carry exactly that mass.
    for (int64_t i = 0; i < n; ++i) {
      const double phantom = layout.phantom_count(i);
      for (int64_t bb = 0; bb < B; ++bb) {
        const double mass = phantom * std::exp(-cap.row_max[bb][i].item<double>()) / cap.row_norm[bb][i].item<double>();
        ASSERT_NEAR(ta[bb][i], 1.0 - mass, 1e-5);
        ASSERT_NEAR(pa[bb][i], mass, 1e-5);
        if (c.boundary == Boundary::zero_pad) {
          ASSERT_NEAR(W[bb][i][W.size(2) - 1].item<double>(), mass, 1e-5);
        }
      }
    }
  }
}

TEST(Attention, CausalOutputsAndGradientsDoNotSeeTheFuture) {
  for (auto c : {cfg_1d(Variant::causal, 128, 8, 2, 8, Downsampling::groupedconv, Boundary::zero_pad),
                 cfg_1d(Variant::causal, 128, 4, 4, 8), cfg_1d(Variant::causal, 64, 8, 2, 8, Downsampling::conv)}) {
    SCOPED_TRACE(describe(c));
    auto attn = make_attention(c, 11);
    const int64_t n = c.n;
    auto q = torch::randn({1, c.heads, n, c.head_dim}), k = torch::randn_like(q), v = torch::randn_like(q);
    for (int64_t i : {int64_t{0}, int64_t{5}, n / 2 - 1, n / 2 + 3, n - 2}) {
      auto q2 = q.clone(), k2 = k.clone(), v2 = v.clone();
      const auto future = torch::indexing::Slice(i + 1, torch::indexing::None);
      for (auto* t : {&q2, &k2, &v2})
        t->index_put_({torch::indexing::Slice(), torch::indexing::Slice(), future}, torch::randn({1, c.heads, n - i - 1, c.head_dim}) * 5);
      auto run = [&](torch::Tensor a, torch::Tensor b, torch::Tensor cc) {
        a = a.clone().requires_grad_(), b = b.clone().requires_grad_(), cc = cc.clone().requires_grad_();
        auto y = attn->forward(a, b, cc);
        auto past = y.index({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(0, i + 1)});
        auto g = torch::autograd::grad({(past * past).sum()}, {a, b, cc});
        return std::make_pair(past.detach(), g);
      };
      auto [y1, g1] = run(q, k, v);
      auto [y2, g2] = run(q2, k2, v2);
      ASSERT_TRUE(torch::equal(y1, y2)) << "output " << i << " changed with the future";
      for (int j = 0; j < 3; ++j) {
        ASSERT_TRUE(torch::equal(g1[j], g2[j])) << "gradient " << j << " changed with the future at i=" << i;
        auto fut = g1[j].index({torch::indexing::Slice(), torch::indexing::Slice(), future});
        ASSERT_EQ(fut.abs().max().item<float>(), 0.0f);
      }
    }
  }
}

// Keys and values constant on every chunk any summary averages (width w_L / p): avgpool
// summaries with alpha = w/p then stand for their tokens exactly, so FMA is dense attention.
TEST(Attention, AvgpoolOnBlockConstantInputsIsExactDenseAttention) {
  for (auto c : {cfg_1d(Variant::causal, 128, 8, 2, 8, Downsampling::avgpool, Boundary::mask),
                 cfg_1d(Variant::causal, 128, 8, 2, 8, Downsampling::avgpool, Boundary::zero_pad),
                 cfg_1d(Variant::causal, 64, 4, 1, 8, Downsampling::avgpool, Boundary::zero_pad),
                 cfg_1d(Variant::bidirectional, 128, 8, 4, 8, Downsampling::avgpool),
                 cfg_2d(16, 2, 1, 8, Downsampling::avgpool), cfg_2d(32, 2, 4, 8, Downsampling::avgpool)}) {
    SCOPED_TRACE(describe(c));
    torch::NoGradGuard no_grad;
    FmaAttention attn(c);
    const Layout& layout = *attn->plan(c.tokens(), torch::kCPU).layout;
    const auto& top = layout.level(layout.num_levels() - 1);
    const int64_t chunk = top.block_tokens / c.p, n = c.tokens();
    // Constant on chunks of `chunk` tokens in internal order (2D: Morton), then to token order.
    const int64_t pieces = n / chunk;
    auto make = [&] {
      auto base = torch::randn({1, c.heads, pieces, c.head_dim}).repeat_interleave(chunk, 2);
      if (c.variant != Variant::grid2d) return base;
      std::vector<int64_t> idx(static_cast<size_t>(n));
      for (int64_t t = 0; t < n; ++t) idx[static_cast<size_t>(t)] = layout.to_internal(t);
      return base.index_select(2, torch::tensor(idx));
    };
    auto q = torch::randn({1, c.heads, n, c.head_dim}), k = make(), v = make();
    auto y = attn->forward(q, k, v);
    // Dense softmax attention, with the phantom prefix (score 0, value 0) of zero_pad.
    auto S = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(c.head_dim));
    if (c.variant == Variant::causal)
      S = S.masked_fill(torch::ones({n, n}, torch::kBool).triu(1), -std::numeric_limits<float>::infinity());
    std::vector<float> ph(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const double cnt = layout.phantom_count(i);
      ph[static_cast<size_t>(i)] = cnt > 0 ? std::log(cnt) : -std::numeric_limits<float>::infinity();
    }
    S = torch::cat({S, torch::tensor(ph).view({1, 1, n, 1}).expand({1, c.heads, n, 1})}, 3);
    auto W = torch::softmax(S, -1);
    auto y_dense = torch::matmul(W.narrow(3, 0, n), v);
    EXPECT_LT(max_abs(y - y_dense), 1e-5);
  }
}

TEST(Attention, NestedStartsAsAvgpoolAndItsParametersDoNotGrowWithN) {
  for (const Variant v : {Variant::causal, Variant::bidirectional}) {
    AttentionConfig nested = cfg_1d(v, 512, 8, 4, 8, Downsampling::nested), avg = nested;
    avg.downsampling = Downsampling::avgpool;
    SCOPED_TRACE(describe(nested));
    torch::manual_seed(3);
    FmaAttention a(nested), b(avg);  // their own initialisation: pairwise averaging
    const auto q = torch::randn({1, nested.heads, 512, nested.head_dim}), k = torch::randn_like(q), x = torch::randn_like(q);
    for (FmaPath path : {FmaPath::ops, FmaPath::kernel}) {
      a->set_path(path);
      b->set_path(path);
      EXPECT_LT(max_abs(a->forward(q, k, x) - b->forward(q, k, x)), 1e-5) << path_name(path);
    }
    // The viewers' basis of level 3 is the avgpool basis.
    EXPECT_LT(max_abs(a->basis_functions(3, 'k') - b->basis_functions(3, 'k')), 1e-6);
  }
  // Level 1 holds p*d*m + p*d per projection; every further level p*d*2p + p*d, whatever its width.
  auto count = [](int64_t n) {
    FmaAttention a(cfg_1d(Variant::causal, n, 32, 4, 32, Downsampling::nested));
    int64_t total = 0;
    for (const auto& p : a->parameters()) total += p.numel();
    return total;
  };
  const int64_t per_level = 2 * (4 * 32 * 8 + 4 * 32);
  EXPECT_EQ(count(1024), 2 * (4 * 32 * 32 + 4 * 32) + 3 * per_level);  // 4 coarse levels at n = 1024
  EXPECT_EQ(count(65536) - count(1024), 6 * per_level);                // 6 more levels, not 64x the weights
  // 2D and query downsampling are refused by name.
  EXPECT_THROW(FmaAttention(cfg_2d(16, 2, 2, 8, Downsampling::nested)), ConfigError);
  EXPECT_THROW(FmaAttention(cfg_1d(Variant::bidirectional, 64, 8, 2, 8, Downsampling::nested, Boundary::mask, true)), ConfigError);
}

TEST(Attention, FineOnlyIsExactCausalAttention) {
  auto c = cfg_1d(Variant::causal, 32, 16, 3, 8);
  auto attn = make_attention(c, 5);
  torch::NoGradGuard no_grad;
  auto q = torch::randn({2, 2, 32, 8}), k = torch::randn_like(q), v = torch::randn_like(q);
  EXPECT_LT(max_abs(attn->forward(q, k, v) - dense_attention(q, k, v, true)), 1e-6);
  auto cb = cfg_1d(Variant::bidirectional, 32, 16, 3, 8);
  auto ab = make_attention(cb, 5);
  EXPECT_LT(max_abs(ab->forward(q, k, v) - dense_attention(q, k, v, false)), 1e-6);
}

// Softmax attention in float64 with LibTorch's own ops (b, h, n, d): what dense_attention,
// which runs its own per-slice loop on the CPU, must equal. Also returns the weights.
torch::Tensor plain_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      bool causal, torch::Tensor& weights) {
  const int64_t n = q.size(2);
  auto scores = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(q.size(3)));
  if (causal)
    scores = scores.masked_fill(torch::ones({n, n}, torch::kBool).triu(1), -std::numeric_limits<double>::infinity());
  weights = torch::softmax(scores, -1);
  return torch::matmul(weights, v);
}

TEST(DenseAttention, EqualsPlainSoftmaxAttentionInOutputsWeightsAndGradients) {
  torch::manual_seed(3);
  // One slice (this thread, BLAS's threads), and more slices than threads (LibTorch's pool of
  // two: one slice per thread at a time, BLAS on the calling thread).
  const std::vector<std::vector<int64_t>> shapes{{1, 1, 7, 5}, {2, 3, 33, 8}, {3, 4, 64, 16}};
  const int pool_before = torch::get_num_threads();
  for (const int pool : {1, 2})
  for (const bool causal : {true, false})
    for (const auto& shape : shapes) {
      torch::set_num_threads(pool);
      SCOPED_TRACE(::testing::Message() << "pool " << pool << (causal ? " causal " : " bidirectional ") << shape[0]
                                        << "x" << shape[1] << " n " << shape[2] << " d " << shape[3]);
      const auto q = torch::randn(shape, torch::kDouble).requires_grad_();
      const auto k = torch::randn(shape, torch::kDouble).requires_grad_();
      const auto v = torch::randn(shape, torch::kDouble).requires_grad_();
      torch::Tensor weights_ref;
      const auto y_ref = plain_softmax_attention(q, k, v, causal, weights_ref);
      const auto grad_y = torch::randn(shape, torch::kDouble);
      (y_ref * grad_y).sum().backward();

      const auto qf = q.detach().to(torch::kFloat).requires_grad_();
      const auto kf = k.detach().to(torch::kFloat).requires_grad_();
      const auto vf = v.detach().to(torch::kFloat).requires_grad_();
      torch::Tensor weights;
      const auto y = dense_attention(qf, kf, vf, causal, &weights);
      EXPECT_EQ(y.scalar_type(), torch::kFloat);
      EXPECT_LT(max_abs(y.to(torch::kDouble) - y_ref), 1e-5);
      EXPECT_LT(max_abs(weights.to(torch::kDouble) - weights_ref), 1e-6);
      (y * grad_y.to(torch::kFloat)).sum().backward();
      EXPECT_LT(max_abs(qf.grad().to(torch::kDouble) - q.grad()), 1e-4);
      EXPECT_LT(max_abs(kf.grad().to(torch::kDouble) - k.grad()), 1e-4);
      EXPECT_LT(max_abs(vf.grad().to(torch::kDouble) - v.grad()), 1e-4);

      // Without gradients (inference: one slice's matrix at a time), with and without weights.
      torch::NoGradGuard no_grad;
      torch::Tensor weights_inference;
      EXPECT_LT(max_abs(dense_attention(qf, kf, vf, causal, &weights_inference).to(torch::kDouble) - y_ref), 1e-5);
      EXPECT_LT(max_abs(weights_inference.to(torch::kDouble) - weights_ref), 1e-6);
      EXPECT_LT(max_abs(dense_attention(qf, kf, vf, causal).to(torch::kDouble) - y_ref), 1e-5);
    }
  torch::set_num_threads(pool_before);
}

TEST(DenseAttention, LeavesOpenBlasWithTheThreadsItHad) {
  using GetThreads = int (*)();
  using SetThreads = void (*)(int);
  const auto get = reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (get == nullptr || set == nullptr) GTEST_SKIP() << "LibTorch's BLAS is not OpenBLAS";
  const int before = get();
  set(2);  // more than one, so that the per-slice path has a count to lower and give back
  ASSERT_EQ(get(), 2);
  const int pool_before = torch::get_num_threads();
  torch::set_num_threads(2);  // a pool of two takes the per-slice path (16 slices)
  const auto q = torch::randn({4, 4, 32, 8}, torch::requires_grad());
  torch::Tensor weights;
  dense_attention(q, q, q, true, &weights).sum().backward();
  EXPECT_EQ(get(), 2);
  set(before);
  torch::set_num_threads(pool_before);
}

TEST(Attention, ShortCausalInputEqualsThePrefixOfAFullRun) {
  auto c = cfg_1d(Variant::causal, 256, 8, 2, 8);
  auto attn = make_attention(c, 9);
  torch::NoGradGuard no_grad;
  auto q = torch::randn({1, 2, 256, 8}), k = torch::randn_like(q), v = torch::randn_like(q);
  auto full = attn->forward(q, k, v);
  for (int64_t T : {1, 7, 16, 100, 129, 255}) {
    using torch::indexing::Slice;
    auto part = attn->forward(q.narrow(2, 0, T), k.narrow(2, 0, T), v.narrow(2, 0, T));
    ASSERT_EQ(part.size(2), T);
    EXPECT_LT(max_abs(part - full.narrow(2, 0, T)), 1e-6) << "T=" << T;
  }
  // zero_pad pads to the configured n (phantom counts depend on n): still the prefix.
  auto cz = cfg_1d(Variant::causal, 128, 8, 2, 8, Downsampling::groupedconv, Boundary::zero_pad);
  auto az = make_attention(cz, 9);
  auto q2 = q.narrow(2, 0, 128), k2 = k.narrow(2, 0, 128), v2 = v.narrow(2, 0, 128);
  EXPECT_LT(max_abs(az->forward(q2.narrow(2, 0, 50), k2.narrow(2, 0, 50), v2.narrow(2, 0, 50)) -
                    az->forward(q2, k2, v2).narrow(2, 0, 50)), 1e-6);
}

TEST(Attention, HalfAndBfloat16InputsKeepTheirDtypeWithFloat32Softmax) {
  auto c = cfg_1d(Variant::causal, 128, 8, 2, 16);
  auto attn = make_attention(c, 2);
  torch::NoGradGuard no_grad;
  auto q = torch::randn({1, 2, 128, 16}), k = torch::randn_like(q), v = torch::randn_like(q);
  auto y32 = attn->forward(q, k, v);
  for (auto dt : {torch::kHalf, torch::kBFloat16}) {
    auto y = attn->forward(q.to(dt), k.to(dt), v.to(dt));
    EXPECT_EQ(y.scalar_type(), dt);
    EXPECT_LT(max_abs(y.to(torch::kFloat) - y32), dt == torch::kHalf ? 1e-2 : 5e-2);
  }
}

TEST(Attention, WrongShapesAreRefused) {
  auto attn = make_attention(cfg_1d(Variant::causal, 64, 8, 2, 8), 1);
  auto ok = torch::randn({1, 2, 64, 8});
  EXPECT_THROW(attn->forward(torch::randn({1, 3, 64, 8}), torch::randn({1, 3, 64, 8}), torch::randn({1, 3, 64, 8})), ConfigError);
  EXPECT_THROW(attn->forward(torch::randn({1, 2, 65, 8}), torch::randn({1, 2, 65, 8}), torch::randn({1, 2, 65, 8})), ConfigError);
  EXPECT_ANY_THROW(attn->forward(ok, torch::randn({1, 2, 32, 8}), ok));
  auto bi = make_attention(cfg_1d(Variant::bidirectional, 64, 8, 2, 8), 1);
  try {
    bi->forward(ok.narrow(2, 0, 40), ok.narrow(2, 0, 40), ok.narrow(2, 0, 40));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("m * 2^k"), std::string::npos);
  }
}

}  // namespace
}  // namespace fmalens

namespace fmalens {
namespace {

// The CPU kernel (forward_kernel, with its own backward) against the LibTorch-ops path.
TEST(Attention, CpuKernelAgreesWithOpsPathInOutputsGradientsAndCapture) {
  int index = 0;
  for (const auto& c : agreement_cases()) {
    SCOPED_TRACE(describe(c));
    auto attn = make_attention(c, 300 + index++);
    ASSERT_TRUE(attn->kernel_applies(torch::zeros({1})));
    const auto problem = gradient_problem(attn, c, 2, c.tokens());
    const auto &q = problem.q, &k = problem.k, &v = problem.v, &r = problem.r;
    const auto& inputs = problem.inputs;
    attn->set_path(FmaPath::kernel);
    auto y_kernel = attn->forward(q, k, v);
    attn->set_path(FmaPath::ops);
    auto y_ops = attn->forward(q, k, v);
    auto g_kernel = torch::autograd::grad({(y_kernel * r).sum()}, inputs);
    auto g_ops = torch::autograd::grad({(y_ops * r).sum()}, inputs);
    EXPECT_LT(max_abs(y_kernel - y_ops), 1e-5);
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_LT(max_abs(g_kernel[i] - g_ops[i]), 2e-5 * std::max(1.0, max_abs(g_ops[i]))) << "gradient " << i;
    torch::NoGradGuard no_grad;
    FmaCapture ck, co;
    attn->set_path(FmaPath::kernel);
    attn->forward(q, k, v, &ck);
    attn->set_path(FmaPath::ops);
    attn->forward(q, k, v, &co);
    ASSERT_EQ(ck.weights.size(), co.weights.size());
    for (size_t l = 0; l < ck.weights.size(); ++l) EXPECT_LT(max_abs(ck.weights[l] - co.weights[l]), 1e-6) << "level " << l;
    EXPECT_LT(max_abs(ck.row_max - co.row_max), 1e-5);
    EXPECT_LT(max_abs((ck.row_norm - co.row_norm) / co.row_norm), 1e-5);
  }
}

// Every instruction-set build of the kernel this CPU runs gives the same result.
// The kernel keeps its own layout of the downsampling weights between inference runs; a
// changed parameter (an optimiser step, a loaded checkpoint) must be seen on the next run.
// The expected output comes from a freshly built layer holding copies of the parameters, on
// the ops path: it has no cache to share with the layer under test.
TEST(Attention, KernelSeesChangedDownsamplingWeights) {
  for (const auto& c : agreement_cases()) {
    if (c.downsampling != Downsampling::groupedconv || Layout(c).num_levels() < 2) continue;
    SCOPED_TRACE(describe(c));
    auto attn = make_attention(c, 700);
    attn->set_path(FmaPath::kernel);
    const int64_t n = c.tokens();
    auto q = torch::randn({1, c.heads, n, c.head_dim});
    auto k = torch::randn({1, c.heads, n, c.head_dim});
    auto v = torch::randn({1, c.heads, n, c.head_dim});
    torch::NoGradGuard no_grad;
    auto fresh_output = [&] {
      FmaAttention fresh(c);
      fresh->set_path(FmaPath::ops);
      auto mine = attn->named_parameters(), theirs = fresh->named_parameters();
      for (const auto& item : mine) theirs[item.key()].copy_(item.value());
      return fresh->forward(q, k, v);
    };
    // Kernel and ops round differently: bounds relative to the output's size.
    auto close = [](const torch::Tensor& a, const torch::Tensor& b) { return max_abs(a - b) < 2e-5 * std::max(1.0, max_abs(b)); };
    const auto before = attn->forward(q, k, v);
    EXPECT_TRUE(close(before, fresh_output()));
    // In place, as an optimiser step does.
    for (auto& param : attn->parameters()) param.mul_(-1.5).add_(0.25);
    const auto after = attn->forward(q, k, v);
    EXPECT_GT(max_abs(after - before), 1e-3);
    EXPECT_TRUE(close(after, fresh_output()));
    // New storage, as loading a checkpoint does (unscaled: larger outputs, a relative bound).
    for (auto& param : attn->parameters()) param.set_(torch::randn_like(param));
    const auto reloaded = attn->forward(q, k, v);
    const auto expected = fresh_output();
    EXPECT_GT(max_abs(reloaded - after), 1e-3);
    // Unit-variance weights make scores in the hundreds, whose softmax magnifies rounding: a
    // BLAS with other kernels (OpenBLAS SkylakeX against Prescott) moves the ops path by 2e-5 of
    // the output. A stale cache would be off by the whole change, every parameter redrawn (of
    // the output's own size), so 1e-4 of it still tells them apart.
    EXPECT_LT(max_abs(reloaded - expected), 1e-4 * std::max(1.0, max_abs(expected)));
  }
}

TEST(Attention, EveryKernelBuildAgrees) {
  auto c = cfg_1d(Variant::causal, 256, 16, 4, 24, Downsampling::groupedconv, Boundary::zero_pad);
  auto attn = make_attention(c, 5);
  auto q = torch::randn({2, 2, 256, 24}, torch::requires_grad()), k = torch::randn_like(q).requires_grad_(),
       v = torch::randn_like(q).requires_grad_();
  auto y_ops = attn->forward_ops(q, k, v);
  auto g_ops = torch::autograd::grad({y_ops.square().sum()}, {q, k, v});
  int tried = 0;
  for (const char* name : {"generic", "avx2", "avx512"}) {
    const kernel::Ops* ops = kernel::ops_by_name(name);
    if (!ops) continue;
    SCOPED_TRACE(name);
    ++tried;
    kernel::force_ops(ops);
    auto y = attn->forward_kernel(q, k, v);
    auto g = torch::autograd::grad({y.square().sum()}, {q, k, v});
    kernel::force_ops(nullptr);
    EXPECT_LT(max_abs(y - y_ops), 1e-5);
    for (int i = 0; i < 3; ++i) EXPECT_LT(max_abs(g[i] - g_ops[i]), 1e-4);
  }
  EXPECT_GE(tried, 1);  // generic runs everywhere
}

// The agreement tests on a CUDA device, where forward() takes the ops path: against the CPU
// kernel (output, gradients of inputs and weights, capture), and the dense reference run on the
// device in float64 (no TF32 there). Registered only in builds whose LibTorch has CUDA
// (tests/CMakeLists.txt); there, no device is a failure.
TEST(CudaAttention, OpsPathOnTheDeviceAgreesWithTheCpuKernelAndTheReference) {
  ASSERT_TRUE(torch::cuda::is_available()) << "this LibTorch has CUDA, but no CUDA device is available";
  const torch::Device gpu(torch::kCUDA), cpu(torch::kCPU);
  int index = 0;
  for (const auto& c : agreement_cases()) {
    SCOPED_TRACE(describe(c));
    const uint64_t seed = 500 + index++;
    auto on_cpu = make_attention(c, seed), on_gpu = make_attention(c, seed);  // the same weights
    on_cpu->set_path(FmaPath::kernel);
    on_gpu->to(gpu);
    auto q = torch::randn({2, c.heads, c.tokens(), c.head_dim}), k = torch::randn_like(q), v = torch::randn_like(q);
    auto r = torch::randn_like(q);
    // [y, gradients of q, k, v and the weights] on the host, and the capture.
    auto run = [&](FmaAttention& a, const torch::Device& at, FmaCapture* capture) {
      std::vector<torch::Tensor> inputs{q.to(at).requires_grad_(), k.to(at).requires_grad_(), v.to(at).requires_grad_()};
      for (const auto& p : a->parameters()) inputs.push_back(p);
      auto y = a->forward(inputs[0], inputs[1], inputs[2]);
      auto out = torch::autograd::grad({(y * r.to(at)).sum()}, inputs);
      out.insert(out.begin(), y);
      for (auto& t : out) t = t.detach().to(cpu);
      torch::NoGradGuard no_grad;
      a->forward(q.to(at), k.to(at), v.to(at), capture);
      return out;
    };
    FmaCapture cap_cpu, cap_gpu;
    const auto want = run(on_cpu, cpu, &cap_cpu);
    ASSERT_FALSE(on_gpu->kernel_applies(q.to(gpu)));
    const auto got = run(on_gpu, gpu, &cap_gpu);
    EXPECT_LT(max_abs(got[0] - want[0]), 1e-5);
    for (size_t i = 1; i < want.size(); ++i)
      EXPECT_LT(max_abs(got[i] - want[i]), 2e-5 * std::max(1.0, max_abs(want[i]))) << "gradient " << i - 1;
    ASSERT_EQ(cap_gpu.weights.size(), cap_cpu.weights.size());
    for (size_t l = 0; l < cap_cpu.weights.size(); ++l)
      EXPECT_LT(max_abs(cap_gpu.weights[l].to(cpu) - cap_cpu.weights[l]), 5e-6) << "level " << l;  // other sum orders
    EXPECT_LT(max_abs(cap_gpu.row_max.to(cpu) - cap_cpu.row_max), 1e-5);
    EXPECT_LT(max_abs((cap_gpu.row_norm.to(cpu) - cap_cpu.row_norm) / cap_cpu.row_norm), 1e-5);
    torch::NoGradGuard no_grad;
    on_gpu->to(torch::kDouble);
    const auto q64 = q.to(gpu, torch::kDouble), k64 = k.to(gpu, torch::kDouble), v64 = v.to(gpu, torch::kDouble);
    const auto y_ref = fma_dense_reference(*on_gpu, q64, k64, v64);
    EXPECT_LT(max_abs((on_gpu->forward(q64, k64, v64) - y_ref).to(cpu)), 1e-10);
    EXPECT_LT(max_abs(y_ref.to(cpu, torch::kFloat) - want[0]), 1e-5);
  }
}

TEST(CudaAttention, HalfAndBfloat16OnTheDeviceKeepTheirDtypeWithFloat32Softmax) {
  ASSERT_TRUE(torch::cuda::is_available()) << "this LibTorch has CUDA, but no CUDA device is available";
  auto c = cfg_1d(Variant::causal, 256, 16, 4, 16, Downsampling::groupedconv, Boundary::zero_pad);
  auto attn = make_attention(c, 2);
  torch::NoGradGuard no_grad;
  auto q = torch::randn({1, 2, 256, 16}), k = torch::randn_like(q), v = torch::randn_like(q);
  const auto y32 = attn->forward(q, k, v);
  attn->to(torch::kCUDA);
  for (auto dt : {torch::kHalf, torch::kBFloat16}) {
    const auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(dt);
    auto y = attn->forward(q.to(opts), k.to(opts), v.to(opts));
    EXPECT_EQ(y.scalar_type(), dt);
    EXPECT_LT(max_abs(y.to(torch::kCPU, torch::kFloat) - y32), dt == torch::kHalf ? 1e-2 : 5e-2);
  }
}

}  // namespace
}  // namespace fmalens
