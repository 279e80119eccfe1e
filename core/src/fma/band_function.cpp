// Driver of the CPU band kernel: builds the kernel's Problem from a Plan and tensors, runs it
// on LibTorch's thread pool, and wraps it in an autograd Function with the kernel's backward.
// The downsampling stays in LibTorch ops (autograd carries gradients on to the conv weights).
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "fma/attention.h"

namespace fmalens {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Tensors of one call, all (B, rows, d) float32 contiguous CPU, internal order.
struct BandTensors {
  torch::Tensor qs;                  // queries (B, n, d), scaled by q_scale in the scores
  double q_scale = 1.0;              // 1 when qs is already scaled (autograd keeps it so)
  std::vector<torch::Tensor> keys;   // per level: fine = k, coarse = summaries
  std::vector<torch::Tensor> values;
};

kernel::Problem make_problem(const Plan& plan, const BandTensors& t, double masked_score) {
  const Layout& layout = *plan.layout;
  kernel::Problem p;
  p.B = t.qs.size(0);
  p.n = t.qs.size(1);
  p.d = t.qs.size(2);
  p.tile_queries = plan.kernel_tile;
  p.num_levels = static_cast<int>(plan.kernel_levels.size());  // 1 with query downsampling
  p.masked_score = static_cast<float>(masked_score);
  p.q = t.qs.data_ptr<float>();
  p.q_scale = static_cast<float>(t.q_scale);
  p.tile_valid = plan.kernel_tile_valid.data();
  for (int l = 0; l < p.num_levels; ++l) {
    const LevelGeometry& g = layout.level(l);
    const KernelLevel& kl = plan.kernel_levels[static_cast<size_t>(l)];
    kernel::Level& L = p.level[l];
    L.keys = t.keys[static_cast<size_t>(l)].data_ptr<float>();
    L.values = t.values[static_cast<size_t>(l)].data_ptr<float>();
    L.rows = plan.levels[static_cast<size_t>(l)].rows;
    L.alpha = static_cast<float>(g.alpha);
    L.slots = static_cast<int32_t>(kl.slots);
    L.group_queries = kl.group_queries;
    L.valid = kl.valid.data();
    L.seg_offsets = kl.seg_offsets.data();
    L.segments = kl.segments.data();
    L.capture_slot = kl.capture_slot.empty() ? nullptr : kl.capture_slot.data();
    L.capture_slots = static_cast<int32_t>(g.slots);
  }
  return p;
}

void run_forward(const kernel::Problem& p) {
  const kernel::Ops& ops = kernel::best_ops();
  const int64_t tiles = p.B * (p.n / p.tile_queries);
  at::parallel_for(0, tiles, 1, [&](int64_t begin, int64_t end) { ops.forward(p, begin, end); });
}

void run_backward(const kernel::Problem& p) {
  const kernel::Ops& ops = kernel::best_ops();
  at::parallel_for(0, p.B, 1, [&](int64_t begin, int64_t end) { ops.backward(p, begin, end); });
}

struct BandOutputs {
  torch::Tensor y, row_max, row_norm;
};

BandOutputs band_forward(const Plan& plan, const BandTensors& t, double masked_score, std::vector<torch::Tensor>* capture) {
  kernel::Problem p = make_problem(plan, t, masked_score);
  // Queries of every tile transposed, (B, tiles, d, Q0p): one pass here instead of one
  // scalar transposition per tile in the kernel.
  const int64_t tile = plan.kernel_tile, tile_pad = kernel::padded_tile(tile);
  auto qt = t.qs.view({p.B, p.n / tile, tile, p.d});
  if (tile_pad > tile) qt = torch::constant_pad_nd(qt, {0, 0, 0, tile_pad - tile});
  qt = qt.transpose(2, 3).contiguous();
  p.qt = qt.data_ptr<float>();
  BandOutputs out;
  out.y = torch::empty_like(t.qs);
  out.row_max = torch::empty({p.B, p.n});
  out.row_norm = torch::empty({p.B, p.n});
  p.y = out.y.data_ptr<float>();
  p.row_max = out.row_max.data_ptr<float>();
  p.row_norm = out.row_norm.data_ptr<float>();
  if (capture) {
    capture->clear();
    for (int l = 0; l < p.num_levels; ++l) {
      capture->push_back(torch::empty({p.B, p.n, p.level[l].capture_slots}));
      p.level[l].capture = capture->back().data_ptr<float>();
    }
  }
  run_forward(p);
  return out;
}

// inputs: qs, then keys of every kernel level, then values of every kernel level.
// outputs: y (B, n, d) and the log-normaliser lse (B, n) (differentiable: query downsampling
// merges the fine level with the coarse ones through it).
class FmaBandFunction : public torch::autograd::Function<FmaBandFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs, const Plan* plan, double masked_score) {
    const size_t levels = (inputs.size() - 1) / 2;
    BandTensors t;
    t.qs = inputs[0].contiguous();
    for (size_t l = 0; l < levels; ++l) {
      t.keys.push_back(inputs[1 + l].contiguous());
      t.values.push_back(inputs[1 + levels + l].contiguous());
    }
    BandOutputs out = band_forward(*plan, t, masked_score, nullptr);
    auto lse = out.row_max + torch::log(out.row_norm);  // (B, n) the band's log-normaliser
    variable_list saved{t.qs};
    saved.insert(saved.end(), t.keys.begin(), t.keys.end());
    saved.insert(saved.end(), t.values.begin(), t.values.end());
    saved.push_back(out.y);
    saved.push_back(out.row_max);
    saved.push_back(out.row_norm);
    ctx->save_for_backward(saved);
    ctx->saved_data["plan"] = reinterpret_cast<int64_t>(plan);
    ctx->saved_data["masked"] = masked_score;
    ctx->saved_data["levels"] = static_cast<int64_t>(levels);
    return {out.y, lse};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto* plan = reinterpret_cast<const Plan*>(ctx->saved_data["plan"].toInt());
    const double masked_score = ctx->saved_data["masked"].toDouble();
    const size_t levels = static_cast<size_t>(ctx->saved_data["levels"].toInt());
    BandTensors t;
    t.qs = saved[0];
    for (size_t l = 0; l < levels; ++l) {
      t.keys.push_back(saved[1 + l]);
      t.values.push_back(saved[1 + levels + l]);
    }
    const auto& y = saved[1 + 2 * levels];
    const auto& row_max = saved[2 + 2 * levels];
    const auto& row_norm = saved[3 + 2 * levels];
    kernel::Problem p = make_problem(*plan, t, masked_score);
    auto grad_y = grad_outputs[0].defined() ? grad_outputs[0].to(torch::kFloat).contiguous() : torch::zeros_like(y);
    torch::Tensor grad_lse;
    if (grad_outputs.size() > 1 && grad_outputs[1].defined()) {
      grad_lse = grad_outputs[1].to(torch::kFloat).contiguous();
      p.grad_lse = grad_lse.data_ptr<float>();
    }
    auto grad_q = torch::empty_like(t.qs);
    std::vector<torch::Tensor> gk, gv;
    for (size_t l = 0; l < levels; ++l) {
      gk.push_back(torch::zeros_like(t.keys[l]));
      gv.push_back(torch::zeros_like(t.values[l]));
      p.level[l].grad_keys = gk.back().data_ptr<float>();
      p.level[l].grad_values = gv.back().data_ptr<float>();
    }
    p.y = y.data_ptr<float>();
    p.row_max = row_max.data_ptr<float>();
    p.row_norm = row_norm.data_ptr<float>();
    p.grad_y = grad_y.data_ptr<float>();
    p.grad_q = grad_q.data_ptr<float>();
    run_backward(p);
    variable_list grads{grad_q};
    grads.insert(grads.end(), gk.begin(), gk.end());
    grads.insert(grads.end(), gv.begin(), gv.end());
    grads.emplace_back();  // plan
    grads.emplace_back();  // masked score
    return grads;
  }
};

