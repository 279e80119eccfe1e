#include "model/layers.h"

#include <cmath>

namespace fmalens {

LayerNormImpl::LayerNormImpl(int64_t dim, bool with_bias) {
  weight = register_parameter("weight", torch::ones({dim}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, 1e-5);
}

SelfAttentionImpl::SelfAttentionImpl(const ModelConfig& config) {
  const int64_t C = config.n_embd;
  n_head = config.n_head;
  c_attn = register_module("c_attn", torch::nn::Linear(torch::nn::LinearOptions(C, 3 * C).bias(config.bias)));
  c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(C, C).bias(config.bias)));
  causal = config.causal();
  kind = config.attention_kind;
  if (uses_fma_bands(kind))  // local: the same module with no coarse levels
    attn = register_module("attn", FmaAttention(config.attention_config()));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, LayerCapture* capture) {
  const int64_t b = x.size(0), T = x.size(1), C = x.size(2), d = C / n_head;
  auto qkv = c_attn->forward(x).split(C, 2);
  auto heads = [&](const torch::Tensor& t) { return t.view({b, T, n_head, d}).transpose(1, 2); };  // (b, h, T, d)
  auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  torch::Tensor y;
  if (attn) {
    y = attn->forward(q, k, v, capture ? &capture->fma : nullptr);
  } else if (kind == AttentionKind::elu_linear) {
    y = elu_linear_attention(q, k, v, causal);
  } else {
    y = dense_attention(q, k, v, causal);
  }
  if (capture) {
    capture->q = q.detach();
    capture->k = k.detach();
  }
  return c_proj->forward(y.transpose(1, 2).contiguous().view({b, T, C}));
}

MLPImpl::MLPImpl(int64_t C, bool bias) {
  c_fc = register_module("c_fc", torch::nn::Linear(torch::nn::LinearOptions(C, 4 * C).bias(bias)));
  c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(4 * C, C).bias(bias)));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) { return c_proj->forward(torch::gelu(c_fc->forward(x))); }

BlockImpl::BlockImpl(const ModelConfig& config) {
  ln_1 = register_module("ln_1", LayerNorm(config.n_embd, config.bias));
  attn = register_module("attn", SelfAttention(config));
  ln_2 = register_module("ln_2", LayerNorm(config.n_embd, config.bias));
  mlp = register_module("mlp", MLP(config.n_embd, config.bias));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, LayerCapture* capture) {
  auto h = x + attn->forward(ln_1->forward(x), capture);
  return h + mlp->forward(ln_2->forward(h));
}

void init_transformer_weights(torch::nn::Module& model, int64_t n_layer) {
  torch::NoGradGuard no_grad;
  for (auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    if (name.find(".attn.attn.") != std::string::npos) continue;  // FMA keeps its own init
    if (name.find("local_mix") != std::string::npos) continue;    // LibTorch's (fan-in) init: it must matter from step 1
    if (name.rfind("stem.", 0) == 0) continue;                      // the same for the image stem's convolutions
    const bool is_weight = name.size() >= 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (name.find("ln_") != std::string::npos || name.find("norm") != std::string::npos) continue;
    if (!is_weight || p.dim() < 2) {
      if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) p.zero_();
      continue;
    }
    double std = 0.02;
    if (name.size() >= 13 && name.compare(name.size() - 13, 13, "c_proj.weight") == 0)
      std = 0.02 / std::sqrt(2.0 * static_cast<double>(n_layer));
    p.normal_(0.0, std);
  }
}

}  // namespace fmalens
