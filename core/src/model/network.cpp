#include "model/network.h"

namespace fmalens {

TransformerImpl::TransformerImpl(const ModelConfig& config) {
  wte = register_module("wte", torch::nn::Embedding(config.vocab_size, config.n_embd));
  if (config.learned_positions) wpe = register_module("wpe", torch::nn::Embedding(config.block_size, config.n_embd));
  block_size = config.block_size;
  if (config.local_mixing > 0)
    local_mix = register_module("local_mix", torch::nn::Conv1d(torch::nn::Conv1dOptions(config.n_embd, config.n_embd, config.local_mixing)
                                                                   .groups(config.n_embd)
                                                                   .padding(config.local_mixing / 2)));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.n_layer; ++i) {
    blocks.emplace_back(config);
    h->push_back(blocks.back());
  }
  ln_f = register_module("ln_f", LayerNorm(config.n_embd, config.bias));
}

GPTImpl::GPTImpl(const ModelConfig& config) {
  transformer = register_module("transformer", Transformer(config));
  init_transformer_weights(*this, config.n_layer);
}

torch::Tensor GPTImpl::forward(const torch::Tensor& idx, std::vector<LayerCapture>* capture, const LayerHook& hook,
                               int64_t position_offset) {
  const int64_t T = idx.size(1);
  TORCH_CHECK(position_offset >= 0 && position_offset + T <= transformer->block_size, "sequence of ", T, " tokens at position ",
              position_offset, " exceeds block_size ", transformer->block_size);
  auto x = transformer->wte->forward(idx);  // (b, T, C)
  if (transformer->wpe) {  // learned positions; without, position offsets change nothing
    auto pos = torch::arange(position_offset, position_offset + T, torch::TensorOptions().dtype(torch::kLong).device(idx.device()));
    x = x + transformer->wpe->forward(pos);
  }
  if (transformer->local_mix) x = x + transformer->local_mix->forward(x.transpose(1, 2)).transpose(1, 2);
  if (capture) capture->assign(transformer->blocks.size(), LayerCapture{});
  for (size_t i = 0; i < transformer->blocks.size(); ++i) {
    if (hook) hook(i);
    x = transformer->blocks[i]->forward(x, capture ? &(*capture)[i] : nullptr);
  }
  x = transformer->ln_f->forward(x);
  return torch::matmul(x, transformer->wte->weight.t());  // tied output: (b, T, vocab)
}

ViTImpl::ViTImpl(const ModelConfig& cfg) : config(cfg) {
  const int64_t P = cfg.patch_size, G = cfg.grid_side();
  if (cfg.stem_layers > 0) {
    stem = register_module("stem", torch::nn::Sequential());
    for (int64_t i = 0; i < cfg.stem_layers; ++i) {
      const int64_t in = i == 0 ? cfg.channels : cfg.stem_channels;
      stem->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, cfg.stem_channels, 3).padding(1)));
      stem->push_back(torch::nn::GELU());
    }
  }
  const int64_t patch_channels = cfg.stem_layers > 0 ? cfg.stem_channels : cfg.channels;
  patch_embed = register_module("patch_embed", torch::nn::Linear(patch_channels * P * P, cfg.n_embd));
  pos_embed = register_parameter("pos_embed", torch::randn({G * G, cfg.n_embd}) * 0.02);
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    blocks.emplace_back(cfg);
    h->push_back(blocks.back());
  }
  ln_f = register_module("ln_f", LayerNorm(cfg.n_embd, cfg.bias));
  head = register_module("head", torch::nn::Linear(cfg.n_embd, cfg.num_classes));
  init_transformer_weights(*this, cfg.n_layer);
}

torch::Tensor ViTImpl::patchify(const torch::Tensor& images) const {
  const int64_t b = images.size(0), ch = images.size(1), P = config.patch_size, G = config.grid_side();
  // (b, ch, G, P, G, P) -> (b, G, G, ch, P, P)
  return images.reshape({b, ch, G, P, G, P}).permute({0, 2, 4, 1, 3, 5}).reshape({b, G * G, ch * P * P});
}

torch::Tensor ViTImpl::embed(const torch::Tensor& images) {
  auto pixels = (images - 0.5) * 2.0;  // (b, channels, S, S)
  if (stem) pixels = stem->forward(pixels);  // (b, stem_channels, S, S)
  return patch_embed->forward(patchify(pixels)) + pos_embed;  // (b, n, C)
}

torch::Tensor ViTImpl::forward(const torch::Tensor& images, std::vector<LayerCapture>* capture, const LayerHook& hook) {
  auto x = embed(images);  // (b, n, C)
  if (capture) capture->assign(blocks.size(), LayerCapture{});
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (hook) hook(i);
    x = blocks[i]->forward(x, capture ? &(*capture)[i] : nullptr);
  }
  return head->forward(ln_f->forward(x).mean(1));
}

Network::Network(const ModelConfig& config) : config_(config) {
  validate(config_);
  if (config_.kind == ModelKind::text) gpt_ = GPT(config_);
  else vit_ = ViT(config_);
}

torch::nn::Module& Network::module() { return gpt_ ? static_cast<torch::nn::Module&>(*gpt_) : *vit_; }

std::shared_ptr<torch::nn::Module> Network::module_ptr() {
  return gpt_ ? std::static_pointer_cast<torch::nn::Module>(gpt_.ptr()) : std::static_pointer_cast<torch::nn::Module>(vit_.ptr());
}

torch::Tensor Network::forward(const torch::Tensor& input, std::vector<LayerCapture>* capture, const LayerHook& hook,
                               int64_t position_offset) {
  return gpt_ ? gpt_->forward(input, capture, hook, position_offset) : vit_->forward(input, capture, hook);
}

FmaAttentionImpl* Network::attention(int64_t layer) {
  auto& blocks = gpt_ ? gpt_->transformer->blocks : vit_->blocks;
  auto& a = blocks.at(static_cast<size_t>(layer))->attn->attn;
  return a ? a.get() : nullptr;
}

void Network::to(const torch::Device& device) { module().to(device); }

void Network::to(const torch::Device& device, torch::Dtype dtype) {
  module().to(device, dtype);
  for (int64_t l = 0; l < config_.n_layer; ++l)
    if (auto* a = attention(l)) a->to(torch::kFloat);
}

}  // namespace fmalens
