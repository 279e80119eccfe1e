// FMA attention: module, downsampling, plans, and the LibTorch-ops forward (band form).
#include "fma/attention.h"

#include "base/fma/band_plan.h"

#include <cmath>


namespace fmalens {
namespace {

using torch::indexing::Slice;

// (s*s) int64: position z in Morton order within an s x s cell -> row-major position.
torch::Tensor morton_to_raster(int64_t s) {
  std::vector<int64_t> idx(static_cast<size_t>(s * s));
  for (int64_t z = 0; z < s * s; ++z) {
    int64_t y, x;
    Layout::unmorton(z, &y, &x);
    idx[static_cast<size_t>(z)] = y * s + x;
  }
  return torch::tensor(idx, torch::kLong);
}

// morton_to_raster(s) on `device`, made once per (s, device): a 2D layer reads it per level on
// every call, and a copy to a GPU each time would be a transfer per level. Never freed (CUDA
// tensors must not outlive the runtime at exit).
const torch::Tensor& morton_to_raster_on(int64_t s, const torch::Device& device) {
  static std::mutex mutex;
  static auto* cache = new std::map<std::pair<int64_t, std::string>, torch::Tensor>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& index = (*cache)[{s, device.str()}];
  if (!index.defined()) index = morton_to_raster(s).to(device);
  return index;
}

// Rows of `table` (B, R, d) picked by `index` (G*K, -1 already mapped to R = a zero row)
// -> (B, G, K, d).
torch::Tensor gather_band(const torch::Tensor& table, const torch::Tensor& index, int64_t G, int64_t K) {
  const auto B = table.size(0), d = table.size(2);
  auto padded = torch::cat({table, table.new_zeros({B, 1, d})}, 1);
  return padded.index_select(1, index).view({B, G, K, d});
}

// (B, N, ...) -> (B, N*f, ...), each row f times in a row. A view expanded and copied once:
// repeat_interleave with a count may read the output size back from the device (a sync).
torch::Tensor repeat_rows(const torch::Tensor& x, int64_t f) {
  std::vector<int64_t> expanded(x.sizes().begin(), x.sizes().end()), out = expanded;
  expanded.insert(expanded.begin() + 2, f);
  out[1] *= f;
  return x.unsqueeze(2).expand(expanded).reshape(out);
}

}  // namespace

ConvWeightsImpl::ConvWeightsImpl(std::vector<int64_t> weight_shape, int64_t bias_size) {
  weight = register_parameter("weight", torch::zeros(weight_shape));
  bias = register_parameter("bias", torch::zeros({bias_size}));
}

FmaAttentionImpl::FmaAttentionImpl(const AttentionConfig& config) : config_(config) {
  const int L = coarse_levels(config_);  // validates
  const bool two_d = config_.variant == Variant::grid2d;
  const int64_t d = config_.head_dim, p = config_.p;
  conv_k = register_module("conv_k", torch::nn::ModuleList());
  conv_v = register_module("conv_v", torch::nn::ModuleList());
  conv_q = register_module("conv_q", torch::nn::ModuleList());
  torch::NoGradGuard no_grad;
  for (int l = 1; l <= L; ++l) {
    const int64_t width = config_.m << (l - 1);
    const int64_t tokens = two_d ? width * width : width;
    auto shape = [&](int64_t out, int64_t in) {
      return two_d ? std::vector<int64_t>{out, in, width, width} : std::vector<int64_t>{out, in, width};
    };
    const bool nested = config_.downsampling == Downsampling::nested;
    if (nested && l > 1) {
      // Level l from the 2p summaries of its two child blocks (left child first): per channel
      // g, out[s] = sum_j W[g*p+s, 0, j] child[j] + b[g*p+s]. Starts as pairwise averaging
      // (summary s = mean of child summaries 2s and 2s+1): with level 1's chunk averaging,
      // the model is exactly the avgpool FMA at step 0.
      for (auto* list : {&conv_k, &conv_v}) {
        ConvWeights cw(std::vector<int64_t>{p * d, 1, 2 * p}, p * d);
        auto w3 = cw->weight.view({d, p, 2 * p});
        for (int64_t s = 0; s < p; ++s) w3.select(1, s).narrow(1, 2 * s, 2).fill_(0.5);
        (*list)->push_back(cw);
        (list == &conv_k ? conv_k_ : conv_v_).push_back(cw.ptr());
      }
    } else if (config_.downsampling != Downsampling::avgpool) {
      const int64_t in = config_.downsampling == Downsampling::conv ? d : 1;
      for (auto* list : {&conv_k, &conv_v}) {
        ConvWeights cw(shape(p * d, in), p * d);
        // Start as chunk averaging (summary s = mean of the s-th bt/p tokens in internal
        // order) plus a little noise: at step 0 the model is the exact avgpool FMA.
        auto w4 = cw->weight.view({d, p, in, tokens});  // row g*p+s, raster positions
        const auto z2r = two_d ? morton_to_raster(width) : torch::arange(tokens, torch::kLong);
        const int64_t chunk = tokens / p;
        const double mean = 1.0 / static_cast<double>(chunk);
        for (int64_t s = 0; s < p; ++s) {
          const auto cols = z2r.index({Slice(s * chunk, (s + 1) * chunk)});
          if (in == 1) {
            w4.select(1, s).select(1, 0).index_fill_(1, cols, mean);  // (d, tokens)
          } else {
            for (int64_t g = 0; g < d; ++g) w4.select(0, g).select(0, s).select(0, g).index_fill_(0, cols, mean);
          }
        }
        if (!nested) cw->weight.add_(torch::randn_like(cw->weight) * (0.1 * mean));
        (*list)->push_back(cw);
        (list == &conv_k ? conv_k_ : conv_v_).push_back(cw.ptr());
      }
    }
    if (config_.query_downsampling) {
      ConvWeights cq(shape(d, 1), d);
      cq->weight.fill_(1.0 / static_cast<double>(tokens));
      conv_q->push_back(cq);
      conv_q_.push_back(cq.ptr());
    }
  }
}

int64_t FmaAttentionImpl::run_length(int64_t T) const {
  const int64_t n = config_.tokens();
  if (T < 1) throw ConfigError("attention input is empty (0 tokens)");
  if (T > n)
    throw ConfigError("input of " + std::to_string(T) + " tokens is longer than the attention's n = " +
                      std::to_string(n));
  if (config_.variant == Variant::grid2d) {
    if (T != n)
      throw ConfigError("2d attention needs the whole grid: " + std::to_string(n) + " tokens, got " +
                        std::to_string(T));
    return n;
  }
  if (config_.variant == Variant::causal && config_.boundary == Boundary::zero_pad) return n;
  const int64_t len = layout_length_at_least(config_.m, T);
  if (config_.variant == Variant::bidirectional && len != T)
    throw ConfigError("bidirectional input length must be m * 2^k (m = " + std::to_string(config_.m) +
                      "), got " + std::to_string(T));
  return len;
}

namespace {

// Runs of consecutive rows (or of distinct zero rows, encoded < 0) -> kernel segments.
void append_segments(const std::vector<int64_t>& rows, std::vector<kernel::Segment>& out) {
  kernel::Segment cur;
  bool open = false;
  for (size_t k = 0; k < rows.size(); ++k) {
    const int64_t r = rows[k] < 0 ? -1 : rows[k];
    if (open && ((r < 0 && cur.row_begin < 0) || (r >= 0 && cur.row_begin >= 0 && cur.row_begin + cur.count == r))) {
      ++cur.count;
      continue;
    }
    if (open) out.push_back(cur);
    cur.slot_begin = static_cast<int32_t>(k);
    cur.count = 1;
    cur.row_begin = r;
    open = true;
  }
  if (open) out.push_back(cur);
}

}  // namespace

// Fills plan.kernel_tile and plan.kernel_levels (see KernelLevel).
void build_kernel_levels(Plan& plan) {
  const Layout& layout = *plan.layout;
  const int64_t n = layout.tokens();
  // Tiles of at least 8 queries: tiny groups are merged up to the first level whose groups
  // are large enough (per-tile work has a fixed cost; one query per tile would be all cost).
  plan.kernel_tile = layout.level(0).group_queries;
  for (int l = 1; plan.kernel_tile < 8 && l < layout.num_levels(); ++l) plan.kernel_tile = layout.level(l).group_queries;
  const int64_t tile = plan.kernel_tile;
  // With query downsampling the kernel computes the fine level only (coarse levels go per block).
  const int kernel_levels = layout.config().query_downsampling ? 1 : layout.num_levels();
  for (int l = 0; l < kernel_levels; ++l) {
    const LevelGeometry& g = layout.level(l);
    KernelLevel kl;
    kl.seg_offsets.push_back(0);
    if (g.group_queries >= tile) {
      kl.group_queries = g.group_queries;
      kl.slots = g.slots;
      kl.valid.resize(static_cast<size_t>(n * g.slots));
      for (int64_t grp = 0, idx = 0; grp < g.groups; ++grp)
        for (int64_t q = 0; q < g.group_queries; ++q)
          for (int64_t k = 0; k < g.slots; ++k) kl.valid[static_cast<size_t>(idx++)] = LayoutBandPlan::slot_valid(layout, l, grp, q, k);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        std::vector<int64_t> rows(static_cast<size_t>(g.slots));
        for (int64_t k = 0; k < g.slots; ++k) rows[static_cast<size_t>(k)] = LayoutBandPlan::key_row(layout, l, grp, k);
        append_segments(rows, kl.segments);
        kl.seg_offsets.push_back(static_cast<int64_t>(kl.segments.size()));
      }
    } else {
      // Union of the key lists of the tile's sub-groups, in order of first appearance; zero
      // rows stay distinct (each phantom slot carries its own weight).
      const int64_t subs = tile / g.group_queries, tiles = n / tile;
      std::vector<std::vector<int64_t>> rows(static_cast<size_t>(tiles));
      std::vector<std::vector<int32_t>> pos(static_cast<size_t>(tiles));  // (sub-group, slot) -> union index
      int64_t width = 0;
      for (int64_t t = 0; t < tiles; ++t) {
        std::map<int64_t, int32_t> seen;
        auto& R = rows[static_cast<size_t>(t)];
        auto& P = pos[static_cast<size_t>(t)];
        for (int64_t sg = 0; sg < subs; ++sg)
          for (int64_t k = 0; k < g.slots; ++k) {
            const int64_t grp = t * subs + sg, row = LayoutBandPlan::key_row(layout, l, grp, k);
            const int64_t id = row >= 0 ? row : -1 - (grp * g.slots + k);
            auto it = seen.find(id);
            if (it == seen.end()) {
              it = seen.emplace(id, static_cast<int32_t>(R.size())).first;
              R.push_back(id);
            }
            P.push_back(it->second);
          }
        width = std::max<int64_t>(width, static_cast<int64_t>(R.size()));
      }
      kl.group_queries = tile;
      kl.slots = width;
      kl.valid.assign(static_cast<size_t>(n * width), 0);
      kl.capture_slot.assign(static_cast<size_t>(n * width), -1);
      for (int64_t t = 0; t < tiles; ++t) {
        auto& R = rows[static_cast<size_t>(t)];
        R.resize(static_cast<size_t>(width), -1);  // padding: masked zero rows
        append_segments(R, kl.segments);
        kl.seg_offsets.push_back(static_cast<int64_t>(kl.segments.size()));
        for (int64_t q = 0; q < tile; ++q) {
          const int64_t sg = q / g.group_queries, qi = q % g.group_queries, grp = t * subs + sg;
          for (int64_t k = 0; k < g.slots; ++k) {
            if (!LayoutBandPlan::slot_valid(layout, l, grp, qi, k)) continue;
            const int32_t u = pos[static_cast<size_t>(t)][static_cast<size_t>(sg * g.slots + k)];
            kl.valid[static_cast<size_t>((t * tile + q) * width + u)] = 1;
            kl.capture_slot[static_cast<size_t>((t * tile + q) * width + u)] = static_cast<int32_t>(k);
          }
        }
      }
    }
    plan.kernel_levels.push_back(std::move(kl));
  }
  // The same validity transposed per tile and packed in bits, (tiles, K, Q0p / 16) words, so
  // that the forward masks a slot's scores for all of a tile's queries with vector operations.
  const int64_t tiles = n / tile, words = kernel::padded_tile(tile) / 16;
  int64_t total_slots = 0;
  for (const auto& kl : plan.kernel_levels) total_slots += kl.slots;
  plan.kernel_tile_valid.assign(static_cast<size_t>(tiles * total_slots * words), 0);
  for (int64_t t = 0; t < tiles; ++t) {
    int64_t off = 0;
    for (const auto& kl : plan.kernel_levels) {
      const int64_t g = t * tile / kl.group_queries, q_first = t * tile - g * kl.group_queries;
      for (int64_t q = 0; q < tile; ++q) {
        const uint8_t* src = kl.valid.data() + (g * kl.group_queries + q_first + q) * kl.slots;
        for (int64_t k = 0; k < kl.slots; ++k)
          if (src[k])
            plan.kernel_tile_valid[static_cast<size_t>((t * total_slots + off + k) * words + q / 16)] |=
                static_cast<uint16_t>(1u << (q % 16));
      }
      off += kl.slots;
    }
  }
}

