// Snapshots made without a model: genuine FMA attention (average-pool downsampling, joint
// softmax with alpha, FMA.md) over random smooth queries and keys, at any size. They let the
// render tests and the frame-rate measurements run at n = 16384 without LibTorch, and every
// view be checked against known structure.
#pragma once

#include <cstdint>

#include "fmalens/model.h"
#include "fmalens/snapshot.h"

namespace fmalens::render {

struct SyntheticSpec {
  Variant variant = Variant::causal;
  int64_t n = 1024;         // 1D: layout length (a power-of-two multiple of m)
  int64_t tokens = 0;       // 1D: tokens of input (0: n); fewer pads the causal input
  int64_t grid_side = 8;    // 2D: patch grid side
  int64_t m = 32;           // 1D: fine block; 2D: fine cell side r
  int64_t p = 4;
  int layers = 2;
  int heads = 2;
  int64_t head_dim = 8;
  Boundary boundary = Boundary::mask;
  uint64_t seed = 1;

  // A 1D layout of n tokens (causal or bidirectional) and a 2D grid of side x side patches.
  static SyntheticSpec sequence(Variant variant, int64_t n, int64_t m, int64_t p, int layers = 1, int heads = 1);
  static SyntheticSpec grid(int64_t side, int64_t r, int64_t p, int layers = 1, int heads = 1);
};

// Throws ConfigError when the spec is not a valid FMA configuration.
Snapshot make_synthetic_snapshot(const SyntheticSpec& spec);

// A ModelInfo that matches the snapshot (config, parameter groups, a made-up loss curve), so
// the model panel has something to show.
ModelInfo make_synthetic_model_info(const Snapshot& snapshot);

}  // namespace fmalens::render