// out (B, n/bt * p, d) from x (B, n, d), w (bt, p, d), bias (p, d); CPU float32.
class DepthwiseDownsampleFunction : public torch::autograd::Function<DepthwiseDownsampleFunction> {
 public:
  static kernel::Downsample problem(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
    kernel::Downsample ds;
    ds.B = x.size(0);
    ds.n = x.size(1);
    ds.d = x.size(2);
    ds.bt = w.size(0);
    ds.p = w.size(1);
    ds.x = x.data_ptr<float>();
    ds.w = w.data_ptr<float>();
    ds.bias = bias.data_ptr<float>();
    return ds;
  }

  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& w_in,
                               const torch::Tensor& bias_in) {
    auto x = x_in.contiguous(), w = w_in.contiguous(), bias = bias_in.contiguous();
    kernel::Downsample ds = problem(x, w, bias);
    const int64_t blocks = ds.B * (ds.n / ds.bt);
    auto out = torch::empty({ds.B, ds.n / ds.bt * ds.p, ds.d});
    ds.out = out.data_ptr<float>();
    const kernel::Ops& ops = kernel::best_ops();
    at::parallel_for(0, blocks, 1, [&](int64_t b, int64_t e) { ops.downsample_forward(ds, b, e); });
    ctx->save_for_backward({x, w, bias});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &bias = saved[2];
    auto go = grad_outputs[0].contiguous();
    kernel::Downsample ds = problem(x, w, bias);
    ds.grad_out = go.data_ptr<float>();
    auto gx = torch::empty_like(x), gw = torch::empty_like(w);
    ds.grad_x = gx.data_ptr<float>();
    ds.grad_w = gw.data_ptr<float>();
    const kernel::Ops& ops = kernel::best_ops();
    const int64_t blocks = ds.B * (ds.n / ds.bt);
    at::parallel_for(0, blocks, 1, [&](int64_t b, int64_t e) { ops.downsample_grad_x(ds, b, e); });
    at::parallel_for(0, ds.bt, 1, [&](int64_t b, int64_t e) { ops.downsample_grad_w(ds, b, e); });
    auto gb = go.view({ds.B * (ds.n / ds.bt), ds.p, ds.d}).sum(0);
    return {gx, gw, gb};
  }
};

}  // namespace

