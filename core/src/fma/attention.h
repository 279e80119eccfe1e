// Fast Multipole Attention in band form (LibTorch). See ../shared/design/FMA.md.
//
// Inputs are (b, h, n, d) in token order. Internally heads are folded into the batch
// (B = b*h) and 2D tokens are put in Morton order, in which every cell of the hierarchy is a
// contiguous range; so every level of every variant is "groups of contiguous queries, each
// group with one list of key rows", computed with one batched matmul per level.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "fmalens/config.h"
#include "fmalens/layout.h"
#include "base/fma/kernel.h"
#include "torch_pch.h"

namespace fmalens {

// The score given to masked slots, as in the reference kernels: large, negative, finite.
inline double mask_score(int64_t d) { return -65504.0 * static_cast<double>(d) / static_cast<double>(d + 1); }

// What a forward can hand to a viewer: everything needed to draw every level, O(n log n).
struct FmaCapture {
  std::vector<torch::Tensor> weights;  // per level l: (B, n, K_l) coefficients C_l, token order
  torch::Tensor row_max;               // (B, n) the joint max M_i over all levels
  torch::Tensor row_norm;              // (B, n) Z_i = sum_l alpha_l sum_slots exp(s - M_i)
};

// Index tensors of one Layout on one device, built once and cached.
struct LevelPlan {
  torch::Tensor key_index;  // (G*K) int64: row of the level's key table; -1 mapped to `rows`
  torch::Tensor valid;      // (G, Q, K) bool
  torch::Tensor masked;     // (G, Q, K) bool, = !valid
  torch::Tensor block_valid;  // coarse, query downsampling: (G, children, K) bool
  torch::Tensor block_masked;
  int64_t rows = 0;           // rows of the level's key table (the zero row is appended)
};
// The CPU kernel's view of one level. A kernel tile of `kernel_tile` queries shares one key
// list per level; a level whose own groups are smaller than the tile (the fine level when m or
// r*r is tiny) gets the union of its groups' lists, with per-query validity, so that tiny
// groups do not cost a tile each.
struct KernelLevel {
  int64_t group_queries = 0;
  int64_t slots = 0;
  std::vector<uint8_t> valid;        // (groups, group_queries, slots)
  std::vector<kernel::Segment> segments;
  std::vector<int64_t> seg_offsets;  // (groups + 1)
  std::vector<int32_t> capture_slot; // union levels: (n, slots) -> the query's own slot, or -1
};

struct Plan {
  std::shared_ptr<const Layout> layout;
  std::vector<LevelPlan> levels;
  int64_t kernel_tile = 0;
  std::vector<KernelLevel> kernel_levels;
  // The forward kernel's validity of every tile, slot-major bits: (tiles, total slots,
  // padded tile / 16) words (see kernel::Problem::tile_valid).
  std::vector<uint16_t> kernel_tile_valid;
  torch::Tensor token_of_internal;  // 2D: (n) internal (Z) index -> token index
  torch::Tensor internal_of_token;  // 2D: (n) token index -> internal index

  // Both forward paths' way in and out of the layout's order. to_internal: (B, T, d) in token
  // order -> (B, n, d) of `dtype`, zero rows padded to the layout's n, reordered to Z order in
  // 2D. to_tokens: (B, n, ...) internal -> token order, its first T rows.
  torch::Tensor to_internal(const torch::Tensor& x, torch::ScalarType dtype) const;
  torch::Tensor to_tokens(const torch::Tensor& x, int64_t T) const;
};

void build_kernel_levels(Plan& plan);

// Learned downsampling weights of one level, named like the reference's Conv1d
// (`conv_k.{l-1}.weight`, `.bias`): groupedconv (p*d, 1, w) or (p*d, 1, s, s) in 2D;
// conv (p*d, d, w) or (p*d, d, s, s); query downsampling (d, 1, w) or (d, 1, s, s).
struct ConvWeightsImpl : torch::nn::Module {
  ConvWeightsImpl(std::vector<int64_t> weight_shape, int64_t bias_size);
  torch::Tensor weight, bias;
};
TORCH_MODULE(ConvWeights);

// Which implementation forward() and the downsampling use. `automatic`: the CPU kernel for
// float32 on the CPU (unless FMALENS_KERNEL=ops), the LibTorch ops elsewhere (CUDA). `ops`
// forces the LibTorch ops everywhere (grouped-conv summaries by baddbmm, query summaries
// elementwise): on the CPU it is exactly what a CUDA build runs, so tests can check that path
// without a GPU. `kernel` forces the CPU kernel (refused for other devices).
enum class FmaPath { automatic, kernel, ops };

class FmaAttentionImpl : public torch::nn::Module {
 public:
  explicit FmaAttentionImpl(const AttentionConfig& config);

