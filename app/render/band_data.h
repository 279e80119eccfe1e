// The bands of one layer, for one head or the average over heads, in the form the shaders
// read. Per level a [rows, columns] float array:
//   fine level:   column k = slot k, the coefficient C_0 of that key;
//   coarse level: column j = the j-th block of the key list (slots j*p .. j*p+p-1), holding the
//                 block's mass (sum of its p coefficients) divided by its tokens: the value of
//                 every cell of that block in the implied matrix (FMA.md, "What a visualiser
//                 shows of it").
// O(n log n) floats, like the snapshot: never an n x n matrix. Plain C++ (no GL), so the
// tooltips, the text view and the tests read exactly what the GPU draws.
#pragma once

#include <cstdint>
#include <vector>

#include "fmalens/layout.h"
#include "fmalens/snapshot.h"

namespace fmalens::render {

struct BandLevel {
  int64_t columns = 0;
  std::vector<float> values;  // [rows, columns]
  float max_value = 0;        // largest value of the level (over all rows)
  float min_positive = 0;     // smallest value > 0 (0 when none)
};

struct BandData {
  AttentionConfig attention;  // as run (causal input is right-padded: rows >= tokens)
  int64_t tokens = 0;         // rows and columns of the matrix shown
  int64_t rows = 0;           // band rows: the tokens (the layout's n may be larger)
  int layer = 0, head = -1;   // head -1: average over heads
  std::vector<BandLevel> levels;

  bool empty() const { return levels.empty(); }
  float value(int level, int64_t row, int64_t column) const {
    const BandLevel& b = levels[static_cast<size_t>(level)];
    return b.values[static_cast<size_t>(row * b.columns + column)];
  }
  float max_value() const;
  float min_positive() const;
};

// Throws fmalens::Error when the layer or head is out of range or the model has no FMA bands.
BandData make_band_data(const Snapshot& snapshot, int layer, int head);

// One cell of the implied matrix: the weight of key token t for query i and the level that
// serves it (-1: not attended, e.g. the causal future). Token order (2D: row-major).
float implied_value(const BandData& bands, const Layout& layout, int64_t i, int64_t t, int* level);

// The implied row of query i over all tokens, and the level serving each token (-1: none).
void implied_row(const BandData& bands, const Layout& layout, int64_t i, std::vector<float>* values, std::vector<int>* levels);

// Models without bands (dense, elu_linear) whose run captured queries and keys: the weights of
// query row i computed from them on demand in O(n d): softmax(q_i . k_j / sqrt(d)) for dense,
// phi(q_i) . phi(k_j) normalised for elu_linear (phi = elu + 1), over the keys the row sees
// (j <= i when causal); the mean of the heads' rows for head -1. Levels: 0 where a key is
// seen, -1 past a causal query. Throws fmalens::Error for a layer or head out of range.
bool has_qk_rows(const Snapshot& snapshot);
void qk_attention_row(const Snapshot& snapshot, int layer, int head, int64_t i, std::vector<float>* values, std::vector<int>* levels);

// Attention mass per level for query i, phantoms left out (Snapshot's level_mass, averaged
// over heads for head -1): [levels].
std::vector<double> row_level_mass(const Snapshot& snapshot, int layer, int head, int64_t query);

}  // namespace fmalens::render
