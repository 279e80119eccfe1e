// What one run of a model captured, as plain arrays: everything a viewer or an exporter needs,
// O(n log n) in size. No torch, no GL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fmalens/config.h"
#include "fmalens/tokenizer.h"

namespace fmalens {

// A dense float32 array, row-major.
struct Array {
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t dim(size_t i) const { return i < shape.size() ? shape[i] : 0; }
  bool empty() const { return data.empty(); }
  // Element at a multi-index (row-major), no bounds checks beyond debug asserts.
  float at(int64_t i0) const { return data[static_cast<size_t>(i0)]; }
  float at(int64_t i0, int64_t i1) const { return data[static_cast<size_t>(i0 * shape[1] + i1)]; }
  float at(int64_t i0, int64_t i1, int64_t i2) const {
    return data[static_cast<size_t>((i0 * shape[1] + i1) * shape[2] + i2)];
  }
};

// One layer's attention, per head.
struct LayerSnapshot {
  // Per level l (0 = fine): [heads, n, slots_l], the coefficients C_l after the joint softmax
  // (alpha_l included, so a row's entries over all levels sum to 1 - its phantom mass).
  // Slot meaning: Layout::slot(l, i, k). Empty for dense models.
  std::vector<Array> bands;
  Array row_max;   // [heads, n] the joint max M_i
  Array row_norm;  // [heads, n] the normaliser Z_i
  Array q, k;      // [heads, n, d] queries and keys (unscaled), for the exact-attention view
};

// The learned downsampling of one coarse level: p basis functions per channel over the
// tokens of a block (2D: row-major within the cell); keys and values.
struct LevelWeights {
  Array keys;    // [p, d, block_tokens]
  Array values;  // [p, d, block_tokens]
};

struct Snapshot {
  ModelConfig config;
  AttentionConfig attention;  // as run: n is the length actually computed (causal: padded)
  int64_t tokens = 0;         // tokens of input (text bytes or patches); rows beyond are padding
  // Text input: the bytes that were run, and where they start in the user's text (a window
  // when the text is longer than the context); `dropped` bytes were left out.
  std::string text;
  int64_t text_offset = 0;
  int64_t dropped = 0;
  // Masked LMs: 1 for each byte of `text` the model saw as a mask token, and `text` with every
  // masked byte replaced by the model's most likely byte (empty when nothing was masked).
  std::vector<uint8_t> masked;
  std::string filled;
  // Text run through a tokenizer other than bytes (a char map, a BPE): each token's id and
  // the bytes [begin, end) of `text` it stands for. Empty for byte models, whose token t is
  // byte t of `text`.
  std::vector<int64_t> token_ids;
  std::vector<std::pair<int64_t, int64_t>> token_spans;
  std::shared_ptr<const Tokenizer> tokenizer;  // null: bytes
  // Token <-> bytes, whichever the tokenizer: the token holding byte `byte` of `text` (-1
  // outside), the bytes of token `token`, and its text ("" outside).
  int64_t token_of_byte(int64_t byte) const;
  std::pair<int64_t, int64_t> bytes_of_token(int64_t token) const;
  std::string token_text(int64_t token) const;
  // The vocabulary entry of id `id` (a prediction): its bytes.
  std::string vocabulary_entry(int64_t id) const;
  // Image input as fed to the model: [S, S, channels] in [0, 1].
  Array image;
  std::vector<LayerSnapshot> layers;
  std::vector<std::vector<LevelWeights>> downsampling;  // [layer][coarse level - 1]
  Array logits;                                         // text: [tokens, vocab]; image: [classes]
  double run_ms = 0;
  std::string device;
};

// Dense softmax attention of rows [row_begin, row_end) of one head, from the captured q and k
// (causal models mask the future): [rows, n]. For the "compare with exact attention" view.
Array exact_attention_rows(const Snapshot& snapshot, int layer, int head, int64_t row_begin, int64_t row_end);

// The implied token-level FMA matrix for the same rows: cell (i, t) is the weight of the slot
// serving t (fine), or the block's mass divided by its tokens (coarse): [rows, n].
Array implied_attention_rows(const Snapshot& snapshot, int layer, int head, int64_t row_begin, int64_t row_end);

// Attention mass each level carries for query i: [levels] (phantoms not included).
std::vector<double> level_mass(const Snapshot& snapshot, int layer, int head, int64_t query);

}  // namespace fmalens