  void set_path(FmaPath path) { path_ = path; }
  FmaPath path() const { return path_; }

  // q, k, v: (b, h, T, d), float32, half or bfloat16, any device; T <= n. Causal input
  // shorter than a valid length is right-padded (padding is future); the result keeps T rows.
  // Returns (b, h, T, d) in q's dtype. With `capture`, also fills it (float32, B = b*h).
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        FmaCapture* capture = nullptr);

  // The project's CPU kernel (float32 math; differentiable through its own backward). Used
  // by forward() on CPU tensors unless FMALENS_KERNEL=ops. With query downsampling it computes
  // the fine level, and the coarse levels (O(n/m) work) go per block in LibTorch ops.
  // q, k, v of one shape (b, heads, n, head_dim); throws ConfigError / c10::Error otherwise.
  void check_inputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const;
  torch::Tensor forward_kernel(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               FmaCapture* capture = nullptr);
  bool kernel_applies(const torch::Tensor& q) const;

  // The plain LibTorch-ops path (the readable reference of the fast kernels; differentiable).
  // Computes in float64 when q is float64 (the module's parameters must be too), else float32.
  torch::Tensor forward_ops(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            FmaCapture* capture = nullptr);

  // Summaries of level l (1..L) of x: (B, n, d) in internal order -> (B, blocks_l * p, d),
  // row blk*p + s = summary s of block blk (internal block order). `which`: 'k', 'v'.
  torch::Tensor downsample(const torch::Tensor& x, int l, char which) const;
  // Every level's summaries at once, entry l for level l (1..levels-1; entry 0 empty): nested
  // downsampling builds each level from the one below instead of from x again.
  std::vector<torch::Tensor> downsample_levels(const torch::Tensor& x, char which, int levels) const;
  // nested: level l's summaries from level l-1's, (B, nb*p, d) -> (B, nb/2*p, d).
  torch::Tensor nest_up(const torch::Tensor& children, int l, char which) const;
  // The conv weights that give level l's summaries straight from the tokens, (p*d, 1, w_l) and
  // (p*d): the layer's own for groupedconv, the composed cascade for nested (the reference's
  // and the viewers' basis).
  std::pair<torch::Tensor, torch::Tensor> composed_depthwise(int l, char which) const;
  // Coarse queries of level l: (B, n, d) internal order -> (B, blocks_l, d) (query downsampling).
  torch::Tensor downsample_queries(const torch::Tensor& q, int l) const;

  // The downsampling weights of level l (1..L) as (p, d, block_tokens) basis functions in
  // token order within a block (2D: row-major within the cell), for viewers. Empty for conv.
  torch::Tensor basis_functions(int l, char which) const;

  const AttentionConfig& config() const { return config_; }
  // The layout used for a run of T tokens (T rounded up to a valid length for causal).
  const Plan& plan(int64_t T, const torch::Device& device);
  int64_t run_length(int64_t T) const;

  torch::nn::ModuleList conv_k{nullptr}, conv_v{nullptr}, conv_q{nullptr};
  // The learned downsampling of level l (1..L); which: 'k', 'v', 'q'.
  const ConvWeightsImpl& conv(char which, int l) const;

 private:
  // Query downsampling (the linear variant): the fine level's result of either path, merged
  // with the coarse levels computed per block (band_k/band_v: per level (B, G, K, d); entry 0
  // unused). Returns y (B, n, d) internal order; fills the normalised capture coefficients
  // (per level (B, n, K)), the joint max and the normaliser when asked.
  struct FineLevel {
    torch::Tensor y;        // (B, n, d) the fine level's own softmax-weighted values
    torch::Tensor lse;      // (B, n) log of its normaliser, max included
    torch::Tensor max;      // (B, n) its max (optional: then lse stands in)
    torch::Tensor weights;  // (B, n, K0) its own softmax weights (capture only)
  };
  torch::Tensor combine_query_levels(const Plan& plan, const FineLevel& fine, const torch::Tensor& qf,
                                     const std::vector<torch::Tensor>& band_k, const std::vector<torch::Tensor>& band_v,
                                     std::vector<torch::Tensor>* coeff, torch::Tensor* row_max,
                                     torch::Tensor* row_norm) const;
  // Key or value bands of the coarse levels of x (B, n, d): per level (B, G, K, d), entry 0 empty.
  std::vector<torch::Tensor> coarse_bands(const Plan& plan, const torch::Tensor& x, char which) const;

