// Training options of the small models the core's tests train in a few seconds.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fmalens/checkpoint.h"
#include "fmalens/train.h"
#include "test_util.h"

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

// The options of tiny_text_training over a 20 KB file of numbered lines written into `dir`,
// trained on a curriculum of 8 steps: 4 steps of 4 windows of 16 bytes, then 4 of one window of
// the whole context `block_size` (m as given, p 2).
inline TrainOptions tiny_curriculum_training(const std::string& dir, int64_t block_size, int64_t m) {
  std::string text;
  for (int i = 0; text.size() < 20000; ++i) text += "curriculum line " + std::to_string(i % 53) + "\n";
  write_file(dir + "/t.txt", text);
  TrainOptions o = tiny_text_training(dir + "/m.safetensors", dir + "/t.txt", block_size, 16, m, 8, 4);
  o.seq_schedule = "16:4@0," + std::to_string(block_size) + ":1@0.5";
  return o;
}

// Every tensor of two checkpoints, byte for byte (the optimizer and data-order state of a .state
// file too): what "the same training" means for trainings split into sittings.
inline void expect_same_tensors(const std::string& a, const std::string& b) {
  const TensorMap ta = read_safetensors(a).tensors, tb = read_safetensors(b).tensors;
  ASSERT_EQ(ta.size(), tb.size()) << a << " against " << b;
  for (const auto& [name, data] : ta) {
    auto it = tb.find(name);
    ASSERT_NE(it, tb.end()) << name << " missing from " << b;
    EXPECT_TRUE(data.bytes == it->second.bytes) << name << " differs";
  }
}

}  // namespace fmalens::test