const Plan& FmaAttentionImpl::plan(int64_t T, const torch::Device& device) {
  const int64_t n = run_length(T);
  std::lock_guard<std::mutex> lock(plan_mutex_);
  auto key = std::make_pair(n, device.str());
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;

  AttentionConfig c = config_;
  if (c.variant != Variant::grid2d) c.n = n;
  auto plan = std::make_shared<Plan>();
  plan->layout = std::make_shared<const Layout>(c);
  const Layout& layout = *plan->layout;
  for (int l = 0; l < layout.num_levels(); ++l) {
    const LevelGeometry& g = layout.level(l);
    LevelPlan lp;
    lp.rows = l == 0 ? layout.tokens() : g.blocks * g.summaries;
    std::vector<int64_t> index(static_cast<size_t>(g.groups * g.slots));
    for (int64_t grp = 0; grp < g.groups; ++grp)
      for (int64_t k = 0; k < g.slots; ++k) {
        const int64_t row = LayoutBandPlan::key_row(layout, l, grp, k);
        index[static_cast<size_t>(grp * g.slots + k)] = row < 0 ? lp.rows : row;
      }
    auto valid = torch::empty({g.groups, g.group_queries, g.slots}, torch::kBool);
    auto* vp = valid.data_ptr<bool>();
    for (int64_t grp = 0; grp < g.groups; ++grp)
      for (int64_t q = 0; q < g.group_queries; ++q)
        for (int64_t k = 0; k < g.slots; ++k)
          *vp++ = LayoutBandPlan::slot_valid(layout, l, grp, q, k);
    if (l > 0 && config_.query_downsampling) {
      const int64_t children = g.group_queries / g.block_tokens;
      lp.block_valid = valid.view({g.groups, children, g.block_tokens, g.slots}).select(2, 0).contiguous().to(device);
      lp.block_masked = lp.block_valid.logical_not();
    }
    lp.key_index = torch::tensor(index, torch::kLong).to(device);
    lp.valid = valid.to(device);
    lp.masked = valid.logical_not().to(device);
    plan->levels.push_back(std::move(lp));
  }
  if (c.variant == Variant::grid2d) {
    std::vector<int64_t> t_of_i(static_cast<size_t>(n)), i_of_t(static_cast<size_t>(n));
    for (int64_t z = 0; z < n; ++z) {
      t_of_i[static_cast<size_t>(z)] = layout.to_token(z);
      i_of_t[static_cast<size_t>(layout.to_token(z))] = z;
    }
    plan->token_of_internal = torch::tensor(t_of_i, torch::kLong).to(device);
    plan->internal_of_token = torch::tensor(i_of_t, torch::kLong).to(device);
  }
  if (device.is_cpu()) build_kernel_levels(*plan);  // only the CPU kernel reads them
  auto& slot = plans_[key];
  slot = plan;
  return *slot;
}

