// Plain configuration types shared by the core, the CLI and the GUI (no torch, no GL).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmalens {

// Every refusal of bad input (a configuration, a file, an image) is one of these; its message
// is one line that names the file (where there is one) and the rule that was broken.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A long computation stopped because its caller asked (a run or an analysis superseded).
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

// A failure of the machine, not of the input: no display, no OpenGL 3.3, a shader the driver
// cannot build, a GL error. Front ends exit 1 for it (2 for an Error), with the same one line.
class EnvironmentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration that breaks one of FMA's rules (see ../shared/design/FMA.md).
class ConfigError : public Error {
 public:
  using Error::Error;
};

enum class Variant { causal, bidirectional, grid2d };
// nested (ours, 1D only): level 1 as groupedconv; level l > 1 made from the 2p summaries of the
// two child blocks by a per-channel linear map 2p -> p with bias (the Fast Multipole Method's
// multipole-to-multipole step), so its parameters do not grow with n.
enum class Downsampling { groupedconv, conv, avgpool, nested };
// zero_pad: the reference's unmasked phantom zero keys before the sequence (causal only);
// mask: out-of-range slots are masked, every row of weights sums to 1.
enum class Boundary { zero_pad, mask };

struct AttentionConfig {
  Variant variant = Variant::causal;
  int64_t n = 1024;       // 1D: tokens. 2D: derived, grid_side^2.
  int64_t grid_side = 0;  // 2D only: the patch grid is grid_side x grid_side (a power of two)
  int64_t m = 64;         // 1D: fine block size; 2D: fine cell side r
  int64_t p = 4;          // summaries per block per coarse level
  Downsampling downsampling = Downsampling::groupedconv;
  Boundary boundary = Boundary::mask;
  bool query_downsampling = false;  // the linear O(n) variant (bidirectional and 2D only)
  bool scale_attn = true;           // alpha_l = tokens per summary (reference default)
  // At most this many coarse levels (-1: all that n and m give). 0 is local attention: FMA's
  // fine band alone (AttentionKind::local), the baseline that asks what the coarse levels add.
  int max_coarse_levels = -1;
  int64_t heads = 4;
  int64_t head_dim = 64;

  // Number of tokens the attention runs over (2D: grid_side^2).
  int64_t tokens() const { return variant == Variant::grid2d ? grid_side * grid_side : n; }
};

// Throws ConfigError naming the rule when `config` is not a valid FMA configuration.
void validate(const AttentionConfig& config);

// Number of coarse levels L = log2(n/m) - 1 (1D) or log2(G/r) - 1 (2D), after validation;
// fewer when max_coarse_levels says so.
int coarse_levels(const AttentionConfig& config);

// FMA's 1D layout runs m * 2^k tokens (k >= 1; bidirectional input must be one of these, causal
// input is padded to one). The shortest such length holding `tokens`:
int64_t layout_length_at_least(int64_t m, int64_t tokens);
// and the longest within `tokens` (0 when tokens < 2m): how text shorter than a bidirectional
// model's window is read without padding.
int64_t layout_length_at_most(int64_t m, int64_t tokens);

const char* to_string(Variant v);
const char* to_string(Downsampling d);
const char* to_string(Boundary b);
Variant variant_from_string(const std::string& s);
Downsampling downsampling_from_string(const std::string& s);
Boundary boundary_from_string(const std::string& s);

enum class ModelKind { text, image };

// The id of a masked byte in a masked LM's input (one past the bytes).
constexpr int64_t kMaskToken = 256;
// fma: Fast Multipole Attention. dense: exact softmax attention. local: FMA's fine band alone
// (no coarse levels; the same kernel, capture and views). elu_linear: linear attention with
// the elu+1 feature map (Katharopoulos et al. 2020), chunked, O(n d) memory; in this project
// "linear" alone names FMA with downsampled queries.
enum class AttentionKind { fma, dense, local, elu_linear };
const char* to_string(AttentionKind k);  // "fma", "dense", "local", "elu_linear"
// In words for people: "FMA", "dense", "local (FMA's fine band)", "elu+1 linear".
const char* attention_kind_name(AttentionKind k);
// Throws ConfigError naming the four kinds.
AttentionKind attention_kind_from_string(const std::string& s);
// Whether the attention runs on FMA's band machinery (the kernel, its capture, every view of
// levels): fma and local.
inline bool uses_fma_bands(AttentionKind k) { return k == AttentionKind::fma || k == AttentionKind::local; }

// A whole model: the GPT (text) or the vision transformer (image). The attention's `n`
// (text: block_size; image: grid_side^2), heads and head_dim are derived from it.
struct ModelConfig {
  ModelKind kind = ModelKind::text;
  AttentionKind attention_kind = AttentionKind::fma;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  bool bias = true;
  // text
  int64_t block_size = 1024;
  int64_t vocab_size = 256;
  // Masked byte LM (encoder-only, bidirectional attention): ids 0..255 are bytes, kMaskToken
  // marks a masked byte (vocab_size 257); it predicts the bytes behind the masks.
  bool masked_lm = false;
  // Local mixing (masked LMs): a depthwise convolution of this odd width over the embeddings,
  // added to them before the first layer (0: none). With learned absolute positions a masked
  // LM otherwise sits on the unigram plateau for thousands of steps (see the README).
  int64_t local_mixing = 0;
  // Text: a learned position table wpe (block_size x n_embd, nanoGPT's and the reference's), or
  // none: causal attention infers position from what it may see, and nothing grows with the
  // context (a 64K context's table alone is 33 MB at width 128).
  bool learned_positions = true;
  // image: the input is resized to image_size x image_size with `channels` channels and cut
  // into patches of patch_size; the patch grid is image_size / patch_size on a side.
  int64_t image_size = 0;
  int64_t patch_size = 0;
  int64_t channels = 1;
  // An optional convolutional stem before the patches: stem_layers 3x3 convolutions (stride 1,
  // padding 1, GELU after each) from `channels` to stem_channels, so each patch token is made
  // from an overlapping field of (2 * stem_layers + patch_size) pixels on a side instead of its
  // own patch alone (ViTs learn faster from small data with one). 0 and 0: none (every model
  // before it; the config then says nothing about a stem).
  int64_t stem_channels = 0;
  int64_t stem_layers = 0;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  // attention (variant, m, p, downsampling, boundary, query_downsampling, scale_attn)
  AttentionConfig attention;

  int64_t sequence_length() const;  // text: block_size; image: patches
  // Whether a token attends to the past only (text models that are not bidirectional; the
  // variant says so for dense twins too).
  bool causal() const { return kind == ModelKind::text && attention.variant == Variant::causal; }
  int64_t grid_side() const { return patch_size > 0 ? image_size / patch_size : 0; }
  // The attention configuration with n, grid, heads and head_dim filled in.
  AttentionConfig attention_config() const;
};

// Throws ConfigError when the model configuration (or its attention) breaks a rule.
void validate(const ModelConfig& config);

// An image model's input in words, "32x32x1, patches 2x2 -> grid 16x16, 10 classes", and its
// stem if it has one (`fmalens info` and the window's model panel).
std::string image_input_summary(const ModelConfig& config);

std::string to_json(const ModelConfig& config);
// Parses what to_json wrote. Throws ConfigError naming the field on a missing or bad value.
ModelConfig model_config_from_json(const std::string& text);

}  // namespace fmalens
