#include "train/adamw.h"

#include <cmath>

#include "fmalens/quote.h"
#include "model/model_io.h"

namespace fmalens {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, double beta1, double beta2, double wd)
    : params_(std::move(params)), beta1_(beta1), beta2_(beta2), wd_(wd) {
  for (auto& p : params_) {
    m_.push_back(torch::zeros_like(p.second));
    v_.push_back(torch::zeros_like(p.second));
    t_.push_back(0);
    // No decay for biases, norms, and the FMA downsampling (it starts as averaging).
    decay_.push_back(p.second.dim() >= 2 && p.first.find(".attn.attn.") == std::string::npos);
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    if (!p.grad().defined()) continue;
    const auto t = static_cast<double>(++t_[i]);
    const double bc1 = 1 - std::pow(beta1_, t), bc2 = 1 - std::pow(beta2_, t);
    const auto& g = p.grad();
    m_[i].mul_(beta1_).add_(g, 1 - beta1_);
    v_[i].mul_(beta2_).addcmul_(g, g, 1 - beta2_);
    if (decay_[i] && wd_ > 0) p.mul_(1 - lr * wd_);
    p.addcdiv_(m_[i], (v_[i] / bc2).sqrt_().add_(1e-8), -lr / bc1);
  }
}

TensorMap AdamW::state() const {
  TensorMap out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out["optim.m." + params_[i].first] = to_tensor_data(m_[i]);
    out["optim.v." + params_[i].first] = to_tensor_data(v_[i]);
    // A float32 scalar: exact to 2^24 steps.
    out["optim.t." + params_[i].first] = to_tensor_data(torch::full({1}, static_cast<double>(t_[i])));
  }
  return out;
}

void AdamW::load(const TensorMap& state, int64_t t, const std::string& path) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& name = params_[i].first;
    auto m = state.find("optim.m." + name), v = state.find("optim.v." + name), ti = state.find("optim.t." + name);
    if (m == state.end() || v == state.end()) throw Error(shown_path(path) + ": optimizer state for " + quote(name) + " missing");
    m_[i].copy_(from_tensor_data(m->second));
    v_[i].copy_(from_tensor_data(v->second));
    // Older state files have one count for all: the global step.
    t_[i] = ti == state.end() ? t : static_cast<int64_t>(std::llround(from_tensor_data(ti->second).item<double>()));
    if (t_[i] < 0 || t_[i] > t)
      throw Error(shown_path(path) + ": optimizer step count of " + quote(name) + " is " + std::to_string(t_[i]) +
                  ", outside [0, the training's step " + std::to_string(t) + "]");
  }
}

}  // namespace fmalens