const ConvWeightsImpl& FmaAttentionImpl::conv(char which, int l) const {
  const auto& list = which == 'k' ? conv_k_ : which == 'v' ? conv_v_ : conv_q_;
  return *list.at(static_cast<size_t>(l - 1));
}

torch::Tensor FmaAttentionImpl::flat_weight(int l, char which) const {
  auto w = conv(which, l).weight;
  if (config_.variant != Variant::grid2d) return w;
  const int64_t s = w.size(2);
  return w.reshape({w.size(0), w.size(1), s * s}).index_select(2, morton_to_raster_on(s, w.device()));
}

std::pair<torch::Tensor, torch::Tensor> FmaAttentionImpl::kernel_weights(int l, char which) const {
  const int64_t d = config_.head_dim, p = which == 'q' ? 1 : config_.p;  // queries: one summary per block
  const auto& param = conv(which, l).weight;
  auto fresh = [&] {
    const auto w = flat_weight(l, which);  // (p*d, 1, bt)
    return std::make_pair(w.view({d, p, -1}).permute({2, 1, 0}), conv(which, l).bias.view({d, p}).t());
  };
  if (torch::GradMode::is_enabled() && param.requires_grad()) return fresh();  // autograd needs the graph
  std::lock_guard<std::mutex> lock(kernel_weights_mutex_);
  KernelWeights& cached = kernel_weights_[{l, which}];
  const void* storage = param.storage().data();
  const int64_t version = param._version() + conv(which, l).bias._version();
  if (cached.storage != storage || cached.version != version || !cached.w.defined()) {
    torch::NoGradGuard no_grad;
    auto [w, bias] = fresh();
    cached = {storage, version, w.contiguous(), bias.contiguous()};
  }
  return {cached.w, cached.bias};
}

