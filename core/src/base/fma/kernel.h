// The project's own CPU kernel for the FMA band computation (float32), torch-free so that it
// can be compiled once per instruction set (AVX-512, AVX2+FMA, generic) and picked at run time.
//
// One "tile" is one fine group of queries (1D: m consecutive queries; 2D: one r x r cell, in
// Morton order). For a tile, the kernel packs every key and value slot of every level (fine
// band and the coarse summaries) into small contiguous buffers, computes the scores with a
// register-blocked micro-kernel, applies the masks, the joint softmax with one max per query
// and the alpha weights, and the weighted sum, all while the tile's data stays in cache.
// Nothing of size n x n, and nothing per level of size n x K, is ever allocated (unless the
// caller asks for the captured bands).
#pragma once

#include <cstdint>
#include <vector>

namespace fmalens::kernel {

// A run of consecutive key rows of one level feeding consecutive slots of one group.
struct Segment {
  int32_t slot_begin = 0;
  int32_t count = 0;
  int64_t row_begin = -1;  // -1: zero rows (phantom keys or masked padding)
};

struct Level {
  const float* keys = nullptr;    // (B, rows, d) row-major
  const float* values = nullptr;  // (B, rows, d)
  int64_t rows = 0;
  float alpha = 1.0f;
  int32_t slots = 0;              // K_l
  int64_t group_queries = 0;      // queries per group at this level
  const uint8_t* valid = nullptr;  // (groups, group_queries, K_l): 1 = slot usable
  const int64_t* seg_offsets = nullptr;  // (groups + 1): segments of group g are [off[g], off[g+1])
  const Segment* segments = nullptr;
  // Backward outputs: gradients of keys and values (B, rows, d), accumulated.
  float* grad_keys = nullptr;
  float* grad_values = nullptr;
  // Capture output (optional): (B, n, capture_slots) coefficients, internal query order. When
  // `capture_slot` is set (a union level), kernel slot k of query row r goes to public slot
  // capture_slot[r * slots + k] (-1: not the query's), and unmapped public slots are 0.
  float* capture = nullptr;
  const int32_t* capture_slot = nullptr;
  int32_t capture_slots = 0;
};

constexpr int kMaxLevels = 24;
// Tiles are padded to a multiple of this many queries in the forward's transposed layouts
// (the widest vector of any build, and the bits of one validity word), so that one plan
// serves every instruction set.
constexpr int64_t kTileAlign = 16;
inline int64_t padded_tile(int64_t tile_queries) { return (tile_queries + kTileAlign - 1) / kTileAlign * kTileAlign; }

struct Problem {
  int64_t B = 0, n = 0, d = 0;
  int64_t tile_queries = 0;  // fine group size (m, or r*r)
  int num_levels = 0;
  Level level[kMaxLevels];
  float masked_score = -65504.0f;
  const float* q = nullptr;  // (B, n, d) queries, internal order (backward: q_scale is 1)
  float q_scale = 1.0f;      // scores are q_scale * q.k
  // Forward: the scaled queries of every tile transposed, (B, tiles, d, Q0p), Q0p =
  // padded_tile(tile_queries), padding columns zero; and every tile's slot validity over all
  // levels in the same orientation as bits, (tiles, total_slots, Q0p / 16) words, bit q of a
  // slot's row = query q may use the slot (padding queries 0).
  const float* qt = nullptr;
  const uint16_t* tile_valid = nullptr;
  // forward outputs
  float* y = nullptr;         // (B, n, d)
  float* row_max = nullptr;   // (B, n)
  float* row_norm = nullptr;  // (B, n)
  // backward inputs / outputs
  const float* grad_y = nullptr;  // (B, n, d)
  // (B, n) gradient of the log-normaliser lse = row_max + log(row_norm), or null (zero).
  const float* grad_lse = nullptr;
  float* grad_q = nullptr;        // (B, n, d), written
  int64_t total_slots() const {
    int64_t s = 0;
    for (int l = 0; l < num_levels; ++l) s += level[l].slots;
    return s;
  }
};

// Depthwise ("groupedconv") downsampling of x (B, n, d) with blocks of bt tokens:
// out[b, j, s, g] = bias[s, g] + sum_t w[t, s, g] * x[b, j*bt + t, g], out (B, n/bt, p, d),
// w (bt, p, d), bias (p, d).
struct Downsample {
  int64_t B = 0, n = 0, d = 0, bt = 0, p = 0;
  const float* x = nullptr;
  const float* w = nullptr;
  const float* bias = nullptr;
  float* out = nullptr;
  // backward
  const float* grad_out = nullptr;  // (B, n/bt, p, d)
  float* grad_x = nullptr;          // (B, n, d), written
  float* grad_w = nullptr;          // (bt, p, d), written
};

// Function table of one instruction-set build.
struct Ops {
  const char* name;
  // Blocks [begin, end) of the flattened (B x n/bt) range.
  void (*downsample_forward)(const Downsample& ds, int64_t begin, int64_t end);
  void (*downsample_grad_x)(const Downsample& ds, int64_t begin, int64_t end);
  // Positions t in [begin, end) of grad_w (sums over every batch row and block).
  void (*downsample_grad_w)(const Downsample& ds, int64_t begin, int64_t end);
  // Forward for tiles [tile_begin, tile_end) of the flattened (B x n/tile_queries) range.
  void (*forward)(const Problem& p, int64_t tile_begin, int64_t tile_end);
  // Backward for batch rows [b_begin, b_end) (each b owns its gradient tables: no races).
  void (*backward)(const Problem& p, int64_t b_begin, int64_t b_end);
};

// The best build this CPU supports; FMALENS_KERNEL=generic|avx2|avx512 forces one.
const Ops& best_ops();
const Ops* ops_by_name(const char* name);  // nullptr when unknown or unsupported here
// Tests and benchmarks: use `ops` from now on (nullptr: back to the best build).
void force_ops(const Ops* ops);

namespace avx512 { extern const Ops ops; }
namespace avx2 { extern const Ops ops; }
namespace generic { extern const Ops ops; }

}  // namespace fmalens::kernel
