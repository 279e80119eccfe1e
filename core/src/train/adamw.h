// AdamW with decoupled weight decay; its state is plain tensors so it can be saved with a
// training's resume state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "fmalens/checkpoint.h"

namespace fmalens {

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, double beta1, double beta2, double wd);

  // One update at learning rate lr from the parameters' gradients. A parameter without a
  // gradient (one that took no part in this step: a coarse level beyond a short window of a
  // length curriculum) is left alone and its own step count does not advance, so its first
  // update, whenever it comes, is Adam's first (about lr per element) and its moments' bias
  // correction counts its own steps. With one global count, a parameter first used at step
  // 2,000 saw moments with almost no bias correction: updates of 3 to 6.5 lr per element
  // over its first ~50 steps (m ~ (1 - b1^k) g over v ~ sqrt(1 - b2^k) |g|).
  void step(double lr);

  // m, v and the per-parameter step counts, under "optim.{m,v,t}.<name>".
  TensorMap state() const;
  // Resume: `t` is the global step, used as every parameter's count when a state file from
  // before per-parameter counts has none.
  void load(const TensorMap& state, int64_t t, const std::string& path);

  // Updates so far of parameter i (in constructor order).
  int64_t steps_of(size_t i) const { return t_[i]; }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> m_, v_;
  std::vector<int64_t> t_;
  std::vector<bool> decay_;
  double beta1_, beta2_, wd_;
};

}  // namespace fmalens