std::vector<torch::Tensor> FmaAttentionImpl::downsample_levels(const torch::Tensor& x, char which, int levels) const {
  std::vector<torch::Tensor> out(static_cast<size_t>(std::max(levels, 1)));
  for (int l = 1; l < levels; ++l)
    out[static_cast<size_t>(l)] = config_.downsampling == Downsampling::nested && l > 1 ? nest_up(out[static_cast<size_t>(l - 1)], l, which)
                                                                                        : downsample(x, l, which);
  return out;
}

torch::Tensor FmaAttentionImpl::nest_up(const torch::Tensor& children, int l, char which) const {
  // children: (B, nb * p, d) level l-1, row blk*p + s -> (B, nb/2 * p, d) level l.
  const int64_t B = children.size(0), d = children.size(2), p = config_.p, parents = children.size(1) / (2 * p);
  const ConvWeightsImpl& cw = conv(which, l);
  const auto w = cw.weight.to(children.scalar_type()).view({d, p, 2 * p}).transpose(1, 2);  // (d, 2p, p)
  const auto bias = cw.bias.to(children.scalar_type()).view({d, 1, p});
  auto xt = children.reshape({B * parents, 2 * p, d}).permute({2, 0, 1});                   // (d, B*parents, 2p)
  return torch::baddbmm(bias, xt, w).permute({1, 2, 0}).reshape({B, parents * p, d});
}

