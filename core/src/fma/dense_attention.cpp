// Plain softmax attention, the dense twins' attention and the benchmarks' baseline.
// On the CPU it runs one (batch, head) slice at a time on each thread of LibTorch's pool, with
// OpenBLAS on the calling thread: the batched products of `matmul` call OpenBLAS once per
// slice, each threaded over every core, which on slices of a few MFLOP (an image model's
// 256 x 24 heads) took twice one thread's time on an idle machine and 10-100x with the cores
// busy. Without gradients the n x n matrix of one slice at a time is all it holds.
#include <algorithm>
#include <cmath>
#include <limits>

#include "fma/attention.h"
#include "threads.h"

#include <torch/version.h>

namespace fmalens {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// How many workers share the slices; over_slices runs body(worker, begin, end) over the slices
// [0, slices) in contiguous runs, one per worker: over LibTorch's pool with single-threaded BLAS
// where there are slices for every thread, otherwise one worker on this thread with OpenBLAS's
// own threads inside each (large) product. Each worker has its own workspace rows, allocated here once per call: n x n blocks
// allocated inside the pool land in every thread's malloc arena and stay there (RSS grew by
// 11 such blocks over 12 calls).
int64_t workers_for(int64_t slices) { return std::max<int64_t>(1, std::min<int64_t>(slices, at::get_num_threads())); }

template <typename Body>
void over_slices(int64_t slices, int64_t workers, const Body& body) {
  if (workers == 1) {
    body(0, 0, slices);
    return;
  }
  SingleThreadedBlas one_thread;
  at::parallel_for(0, workers, 1, [&](int64_t first, int64_t last) {
    for (int64_t w = first; w < last; ++w) body(w, slices * w / workers, slices * (w + 1) / workers);
  });
}

// The (n, n) mask of the future (true above the diagonal), or undefined when bidirectional.
torch::Tensor future_mask(int64_t n, bool causal) {
  if (!causal) return {};
  return torch::ones({n, n}, torch::TensorOptions().dtype(torch::kBool)).triu(1);
}

// y = softmax(q k^T * scale [masked]) v for each slice. q, k, v: (S, n, d) float32 contiguous
// CPU; y (S, n, d) written in place; `weights` (S, n, n) filled when defined.
void dense_forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal,
                   torch::Tensor& y, torch::Tensor& weights) {
  const int64_t slices = q.size(0), n = q.size(1);
  const auto qs = q * (1.0 / std::sqrt(static_cast<double>(q.size(2))));
  const auto future = future_mask(n, causal);
  const int64_t workers = workers_for(slices);
  // Per worker (one block, so that calls reuse it whole): its scores, and its weights when they
  // are not kept.
  const auto workspace = torch::empty({workers, weights.defined() ? 1 : 2, n, n}, q.options());
  over_slices(slices, workers, [&](int64_t w, int64_t begin, int64_t end) {
    auto s_w = workspace[w][0];
    for (int64_t s = begin; s < end; ++s) {
      at::mm_out(s_w, qs[s], k[s].t());
      if (future.defined()) s_w.masked_fill_(future, -std::numeric_limits<float>::infinity());
      auto p = weights.defined() ? weights[s] : workspace[w][1];
      at::softmax_out(p, s_w, -1);
      auto ys = y[s];
      at::mm_out(ys, p, v[s]);
    }
  });
}

// With gradients: keeps the weights (S, n, n) for the backward, as autograd's ops would.
class DenseAttentionFunction : public torch::autograd::Function<DenseAttentionFunction> {
 public:
  // Returns y (S, n, d) and the weights (S, n, n), the latter not differentiable.
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, bool causal) {
    const int64_t slices = q.size(0), n = q.size(1);
    auto y = torch::empty_like(q);
    auto weights = torch::empty({slices, n, n}, q.options());
    dense_forward(q, k, v, causal, y, weights);
    ctx->save_for_backward({q, k, v, weights});
    ctx->mark_non_differentiable({weights});
    return {y, weights};
  }

  // With P the weights and G = dL/dy of a slice: dv = P^T G; dP = G v^T; the softmax's
  // dS = P * (dP - rowsum(dP * P)) (zero where masked, P being zero there); dq = dS k * scale,
  // dk = dS^T q * scale.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &weights = saved[3];
    auto dq = torch::zeros_like(q), dk = torch::zeros_like(k), dv = torch::zeros_like(v);
    if (grad_outputs[0].defined()) {
      const auto grad_y = grad_outputs[0].to(torch::kFloat).contiguous();
      const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(2)));
      const int64_t n = q.size(1);
      const int64_t workers = workers_for(q.size(0));
      // Per worker, one block: dP then dS in place, and dP * P.
      const auto workspace = torch::empty({workers, 2, n, n}, q.options());
      over_slices(q.size(0), workers, [&](int64_t w, int64_t begin, int64_t end) {
        auto ds = workspace[w][0], dp_p = workspace[w][1];
        for (int64_t s = begin; s < end; ++s) {
          const auto p = weights[s], g = grad_y[s];
          auto dvs = dv[s], dqs = dq[s], dks = dk[s];
          at::mm_out(dvs, p.t(), g);
          at::mm_out(ds, g, v[s].t());
          at::mul_out(dp_p, ds, p);
          ds.sub_(dp_p.sum(-1, true)).mul_(p);
          at::mm_out(dqs, ds, k[s]).mul_(scale);
          at::mm_out(dks, ds.t(), q[s]).mul_(scale);
        }
      });
    }
    return {dq, dk, dv, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor dense_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              bool causal, torch::Tensor* weights) {
  const int64_t b = q.size(0), h = q.size(1), n = q.size(2), d = q.size(3);
#if TORCH_VERSION_MAJOR >= 2
  // LibTorch's fused attention (FlashAttention or memory-efficient kernels on CUDA, its own
  // on the CPU; never an n x n matrix): the baseline a user would have. Softmax statistics in
  // float32 inside the kernels. LibTorch 1.13 has no such function.
  if (!weights) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
#endif
  if (!q.device().is_cpu()) {
    auto S = torch::matmul(q.to(torch::kFloat), k.to(torch::kFloat).transpose(2, 3)) / std::sqrt(static_cast<double>(d));
    if (causal) {
      auto future = torch::ones({n, n}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
      S = S.masked_fill(future, -std::numeric_limits<float>::infinity());
    }
    auto W = torch::softmax(S, -1);
    if (weights) *weights = W;
    return torch::matmul(W, v.to(torch::kFloat)).to(q.scalar_type());
  }
  // CPU: (b*h) slices of (n, d), float32.
  const auto slices = [&](const torch::Tensor& t) { return t.to(torch::kFloat).reshape({b * h, n, d}).contiguous(); };
  const auto qf = slices(q), kf = slices(k), vf = slices(v);
  const bool with_grad = torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  torch::Tensor y, W;
  if (with_grad) {
    const auto outputs = DenseAttentionFunction::apply(qf, kf, vf, causal);
    y = outputs[0];
    W = outputs[1];
  } else {
    y = torch::empty_like(qf);
    if (weights) W = torch::empty({b * h, n, n}, qf.options());
    dense_forward(qf, kf, vf, causal, y, W);
  }
  if (weights) *weights = W.view({b, h, n, n});
  return y.view({b, h, n, d}).to(q.scalar_type());
}

}  // namespace fmalens
