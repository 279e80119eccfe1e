// Torch-free views of a Snapshot: exact attention rows, the implied FMA matrix, level masses.
#include "fmalens/snapshot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fmalens/layout.h"

namespace fmalens {
namespace {

void check_rows(const Snapshot& s, int layer, int head, int64_t r0, int64_t r1) {
  if (layer < 0 || layer >= static_cast<int>(s.layers.size())) throw Error("layer " + std::to_string(layer) + " out of range");
  if (head < 0 || head >= s.config.n_head) throw Error("head " + std::to_string(head) + " out of range");
  if (r0 < 0 || r1 > s.tokens || r0 > r1) throw Error("rows out of range");
}

bool is_causal(const Snapshot& s) { return s.config.causal(); }

}  // namespace

int64_t Snapshot::token_of_byte(int64_t byte) const {
  if (byte < 0 || byte >= static_cast<int64_t>(text.size())) return -1;
  if (token_spans.empty()) return byte < tokens ? byte : -1;
  const auto it = std::upper_bound(token_spans.begin(), token_spans.end(), byte,
                                   [](int64_t b, const std::pair<int64_t, int64_t>& span) { return b < span.first; });
  if (it == token_spans.begin()) return -1;
  const auto token = static_cast<int64_t>(it - token_spans.begin()) - 1;
  return byte < token_spans[static_cast<size_t>(token)].second ? token : -1;
}

std::pair<int64_t, int64_t> Snapshot::bytes_of_token(int64_t token) const {
  if (token_spans.empty()) return token >= 0 && token < static_cast<int64_t>(text.size()) ? std::make_pair(token, token + 1) : std::make_pair<int64_t, int64_t>(0, 0);
  if (token < 0 || token >= static_cast<int64_t>(token_spans.size())) return {0, 0};
  return token_spans[static_cast<size_t>(token)];
}

std::string Snapshot::token_text(int64_t token) const {
  const auto [begin, end] = bytes_of_token(token);
  return text.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
}

std::string Snapshot::vocabulary_entry(int64_t id) const {
  if (tokenizer) return tokenizer->decode(id);
  return id >= 0 && id < 256 ? std::string(1, static_cast<char>(id)) : std::string();
}

Array exact_attention_rows(const Snapshot& s, int layer, int head, int64_t r0, int64_t r1) {
  check_rows(s, layer, head, r0, r1);
  const Array& q = s.layers[static_cast<size_t>(layer)].q;
  const Array& k = s.layers[static_cast<size_t>(layer)].k;
  const int64_t n = s.tokens, d = q.dim(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const bool causal = is_causal(s);
  Array out;
  out.shape = {r1 - r0, n};
  out.data.assign(static_cast<size_t>((r1 - r0) * n), 0.0f);
  std::vector<double> row(static_cast<size_t>(n));
  for (int64_t i = r0; i < r1; ++i) {
    const float* qi = &q.data[static_cast<size_t>((head * q.dim(1) + i) * d)];
    const int64_t last = causal ? i + 1 : n;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < last; ++t) {
      const float* kt = &k.data[static_cast<size_t>((head * k.dim(1) + t) * d)];
      double dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(qi[j]) * kt[j];
      row[static_cast<size_t>(t)] = dot * scale;
      mx = std::max(mx, row[static_cast<size_t>(t)]);
    }
    double z = 0;
    for (int64_t t = 0; t < last; ++t) z += (row[static_cast<size_t>(t)] = std::exp(row[static_cast<size_t>(t)] - mx));
    for (int64_t t = 0; t < last; ++t)
      out.data[static_cast<size_t>((i - r0) * n + t)] = static_cast<float>(row[static_cast<size_t>(t)] / z);
  }
  return out;
}

Array implied_attention_rows(const Snapshot& s, int layer, int head, int64_t r0, int64_t r1) {
  check_rows(s, layer, head, r0, r1);
  const auto& bands = s.layers[static_cast<size_t>(layer)].bands;
  if (bands.empty())
    throw Error(std::string("this model has ") + attention_kind_name(s.config.attention_kind) + " attention: there are no FMA levels to show");
  const Layout layout(s.attention);
  const int64_t n = s.tokens;
  Array out;
  out.shape = {r1 - r0, n};
  out.data.assign(static_cast<size_t>((r1 - r0) * n), 0.0f);
  for (int64_t i = r0; i < r1; ++i)
    for (int64_t t = 0; t < n; ++t) {
      int64_t slot = 0;
      const int l = layout.locate(i, t, &slot);
      if (l < 0) continue;
      const Array& band = bands[static_cast<size_t>(l)];
      const LevelGeometry& g = layout.level(l);
      double v = 0;
      if (l == 0) {
        v = band.at(head, i, slot);
      } else {
        for (int64_t s2 = 0; s2 < g.summaries; ++s2) v += band.at(head, i, slot + s2);
        v /= static_cast<double>(g.block_tokens);
      }
      out.data[static_cast<size_t>((i - r0) * n + t)] = static_cast<float>(v);
    }
  return out;
}

std::vector<double> level_mass(const Snapshot& s, int layer, int head, int64_t i) {
  check_rows(s, layer, head, i, i + 1);
  const auto& bands = s.layers[static_cast<size_t>(layer)].bands;
  const Layout layout(s.attention);
  std::vector<double> mass(bands.size(), 0.0);
  for (size_t l = 0; l < bands.size(); ++l)
    for (int64_t k = 0; k < layout.level(static_cast<int>(l)).slots; ++k) {
      const SlotRef r = layout.slot(static_cast<int>(l), i, k);
      if (r.valid && !r.phantom) mass[l] += bands[l].at(head, i, k);
    }
  return mass;
}

}  // namespace fmalens