std::pair<torch::Tensor, torch::Tensor> FmaAttentionImpl::composed_depthwise(int l, char which) const {
  const ConvWeightsImpl& cw = conv(which, l);
  if (config_.downsampling != Downsampling::nested || l == 1) return {cw.weight, cw.bias};
  const int64_t d = config_.head_dim, p = config_.p;
  const auto [child_w, child_b] = composed_depthwise(l - 1, which);  // (p*d, 1, w), (p*d)
  const int64_t w = child_w.size(2);
  const auto map = cw.weight.view({d, p, 2 * p});                    // [g, s, j]: child summary j -> s
  const auto cw3 = child_w.view({d, p, w});
  // Left child's tokens first: parent (g, s) over token t of child c = sum_j map[g, s, c*p+j] W_child[g, j, t].
  const auto left = torch::bmm(map.narrow(2, 0, p), cw3), right = torch::bmm(map.narrow(2, p, p), cw3);
  const auto weight = torch::cat({left, right}, 2).reshape({p * d, 1, 2 * w});
  const auto cb = child_b.view({d, p, 1});
  const auto bias = cw.bias.view({d, p}) + torch::bmm(map, torch::cat({cb, cb}, 1)).squeeze(2);
  return {weight, bias.reshape({p * d})};
}

torch::Tensor FmaAttentionImpl::downsample(const torch::Tensor& x, int l, char which) const {
  // x: (B, n, d) internal order. Blocks of `bt` consecutive rows are summarised into p rows.
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2), p = config_.p;
  const int64_t width = config_.m << (l - 1);
  const int64_t bt = config_.variant == Variant::grid2d ? width * width : width, nb = n / bt;
  if (config_.downsampling == Downsampling::avgpool)
    return x.view({B, nb, p, bt / p, d}).mean(3).reshape({B, nb * p, d});
  if (config_.downsampling == Downsampling::nested && l > 1) return nest_up(downsample(x, l - 1, which), l, which);
  // Depthwise over the block's tokens: groupedconv, and nested's level 1.
  const bool depthwise = config_.downsampling == Downsampling::groupedconv || config_.downsampling == Downsampling::nested;
  if (depthwise && kernel_applies(x) && x.scalar_type() == torch::kFloat) {
    // The CPU kernel: one pass over x per level, vectorised over channels.
    const auto [w, bias] = kernel_weights(l, which);
    return depthwise_downsample(x, w, bias);
  }
  const auto bias = conv(which, l).bias;                                              // (p*d)
  const auto w = flat_weight(l, which);                                              // (p*d, in, bt)
  if (depthwise) {
    // out[., s, g] = sum_t x[., t, g] W[g*p+s, 0, t] + b[g*p+s]: one bmm over the d channels.
    auto xt = x.reshape({B * nb, bt, d}).permute({2, 0, 1});            // (d, B*nb, bt)
    auto wt = w.view({d, p, bt}).transpose(1, 2);                       // (d, bt, p)
    auto y = torch::baddbmm(bias.view({d, 1, p}), xt, wt);              // (d, B*nb, p)
    return y.permute({1, 2, 0}).reshape({B, nb * p, d});
  }
  // conv: out[., g*p+s] = sum_{t,c} W[g*p+s, c, t] x[., t, c] + b
  auto wm = w.permute({2, 1, 0}).reshape({bt * d, p * d});               // (t*d + c, o)
  auto y = torch::addmm(bias, x.reshape({B * nb, bt * d}), wm);          // (B*nb, p*d)
  return y.view({B * nb, d, p}).transpose(1, 2).reshape({B, nb * p, d});
}

