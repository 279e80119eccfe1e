// The two model families and one handle over them.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "model/layers.h"

namespace fmalens {

// nanoGPT's `transformer` sub-module: wte, wpe, h.{i}, ln_f.
struct TransformerImpl : torch::nn::Module {
  explicit TransformerImpl(const ModelConfig& config);
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};  // wpe: null without learned positions
  int64_t block_size = 0;
  torch::nn::Conv1d local_mix{nullptr};  // config.local_mixing > 0: depthwise (C, 1, width)
  torch::nn::ModuleList h{nullptr};
  LayerNorm ln_f{nullptr};
  std::vector<Block> blocks;
};
TORCH_MODULE(Transformer);

// Called before each layer with its index; may throw (Cancelled) to stop a run.
using LayerHook = std::function<void(size_t layer)>;

// Byte-level GPT, tied embedding and output (no separate lm_head parameter).
struct GPTImpl : torch::nn::Module {
  explicit GPTImpl(const ModelConfig& config);
  // idx: (b, T) int64 bytes, T <= block_size -> logits (b, T, vocab). `position_offset`:
  // the first token's position (training short windows at every position of the context).
  torch::Tensor forward(const torch::Tensor& idx, std::vector<LayerCapture>* capture = nullptr,
                        const LayerHook& hook = nullptr, int64_t position_offset = 0);
  Transformer transformer{nullptr};
};
TORCH_MODULE(GPT);

// Vision transformer over a patch grid with 2D FMA, mean pooling, a linear head.
struct ViTImpl : torch::nn::Module {
  explicit ViTImpl(const ModelConfig& config);
  // images: (b, channels, S, S) float in [0, 1] -> logits (b, classes)
  torch::Tensor forward(const torch::Tensor& images, std::vector<LayerCapture>* capture = nullptr,
                        const LayerHook& hook = nullptr);
  // The first layer's input: (b, channels, S, S) in [0, 1] -> (b, G*G, C), stem, patches, positions.
  torch::Tensor embed(const torch::Tensor& images);
  // (b, ch, S, S) -> (b, G*G, ch*P*P), tokens row-major over the grid
  torch::Tensor patchify(const torch::Tensor& images) const;
  // config.stem_layers > 0: (b, channels, S, S) -> (b, stem_channels, S, S), 3x3 convolutions
  // each followed by GELU (modules stem.0, stem.2, ...); null without a stem.
  torch::nn::Sequential stem{nullptr};
  torch::nn::Linear patch_embed{nullptr}, head{nullptr};
  torch::Tensor pos_embed;  // (G*G, C)
  torch::nn::ModuleList h{nullptr};
  LayerNorm ln_f{nullptr};
  std::vector<Block> blocks;
  ModelConfig config;
};
TORCH_MODULE(ViT);

// A model of either kind, with its configuration.
class Network {
 public:
  explicit Network(const ModelConfig& config);
  const ModelConfig& config() const { return config_; }
  torch::nn::Module& module();
  std::shared_ptr<torch::nn::Module> module_ptr();
  torch::Tensor forward(const torch::Tensor& input, std::vector<LayerCapture>* capture = nullptr,
                        const LayerHook& hook = nullptr, int64_t position_offset = 0);
  // The FMA module of layer `layer` (null for dense models).
  FmaAttentionImpl* attention(int64_t layer);
  void to(const torch::Device& device);
  // Weights in `dtype` on `device`; the FMA layers' own weights (the downsampling) stay float32,
  // as their softmax and summaries are computed in float32 whatever the activations are.
  void to(const torch::Device& device, torch::Dtype dtype);

 private:
  ModelConfig config_;
  GPT gpt_{nullptr};
  ViT vit_{nullptr};
};

}  // namespace fmalens