torch::Tensor depthwise_downsample(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
  return DepthwiseDownsampleFunction::apply(x, w, bias);
}

bool FmaAttentionImpl::kernel_applies(const torch::Tensor& q) const {
  if (path_ == FmaPath::ops) return false;
  const bool fits = Layout(config_).num_levels() <= kernel::kMaxLevels;
  if (path_ == FmaPath::kernel) {
    TORCH_CHECK(q.device().is_cpu() && fits, "the CPU kernel was asked for, but it needs CPU tensors and at most ",
                kernel::kMaxLevels, " levels");
    return true;
  }
  if (!q.device().is_cpu()) return false;
  static const bool disabled = [] {
    const char* k = std::getenv("FMALENS_KERNEL");
    return k && std::strcmp(k, "ops") == 0;
  }();
  return !disabled && fits;
}

torch::Tensor FmaAttentionImpl::forward_kernel(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                               FmaCapture* capture) {
  check_inputs(q, k, v);
  const int64_t b = q.size(0), h = q.size(1), T = q.size(2), d = q.size(3), B = b * h;
  const Plan& plan = this->plan(T, q.device());
  const Layout& layout = *plan.layout;
  auto prepare = [&](const torch::Tensor& x) { return plan.to_internal(x.reshape({B, T, d}), torch::kFloat).contiguous(); };
  const auto qf = prepare(q), kf = prepare(k), vf = prepare(v);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  BandTensors t;
  t.qs = qf;  // scaled in the kernel's scores (one pass over n x d less), or below for autograd
  t.q_scale = scale;
  t.keys.push_back(kf);
  t.values.push_back(vf);
  const int kernel_levels = static_cast<int>(plan.kernel_levels.size());
  const auto key_levels = downsample_levels(kf, 'k', kernel_levels), value_levels = downsample_levels(vf, 'v', kernel_levels);
  for (int l = 1; l < kernel_levels; ++l) {
    t.keys.push_back(key_levels[static_cast<size_t>(l)].contiguous());
    t.values.push_back(value_levels[static_cast<size_t>(l)].contiguous());
  }
  auto to_tokens = [&](const torch::Tensor& x) { return plan.to_tokens(x, T); };

  // The band over the kernel's levels: every level, or the fine level alone with query
  // downsampling (then merged with the per-block coarse levels below).
  torch::Tensor y, lse, row_max, row_norm;
  std::vector<torch::Tensor> bands;  // capture: per kernel level (B, n, K_l), normalised
  const bool needs_grad = torch::GradMode::is_enabled() &&
                          (qf.requires_grad() || t.keys.back().requires_grad() || kf.requires_grad() || vf.requires_grad());
  if (needs_grad) {
    std::vector<torch::Tensor> inputs{(qf * scale).contiguous()};  // the backward works on scaled queries
    inputs.insert(inputs.end(), t.keys.begin(), t.keys.end());
    inputs.insert(inputs.end(), t.values.begin(), t.values.end());
    auto outs = FmaBandFunction::apply(at::TensorList(inputs), &plan, mask_score(d));
    y = outs[0];
    lse = outs[1];
  } else {
    BandOutputs out = band_forward(plan, t, mask_score(d), capture ? &bands : nullptr);
    y = out.y;
    row_max = out.row_max;
    row_norm = out.row_norm;
  }
  if (kernel_levels < layout.num_levels()) {
    FineLevel fine;
    fine.y = y;
    fine.lse = lse.defined() ? lse : row_max + torch::log(row_norm);
    fine.max = row_max;  // undefined when differentiating: lse stands in (the max cancels)
    if (capture) fine.weights = bands[0];
    std::vector<torch::Tensor> coeff;
    y = combine_query_levels(plan, fine, qf, coarse_bands(plan, kf, 'k'), coarse_bands(plan, vf, 'v'),
                             capture ? &coeff : nullptr, &row_max, &row_norm);
    bands = coeff;
  }
  if (capture) {
    capture->weights.clear();
    for (auto& band : bands) capture->weights.push_back(to_tokens(band.detach()));
    capture->row_max = to_tokens(row_max.detach());
    capture->row_norm = to_tokens(row_norm.detach());
  }
  return to_tokens(y).reshape({b, h, T, d}).to(q.scalar_type());
}

}  // namespace fmalens