torch::Tensor FmaAttentionImpl::downsample_queries(const torch::Tensor& q, int l) const {
  const int64_t B = q.size(0), n = q.size(1), d = q.size(2);
  if (kernel_applies(q) && q.scalar_type() == torch::kFloat) {
    const auto [w, bias] = kernel_weights(l, 'q');  // (bt, 1, d), (1, d)
    return depthwise_downsample(q.contiguous(), w, bias);
  }
  const auto w = flat_weight(l, 'q').view({d, -1});  // (d, bt)
  const int64_t bt = w.size(1), nb = n / bt;
  const auto bias = conv('q', l).bias;
  return (q.reshape({B, nb, bt, d}) * w.t().view({1, 1, bt, d})).sum(2) + bias.view({1, 1, d});
}

torch::Tensor FmaAttentionImpl::basis_functions(int l, char which) const {
  const int64_t d = config_.head_dim, p = config_.p;
  const int64_t width = config_.m << (l - 1);
  const int64_t bt = config_.variant == Variant::grid2d ? width * width : width;
  if (config_.downsampling == Downsampling::avgpool) {
    // The implicit basis: summary s averages the s-th chunk of bt/p tokens (internal order).
    auto basis = torch::zeros({p, d, bt});  // CPU: no parameters to read
    const auto z2r = config_.variant == Variant::grid2d ? morton_to_raster(width) : torch::arange(bt, torch::kLong);
    for (int64_t s = 0; s < p; ++s)
      basis.select(0, s).index_fill_(1, z2r.index({Slice(s * (bt / p), (s + 1) * (bt / p))}),
                                     static_cast<double>(p) / static_cast<double>(bt));
    return basis;
  }
  // nested: the cascade composed down to the tokens (what the level's summary draws from them).
  auto w = composed_depthwise(l, which).first.detach().to(torch::kFloat);  // stays on its device: the caller copies once
  w = w.reshape({p * d, w.size(1), bt});
  if (config_.downsampling == Downsampling::conv) {
    // The channel's own weight W[g*p+s, g, :] (the diagonal of the channel mixing).
    auto idx = torch::arange(d, w.options().dtype(torch::kLong)).repeat_interleave(p);  // (p*d): g of row g*p+s
    w = w.gather(1, idx.view({p * d, 1, 1}).expand({p * d, 1, bt})).squeeze(1);
  } else {
    w = w.squeeze(1);
  }
  return w.view({d, p, bt}).transpose(0, 1).contiguous();               // (p, d, bt)
}

torch::Tensor FmaAttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, FmaCapture* capture) {
  if (kernel_applies(q)) return forward_kernel(q, k, v, capture);
  return forward_ops(q, k, v, capture);
}

torch::Tensor Plan::to_internal(const torch::Tensor& x, torch::ScalarType dtype) const {
  const int64_t n = layout->tokens(), T = x.size(1);
  auto y = x.to(dtype);
  if (T < n) y = torch::constant_pad_nd(y, {0, 0, 0, n - T});
  return token_of_internal.defined() ? y.index_select(1, token_of_internal) : y;
}

torch::Tensor Plan::to_tokens(const torch::Tensor& x, int64_t T) const {
  auto y = internal_of_token.defined() ? x.index_select(1, internal_of_token) : x;
  return T < layout->tokens() ? y.narrow(1, 0, T) : y;
}

void FmaAttentionImpl::check_inputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "FMA expects q, k, v of one shape (b, h, n, d); got ", q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  if (q.size(1) != config_.heads || q.size(3) != config_.head_dim)
    throw ConfigError("FMA configured for " + std::to_string(config_.heads) + " heads of dimension " +
                      std::to_string(config_.head_dim) + ", got " + std::to_string(q.size(1)) + " x " + std::to_string(q.size(3)));
}

