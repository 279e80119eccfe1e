#include "render/band_data.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fmalens/config.h"

namespace fmalens::render {

float BandData::max_value() const {
  float m = 0;
  for (const auto& l : levels) m = std::max(m, l.max_value);
  return m;
}

float BandData::min_positive() const {
  float m = 0;
  for (const auto& l : levels)
    if (l.min_positive > 0 && (m == 0 || l.min_positive < m)) m = l.min_positive;
  return m;
}

BandData make_band_data(const Snapshot& s, int layer, int head) {
  if (layer < 0 || layer >= static_cast<int>(s.layers.size()))
    throw Error("layer " + std::to_string(layer) + " out of range (the model has " + std::to_string(s.layers.size()) + ")");
  const auto& bands = s.layers[static_cast<size_t>(layer)].bands;
  if (bands.empty())
    throw Error(std::string("this model has ") + attention_kind_name(s.config.attention_kind) + " attention: there are no FMA levels to show");
  const int64_t heads = bands[0].dim(0);
  if (head < -1 || head >= heads) throw Error("head " + std::to_string(head) + " out of range (the model has " + std::to_string(heads) + ")");
  const Layout layout(s.attention);
  if (static_cast<int>(bands.size()) != layout.num_levels())
    throw Error("snapshot has " + std::to_string(bands.size()) + " bands for a layout of " + std::to_string(layout.num_levels()) + " levels");
  BandData out;
  out.attention = s.attention;
  out.tokens = s.tokens;
  // The model captures rows for the input's tokens only (causal input is padded to the
  // layout's n); synthetic snapshots may carry the padding rows too.
  out.rows = bands[0].dim(1);
  if (out.rows < s.tokens || out.rows > layout.tokens())
    throw Error("bands have " + std::to_string(out.rows) + " rows for " + std::to_string(s.tokens) + " tokens");
  out.layer = layer;
  out.head = head;
  const int64_t h0 = head < 0 ? 0 : head, h1 = head < 0 ? heads : head + 1;
  const float inv_heads = 1.0f / static_cast<float>(h1 - h0);
  for (int l = 0; l < layout.num_levels(); ++l) {
    const Array& band = bands[static_cast<size_t>(l)];
    const LevelGeometry& g = layout.level(l);
    if (band.dim(1) != out.rows || band.dim(2) != g.slots)
      throw Error("band of level " + std::to_string(l) + " has the wrong shape for the layout");
    BandLevel level;
    const int64_t group = l == 0 ? 1 : g.summaries;  // slots summed into one column
    level.columns = g.slots / group;
    level.values.assign(static_cast<size_t>(out.rows * level.columns), 0.0f);
    const float per_token = l == 0 ? 1.0f : 1.0f / static_cast<float>(g.block_tokens);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t i = 0; i < out.rows; ++i) {
        const float* src = &band.data[static_cast<size_t>((h * out.rows + i) * g.slots)];
        float* dst = &level.values[static_cast<size_t>(i * level.columns)];
        for (int64_t c = 0; c < level.columns; ++c) {
          float mass = 0;
          for (int64_t k = 0; k < group; ++k) mass += src[c * group + k];
          dst[c] += mass * per_token * inv_heads;
        }
      }
    for (float v : level.values) {
      level.max_value = std::max(level.max_value, v);
      if (v > 0 && (level.min_positive == 0 || v < level.min_positive)) level.min_positive = v;
    }
    out.levels.push_back(std::move(level));
  }
  return out;
}

float implied_value(const BandData& b, const Layout& layout, int64_t i, int64_t t, int* level) {
  int64_t slot = 0;
  const int l = layout.locate(i, t, &slot);
  if (level) *level = l;
  if (l < 0) return 0.0f;
  const int64_t column = l == 0 ? slot : slot / layout.level(l).summaries;
  return b.value(l, i, column);
}

void implied_row(const BandData& b, const Layout& layout, int64_t i, std::vector<float>* values, std::vector<int>* levels) {
  values->assign(static_cast<size_t>(b.tokens), 0.0f);
  if (levels) levels->assign(static_cast<size_t>(b.tokens), -1);
  for (int64_t t = 0; t < b.tokens; ++t) {
    int l = -1;
    (*values)[static_cast<size_t>(t)] = implied_value(b, layout, i, t, &l);
    if (levels) (*levels)[static_cast<size_t>(t)] = l;
  }
}

std::vector<double> row_level_mass(const Snapshot& s, int layer, int head, int64_t query) {
  if (head >= 0) return level_mass(s, layer, head, query);
  std::vector<double> sum;
  for (int h = 0; h < s.config.n_head; ++h) {
    auto m = level_mass(s, layer, h, query);
    if (sum.empty()) sum.assign(m.size(), 0.0);
    for (size_t l = 0; l < m.size(); ++l) sum[l] += m[l] / static_cast<double>(s.config.n_head);
  }
  return sum;
}

bool has_qk_rows(const Snapshot& s) {
  const AttentionKind k = s.config.attention_kind;
  return (k == AttentionKind::dense || k == AttentionKind::elu_linear) && !s.layers.empty() && !s.layers[0].q.empty() &&
         s.layers[0].k.shape == s.layers[0].q.shape;
}

void qk_attention_row(const Snapshot& s, int layer, int head, int64_t i, std::vector<float>* values, std::vector<int>* levels) {
  if (!has_qk_rows(s)) throw Error("this model's run has no queries and keys to compute rows from");
  if (layer < 0 || layer >= static_cast<int>(s.layers.size())) throw Error("layer " + std::to_string(layer) + " is out of range");
  const Array &q = s.layers[static_cast<size_t>(layer)].q, &k = s.layers[static_cast<size_t>(layer)].k;  // [heads, n, d]
  const int64_t heads = q.dim(0), n = q.dim(1), d = q.dim(2);
  if (head < -1 || head >= heads) throw Error("head " + std::to_string(head) + " is out of range");
  if (i < 0 || i >= n) throw Error("query " + std::to_string(i) + " is out of range");
  const bool causal = s.config.causal(), linear = s.config.attention_kind == AttentionKind::elu_linear;
  const int64_t seen = causal ? i + 1 : n;
  values->assign(static_cast<size_t>(n), 0.0f);
  levels->assign(static_cast<size_t>(n), -1);
  for (int64_t j = 0; j < seen; ++j) (*levels)[static_cast<size_t>(j)] = 0;
  auto phi = [](double x) { return x > 0 ? x + 1 : std::exp(x); };  // elu(x) + 1
  std::vector<double> row(static_cast<size_t>(seen));
  const int64_t h0 = head < 0 ? 0 : head, h1 = head < 0 ? heads : head + 1;
  for (int64_t h = h0; h < h1; ++h) {
    double top = -std::numeric_limits<double>::infinity(), total = 0;
    for (int64_t j = 0; j < seen; ++j) {
      double dot = 0;
      for (int64_t c = 0; c < d; ++c)
        dot += linear ? phi(q.at(h, i, c)) * phi(k.at(h, j, c)) : static_cast<double>(q.at(h, i, c)) * k.at(h, j, c);
      row[static_cast<size_t>(j)] = linear ? dot : dot / std::sqrt(static_cast<double>(d));
      top = std::max(top, row[static_cast<size_t>(j)]);
    }
    for (double& r : row) total += (r = linear ? r : std::exp(r - top));
    for (int64_t j = 0; j < seen; ++j)
      (*values)[static_cast<size_t>(j)] += static_cast<float>(row[static_cast<size_t>(j)] / total / static_cast<double>(h1 - h0));
  }
}

}  // namespace fmalens::render
