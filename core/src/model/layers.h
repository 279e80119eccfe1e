// Transformer building blocks in the nanoGPT shape (pre-LN, fused q|k|v, exact GELU), with
// FMA or dense attention. Parameter names follow nanoGPT and the reference FMA layer so that
// imported checkpoints map one to one (FMA.md, "Reference checkpoint layout").
#pragma once

#include <optional>

#include "fma/attention.h"
#include "fmalens/config.h"
#include "torch_pch.h"

namespace fmalens {

// LayerNorm with an optional bias (nanoGPT's `bias=False`), eps 1e-5.
struct LayerNormImpl : torch::nn::Module {
  LayerNormImpl(int64_t dim, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(LayerNorm);

// What one layer's attention exposes to a viewer.
struct LayerCapture {
  FmaCapture fma;    // FMA models: bands, row max and normaliser (B = b*h)
  torch::Tensor q;   // (b, h, T, d) queries, unscaled
  torch::Tensor k;   // (b, h, T, d) keys
};

struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(const ModelConfig& config);
  // x: (b, T, C) -> (b, T, C)
  torch::Tensor forward(const torch::Tensor& x, LayerCapture* capture = nullptr);

  torch::nn::Linear c_attn{nullptr}, c_proj{nullptr};
  FmaAttention attn{nullptr};  // FMA and local models; null for dense and elu_linear
  int64_t n_head = 0;
  bool causal = true;
  AttentionKind kind = AttentionKind::fma;
};
TORCH_MODULE(SelfAttention);

struct MLPImpl : torch::nn::Module {
  MLPImpl(int64_t dim, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(MLP);

struct BlockImpl : torch::nn::Module {
  BlockImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, LayerCapture* capture = nullptr);
  LayerNorm ln_1{nullptr}, ln_2{nullptr};
  SelfAttention attn{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(Block);

// nanoGPT's init: N(0, 0.02) for linear and embedding weights, residual projections scaled
// by 1/sqrt(2 n_layer), zero biases.
void init_transformer_weights(torch::nn::Module& model, int64_t n_layer);

}  // namespace fmalens
