// Training options of the small models the core's tests train in a few seconds.
#pragma once

#include <algorithm>
#include <string>

#include "fmalens/train.h"

namespace fmalens::test {

// A one-layer, two-head causal FMA byte model config (width `embd`, context `block_size`, m,
// p 2), for the tests that build one without training it.
inline ModelConfig tiny_text_config(int64_t block_size = 64, int64_t embd = 16, int64_t m = 8) {
  ModelConfig c;
  c.kind = ModelKind::text;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = embd;
  c.block_size = block_size;
  c.attention.m = m;
  c.attention.p = 2;
  return c;
}

// A one-layer, two-head byte model (causal FMA unless the test changes it) trained for `steps`
// steps of `batch` windows on `data`, learning rate 3e-3, evaluated every steps / 2, one thread.
inline TrainOptions tiny_text_training(const std::string& out, const std::string& data, int64_t block_size, int64_t embd, int64_t m,
                                       int64_t steps, int64_t batch) {
  TrainOptions o;
  o.out = out;
  o.data = data;
  o.model.kind = ModelKind::text;
  o.model.n_layer = 1;
  o.model.n_head = 2;
  o.model.n_embd = embd;
  o.model.block_size = block_size;
  o.model.attention.m = m;
  o.model.attention.p = 2;
  o.steps = steps;
  o.batch_size = batch;
  o.lr = 3e-3;
  o.warmup = std::max<int64_t>(1, steps / 6);
  o.eval_interval = std::max<int64_t>(1, steps / 2);
  o.eval_batches = 1;
  o.threads = 1;
  return o;
}

}  // namespace fmalens::test