torch::Tensor FmaAttentionImpl::forward_ops(const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& v, FmaCapture* capture) {
  check_inputs(q, k, v);
  const int64_t b = q.size(0), h = q.size(1), T = q.size(2), d = q.size(3), B = b * h;
  const Plan& plan = this->plan(T, q.device());
  const Layout& layout = *plan.layout;
  const int64_t n = layout.tokens();

  // (B, n, d) float32 (float64 for float64 input), padded, internal order.
  const auto compute = q.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto prepare = [&](const torch::Tensor& x) { return plan.to_internal(x.reshape({B, T, d}), compute); };
  const auto qf = prepare(q), kf = prepare(k), vf = prepare(v);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto qs = qf * scale;
  const double masked = mask_score(d);
  const int nl = layout.num_levels();
  const bool linear = config_.query_downsampling && nl > 1;

  std::vector<torch::Tensor> band_k(nl), band_v(nl);
  const auto key_levels = downsample_levels(kf, 'k', nl), value_levels = downsample_levels(vf, 'v', nl);
  for (int l = 0; l < nl; ++l) {
    const LevelGeometry& g = layout.level(l);
    const auto& keys = l == 0 ? kf : key_levels[static_cast<size_t>(l)];
    const auto& vals = l == 0 ? vf : value_levels[static_cast<size_t>(l)];
    band_k[l] = gather_band(keys, plan.levels[l].key_index, g.groups, g.slots);  // (B, G, K, d)
    band_v[l] = gather_band(vals, plan.levels[l].key_index, g.groups, g.slots);
  }

  auto to_tokens = [&](const torch::Tensor& x) { return plan.to_tokens(x, T); };

  torch::Tensor y, M, Z;
  std::vector<torch::Tensor> coeff(nl);  // capture: (B, n, K) internal order, before 1/Z
  if (!linear) {
    // Scores of every level, one joint max, one normaliser.
    std::vector<torch::Tensor> S(nl);
    for (int l = 0; l < nl; ++l) {
      const LevelGeometry& g = layout.level(l);
      S[l] = torch::matmul(qs.view({B, g.groups, g.group_queries, d}), band_k[l].transpose(2, 3))
                 .masked_fill(plan.levels[l].masked, masked);  // (B, G, Q, K)
      auto mx = S[l].amax(-1).reshape({B, n});
      M = l == 0 ? mx : torch::maximum(M, mx);
    }
    M = M.detach();
    for (int l = 0; l < nl; ++l) {
      const LevelGeometry& g = layout.level(l);
      auto E = torch::exp(S[l] - M.view({B, g.groups, g.group_queries, 1}));
      auto z = E.sum(-1).reshape({B, n});
      auto num = torch::matmul(E, band_v[l]).reshape({B, n, d});
      if (g.alpha != 1.0) {
        z = z * g.alpha;
        num = num * g.alpha;
      }
      Z = l == 0 ? z : Z + z;
      y = l == 0 ? num : y + num;
      if (capture) coeff[l] = (E * g.alpha).reshape({B, n, g.slots});
    }
    y = y / Z.unsqueeze(-1);
    if (capture)
      for (auto& c : coeff) c = c / Z.unsqueeze(-1);
  } else {
    // Fine level per token with its own max and normaliser; the coarse levels per block.
    const LevelGeometry& g0 = layout.level(0);
    auto S0 = torch::matmul(qs.view({B, g0.groups, g0.group_queries, d}), band_k[0].transpose(2, 3))
                  .masked_fill(plan.levels[0].masked, masked);
    FineLevel fine;
    fine.max = S0.amax(-1, true).detach();                      // (B, G, Q, 1)
    auto E0 = torch::exp(S0 - fine.max);
    auto den0 = E0.sum(-1, true);
    fine.y = torch::matmul(E0 / den0, band_v[0]).reshape({B, n, d});
    fine.lse = (fine.max + torch::log(den0)).reshape({B, n});
    fine.max = fine.max.reshape({B, n});
    if (capture) fine.weights = (E0 / den0).reshape({B, n, g0.slots});
    y = combine_query_levels(plan, fine, qf, band_k, band_v, capture ? &coeff : nullptr, &M, &Z);
  }

  if (capture) {
    capture->weights.clear();
    for (int l = 0; l < nl; ++l) capture->weights.push_back(to_tokens(coeff[l].detach()));
    capture->row_max = to_tokens(M.detach());
    capture->row_norm = to_tokens(Z.detach());
  }
  return to_tokens(y).reshape({b, h, T, d}).to(q.scalar_type());
}

