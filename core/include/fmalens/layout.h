// The band layout of FMA: which keys or summaries each slot of each level stands for.
// Plain index arithmetic (no torch), shared by the attention kernels, the dense reference,
// the viewer's shaders and the exporters, so that every consumer reads the bands the same way.
#pragma once

#include <cstdint>
#include <vector>

#include "fmalens/config.h"

namespace fmalens {

// One level of the hierarchy. Level 0 is the fine band; levels 1..L are coarse.
struct LevelGeometry {
  int level = 0;
  int64_t width = 0;            // 1D: block width w_l (fine: m); 2D: cell side s_l (fine: r)
  int64_t block_tokens = 0;     // tokens in one block or cell: w (1D) or s^2 (2D)
  int64_t summaries = 0;        // p at coarse levels, 0 at the fine level
  double alpha = 1.0;           // weight of one slot: 1 (fine), floor(tokens / p) (coarse)
  int64_t slots = 0;            // band width K_l: slots per query
  int64_t group_queries = 0;    // queries that share one key list (internal order)
  int64_t groups = 0;           // number of such groups: group_queries * groups == tokens
  int64_t blocks = 0;           // blocks (cells) at this level's width over the whole input
};

// What slot `k` of query `i` at level `l` stands for.
struct SlotRef {
  bool valid = false;    // false: masked (its weight is exactly 0)
  bool phantom = false;  // zero_pad boundary: a zero key before the sequence (valid, value 0)
  int64_t block = -1;    // fine: the key token (token order); coarse: block (cell) index at
                         // this level, 1D left to right, 2D row-major over the level's cells
  int summary = -1;      // coarse: which of the p summaries; fine: -1
};

class Layout {
 public:
  explicit Layout(const AttentionConfig& config);  // validates

  const AttentionConfig& config() const { return config_; }
  int64_t tokens() const { return tokens_; }
  int num_levels() const { return static_cast<int>(levels_.size()); }  // 1 + L
  const LevelGeometry& level(int l) const { return levels_.at(static_cast<size_t>(l)); }
  const std::vector<LevelGeometry>& levels() const { return levels_; }

  // Slot `k` (0 <= k < level(l).slots) of query `i` (token order).
  SlotRef slot(int l, int64_t i, int64_t k) const;

  // The level that serves key token `t` for query `i`, and the first slot of it (a coarse
  // block spans `summaries` consecutive slots). Returns -1 when the pair is not attended
  // (causal future, or a token outside every list: impossible when the layout tiles).
  int locate(int64_t i, int64_t t, int64_t* first_slot) const;

  // The phantom weight of query i: sum over its phantom slots of alpha (zero_pad only).
  double phantom_count(int64_t i) const;

  // Rows of attention weights level `l` has: one per query, or, with query downsampling (the
  // linear variant), one per block of queries at a coarse level. And the weights of one head over
  // all levels, sum of rows x slots: what a capture stores, what the kernels compute.
  int64_t weight_rows(int l) const;
  int64_t stored_weights() const;

  // Tokens of block `block` at level `l` (fine: the single token), token order.
  std::vector<int64_t> block_tokens(int l, int64_t block) const;

  // --- 2D helpers (grid2d only). Internal order is Morton (Z) order, in which every aligned
  // cell of side 2^k is a contiguous range of tokens.
  static int64_t morton(int64_t y, int64_t x);
  static void unmorton(int64_t z, int64_t* y, int64_t* x);
  // internal (Z-order) index of token t (row-major), and back; identity in 1D.
  int64_t to_internal(int64_t t) const;
  int64_t to_token(int64_t z) const;

  // --- Internal-order band plan, used by the kernels only (through LayoutBandPlan in the
  // core's private base/fma/band_plan.h). For level l, group g (queries g*Q .. g*Q+Q-1 in
  // internal order) and slot k: the key row in the level's key table (fine: internal token
  // index; coarse: block_internal * p + summary), or -1 for a zero key; and whether query q
  // (0..Q-1 within group g) may use slot k.
 private:
  friend struct LayoutBandPlan;
  int64_t key_row(int l, int64_t g, int64_t k) const;
  bool slot_valid(int l, int64_t g, int64_t q, int64_t k) const;

  // 1D pieces
  SlotRef slot_1d(int l, int64_t i, int64_t k) const;
  // 2D pieces
  SlotRef slot_2d(int l, int64_t i, int64_t k) const;
  int64_t key_row_2d(int l, int64_t g, int64_t k) const;
  bool slot_valid_2d(int l, int64_t g, int64_t q, int64_t k) const;

  AttentionConfig config_;
  int64_t tokens_ = 0;
  int64_t side_ = 0;  // 2D grid side G
  std::vector<LevelGeometry> levels_;
};

// Definition-level predicate, written from FMA.md independently of the slot enumeration:
// does query i use key token t at the fine level (l = 0), or block b at coarse level l?
// Used by the dense reference and by the tiling tests. `phantom` blocks (b < 0, zero_pad)
// are not covered here; see Layout::phantom_count.
bool serves(const AttentionConfig& config, int l, int64_t i, int64_t key_or_block);

}  // namespace fmalens