  torch::Tensor flat_weight(int l, char which) const;  // (out, in_per_group, block_tokens), Z order in 2D

  std::vector<std::shared_ptr<ConvWeightsImpl>> conv_k_, conv_v_, conv_q_;

  // The CPU kernel's layout of level l's depthwise weights, (bt, p, d) and bias (p, d), kept
  // while the parameter is unchanged (same storage and version) and no gradient is wanted:
  // a viewer's repeated runs then skip an O(n p d) transposition per level.
  struct KernelWeights {
    const void* storage = nullptr;
    int64_t version = -1;
    torch::Tensor w, bias;
  };
  std::pair<torch::Tensor, torch::Tensor> kernel_weights(int l, char which) const;
  mutable std::mutex kernel_weights_mutex_;
  mutable std::map<std::pair<int, char>, KernelWeights> kernel_weights_;

  AttentionConfig config_;
  FmaPath path_ = FmaPath::automatic;
  std::mutex plan_mutex_;
  std::map<std::pair<int64_t, std::string>, std::shared_ptr<Plan>> plans_;
};
TORCH_MODULE(FmaAttention);

// Depthwise downsampling with the CPU kernel (differentiable): x (B, n, d) float32,
// w (bt, p, d), bias (p, d) -> (B, n/bt * p, d), row blk*p + s = summary s of block blk.
torch::Tensor depthwise_downsample(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias);

// Dense O(n^2) reference, independent of both fast paths: the summaries (and coarse queries)
// come straight from the layer's parameters through torch's own conv1d / conv2d (groups = d
// for groupedconv) and average pooling on token-order inputs; the interaction lists come from
// the definition (`serves`), not the band layout. Every key token and every summary of every
// level is a column, masked by the definition of FMA, coarse columns weighted by alpha_l,
// phantoms as one column of score log(phantom_count). Computes in float64 for float64 input
// (parameters too), else float32. Returns (b, h, n, d); with `weights`, the (B, n, cols) matrix.
torch::Tensor fma_dense_reference(FmaAttentionImpl& attention, const torch::Tensor& q,
                                  const torch::Tensor& k, const torch::Tensor& v,
                                  torch::Tensor* weights = nullptr);

// Linear attention with the elu+1 feature map phi (Katharopoulos et al. 2020), the
// `elu_linear` baseline: y_i = phi(q_i)^T S_i / phi(q_i)^T z_i with S_i = sum_j phi(k_j) v_j^T
// and z_i = sum_j phi(k_j) over the keys j <= i (causal) or all keys. Causal input goes in
// chunks of `chunk` queries (a masked chunk x chunk product inside a chunk, the running S and z
// of the chunks before), so memory is O(n (chunk + d)) per head, never n x n. Float32 math
// (float64 for float64 input); (b, h, n, d) -> (b, h, n, d) in q's dtype.
torch::Tensor elu_linear_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal,
                                   int64_t chunk = 64);
// Its weights for query row `i` (what the window shows): phi(q_i) . phi(k_j) normalised over
// the row's keys, zero past i when causal. q, k: (b, h, n, d) -> (b, h, n), O(n d).
torch::Tensor elu_linear_row(const torch::Tensor& q, const torch::Tensor& k, int64_t i, bool causal);

// Plain softmax attention (b, h, n, d), causal or not: the dense twin's attention and the
// baseline of benchmarks. Returns (b, h, n, d); with `weights`, the (b, h, n, n) matrix.
// LibTorch 2.x without `weights`: its scaled_dot_product_attention (fused kernels on CUDA).
torch::Tensor dense_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, bool causal,
                              torch::Tensor* weights = nullptr);

}  // namespace fmalens