std::vector<torch::Tensor> FmaAttentionImpl::coarse_bands(const Plan& plan, const torch::Tensor& x, char which) const {
  const Layout& layout = *plan.layout;
  std::vector<torch::Tensor> bands(static_cast<size_t>(layout.num_levels()));
  const auto summaries = downsample_levels(x, which, layout.num_levels());
  for (int l = 1; l < layout.num_levels(); ++l) {
    const LevelGeometry& g = layout.level(l);
    bands[static_cast<size_t>(l)] = gather_band(summaries[static_cast<size_t>(l)], plan.levels[l].key_index, g.groups, g.slots);
  }
  return bands;
}

torch::Tensor FmaAttentionImpl::combine_query_levels(const Plan& plan, const FineLevel& fine, const torch::Tensor& qf,
                                                     const std::vector<torch::Tensor>& band_k,
                                                     const std::vector<torch::Tensor>& band_v,
                                                     std::vector<torch::Tensor>* coeff, torch::Tensor* row_max,
                                                     torch::Tensor* row_norm) const {
  // Coarse levels per block with the block's own max, combined top-down so that no coarse
  // level does per-token work (O(n) in all); then one merge with the fine level per token.
  const Layout& layout = *plan.layout;
  const int nl = layout.num_levels();
  const int64_t B = qf.size(0), n = qf.size(1), d = qf.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d)), masked = mask_score(d);
  std::vector<torch::Tensor> Sh(static_cast<size_t>(nl));
  torch::Tensor acc_max, acc_num, acc_den;  // per block of the current level
  for (int l = nl - 1; l >= 1; --l) {
    const LevelGeometry& g = layout.level(l);
    const int64_t children = g.group_queries / g.block_tokens;
    auto qh = downsample_queries(qf, l) * scale;                // (B, blocks, d)
    const auto& bmask = plan.levels[l].block_masked;
    Sh[l] = torch::matmul(qh.view({B, g.groups, children, d}), band_k[l].transpose(2, 3))
                .masked_fill(bmask, masked);                    // (B, G, c, K)
    auto mb = Sh[l].amax(-1, true).detach();
    auto Eh = torch::exp(Sh[l] - mb).masked_fill(bmask, 0.0);
    auto den = (Eh.sum(-1) * g.alpha).reshape({B, g.blocks});
    auto num = (torch::matmul(Eh, band_v[l]) * g.alpha).reshape({B, g.blocks, d});
    mb = mb.reshape({B, g.blocks});
    if (l == nl - 1) {
      acc_max = mb, acc_num = num, acc_den = den;
    } else {
      const int64_t f = g.blocks / acc_max.size(1);
      auto pm = repeat_rows(acc_max, f), pn = repeat_rows(acc_num, f), pd = repeat_rows(acc_den, f);
      auto mx = torch::maximum(pm, mb);
      auto a = torch::exp(pm - mx), c = torch::exp(mb - mx);
      acc_num = pn * a.unsqueeze(-1) + num * c.unsqueeze(-1);
      acc_den = pd * a + den * c;
      acc_max = mx;
    }
  }
  const int64_t f = n / acc_max.size(1);
  auto tm = repeat_rows(acc_max, f), tn = repeat_rows(acc_num, f), td = repeat_rows(acc_den, f);
  // The fine level enters as its normalised output and log-normaliser: num0 = y0 exp(lse0 - M).
  auto M = torch::maximum(fine.max.defined() ? fine.max : fine.lse, tm).detach();
  auto f0 = torch::exp(fine.lse - M), fc = torch::exp(tm - M);
  auto Z = f0 + td * fc;
  auto y = (fine.y * f0.unsqueeze(-1) + tn * fc.unsqueeze(-1)) / Z.unsqueeze(-1);
  if (coeff) {
    coeff->assign(static_cast<size_t>(nl), torch::Tensor());
    (*coeff)[0] = fine.weights * (f0 / Z).unsqueeze(-1);
    for (int l = 1; l < nl; ++l) {
      const LevelGeometry& g = layout.level(l);
      auto s_tok = repeat_rows(Sh[l].reshape({B, g.blocks, g.slots}), g.block_tokens);
      (*coeff)[l] = torch::exp(s_tok - M.unsqueeze(-1))
                        .masked_fill(plan.levels[l].masked.reshape({1, n, g.slots}), 0.0) *
                    (g.alpha / Z.unsqueeze(-1));
    }
  }
  if (row_max) *row_max = M;
  if (row_norm) *row_norm = Z;
  return y;
}

}  // namespace fmalens
