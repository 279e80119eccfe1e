#include "fmalens/head_metrics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "fmalens/layout.h"

namespace fmalens {

int distance_bin(int64_t d) {
  int b = 0;
  while (d > 0) {
    d >>= 1;
    ++b;
  }
  return b;  // 0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3, ...
}

int64_t distance_bin_start(int bin) { return bin <= 0 ? 0 : int64_t{1} << (bin - 1); }

int distance_bins(int64_t tokens) { return distance_bin(std::max<int64_t>(tokens - 1, 0)) + 1; }

namespace {

// Adds `value` for each integer distance in [d0, d1] to the bins of `hist`.
void add_distance_range(std::vector<double>& hist, int64_t d0, int64_t d1, double value) {
  while (d0 <= d1) {
    const int b = distance_bin(d0);
    const int64_t bin_end = b == 0 ? 0 : 2 * distance_bin_start(b) - 1;
    const int64_t last = std::min(d1, bin_end);
    hist[static_cast<size_t>(b)] += value * static_cast<double>(last - d0 + 1);
    d0 = last + 1;
  }
}

// The statistics of one head of one layer.
HeadStats one_head(const Snapshot& s, const Layout& layout, int layer, int head) {
  const auto& bands = s.layers[static_cast<size_t>(layer)].bands;
  const int levels = layout.num_levels();
  const int64_t n = s.tokens;
  const bool two_d = layout.config().variant == Variant::grid2d;
  const int64_t side = two_d ? layout.config().grid_side : 0;
  const int bins = distance_bins(n);
  HeadStats h;
  h.layer = layer;
  h.head = head;
  h.level_mass.assign(static_cast<size_t>(levels), 0.0);
  h.distance_mass.assign(static_cast<size_t>(levels), std::vector<double>(static_cast<size_t>(bins), 0.0));
  auto distance = [&](int64_t i, int64_t t) {
    if (!two_d) return std::abs(i - t);
    return std::max(std::abs(i / side - t / side), std::abs(i % side - t % side));
  };
  double weighted_distance = 0, total = 0, entropy = 0, sink = 0, phantom = 0;
  int64_t sink_rows = 0;
  for (int64_t i = 0; i < n; ++i) {
    double row_total = 0, row_entropy = 0;
    for (int l = 0; l < levels; ++l) {
      const Array& band = bands[static_cast<size_t>(l)];
      const int64_t slots = band.dim(2);
      const float* w = &band.data[static_cast<size_t>((head * band.dim(1) + i) * slots)];
      auto& hist = h.distance_mass[static_cast<size_t>(l)];
      const int64_t block_tokens = layout.level(l).block_tokens;
      // Coarse blocks: the p summaries of one block are consecutive slots; their mass is the
      // block's, spread over its tokens.
      int64_t k = 0;
      while (k < slots) {
        const SlotRef r = layout.slot(l, i, k);
        if (!r.valid || r.phantom) {
          if (r.valid) phantom += w[k];  // the reference's zero keys before the sequence
          ++k;
          continue;
        }
        double mass = w[k];
        int64_t next = k + 1;
        if (l > 0)
          while (next < slots) {
            const SlotRef q = layout.slot(l, i, next);
            if (!q.valid || q.phantom || q.block != r.block) break;
            mass += w[next++];
          }
        k = next;
        if (mass <= 0) continue;
        h.level_mass[static_cast<size_t>(l)] += mass;
        row_total += mass;
        if (l == 0) {
          const int64_t d = distance(i, r.block);
          hist[static_cast<size_t>(distance_bin(d))] += mass;
          weighted_distance += mass * static_cast<double>(d);
          row_entropy -= mass * std::log2(mass);
          if (r.block == 0 && i > 0) sink += mass;  // row 0's weight on itself is no sink
          continue;
        }
        const double per_token = mass / static_cast<double>(block_tokens);
        row_entropy -= mass * std::log2(per_token);
        if (!two_d) {  // contiguous tokens [b*w, (b+1)*w): contiguous distances
          const int64_t t0 = r.block * block_tokens, t1 = t0 + block_tokens - 1;
          const int64_t d0 = t1 < i ? i - t1 : t0 > i ? t0 - i : 0, d1 = std::max(std::abs(i - t0), std::abs(i - t1));
          if (t1 < i || t0 > i) add_distance_range(hist, d0, d1, per_token);
          else for (int64_t t = t0; t <= t1; ++t) hist[static_cast<size_t>(distance_bin(std::abs(i - t)))] += per_token;
          // mean of |i - t| over the block, for a block on one side of the query
          const double mean_d = t1 < i ? static_cast<double>(i) - 0.5 * static_cast<double>(t0 + t1)
                                : t0 > i ? 0.5 * static_cast<double>(t0 + t1) - static_cast<double>(i)
                                         : 0.0;
          weighted_distance += mass * mean_d;
          if (t0 == 0 && i > 0) sink += per_token;
        } else {
          for (int64_t t : layout.block_tokens(l, r.block)) {
            const int64_t d = distance(i, t);
            hist[static_cast<size_t>(distance_bin(d))] += per_token;
            weighted_distance += per_token * static_cast<double>(d);
            if (t == 0 && i > 0) sink += per_token;
          }
        }
      }
    }
    total += row_total;
    entropy += row_entropy;
    if (i > 0) ++sink_rows;
  }
  const double rows = static_cast<double>(std::max<int64_t>(n, 1));
  for (double& m : h.level_mass) m /= rows;
  for (auto& hist : h.distance_mass)
    for (double& m : hist) m /= rows;
  h.sink_mass = sink_rows > 0 ? sink / static_cast<double>(sink_rows) : 0.0;
  h.phantom_mass = phantom / rows;
  h.entropy_bits = entropy / rows;
  h.mean_distance = total > 0 ? weighted_distance / total : 0.0;
  // Median of the pooled distribution, linear within its bin.
  std::vector<double> pooled(static_cast<size_t>(bins), 0.0);
  double pooled_total = 0;
  for (const auto& hist : h.distance_mass)
    for (int b = 0; b < bins; ++b) pooled[static_cast<size_t>(b)] += hist[static_cast<size_t>(b)];
  for (double m : pooled) pooled_total += m;
  double below = 0;
  for (int b = 0; b < bins && pooled_total > 0; ++b) {
    const double m = pooled[static_cast<size_t>(b)];
    if (below + m >= 0.5 * pooled_total && m > 0) {
      const double lo = static_cast<double>(distance_bin_start(b)), hi = b == 0 ? 0.0 : 2.0 * lo - 1.0;
      h.median_distance = lo + (hi - lo) * (0.5 * pooled_total - below) / m;
      break;
    }
    below += m;
  }
  return h;
}

}  // namespace

std::vector<HeadStats> head_stats(const Snapshot& s) {
  if (s.layers.empty() || s.layers[0].bands.empty()) throw Error("head metrics need an FMA run (this model's run has no bands)");
  const Layout layout(s.attention);
  std::vector<HeadStats> out;
  for (int layer = 0; layer < static_cast<int>(s.layers.size()); ++layer) {
    const auto& bands = s.layers[static_cast<size_t>(layer)].bands;
    if (static_cast<int>(bands.size()) != layout.num_levels()) throw Error("layer " + std::to_string(layer) + ": bands do not match the layout");
    for (int head = 0; head < static_cast<int>(bands[0].dim(0)); ++head) out.push_back(one_head(s, layout, layer, head));
  }
  return out;
}

HeadStats mean_of_heads(const std::vector<HeadStats>& stats, int layer) {
  HeadStats m;
  m.layer = layer;
  m.head = -1;
  int count = 0;
  for (const HeadStats& h : stats) {
    if (h.layer != layer) continue;
    if (count++ == 0) {
      m.level_mass.assign(h.level_mass.size(), 0.0);
      m.distance_mass.assign(h.distance_mass.size(), std::vector<double>(h.distance_mass.empty() ? 0 : h.distance_mass[0].size(), 0.0));
    }
    for (size_t l = 0; l < h.level_mass.size(); ++l) m.level_mass[l] += h.level_mass[l];
    for (size_t l = 0; l < h.distance_mass.size(); ++l)
      for (size_t b = 0; b < h.distance_mass[l].size(); ++b) m.distance_mass[l][b] += h.distance_mass[l][b];
    m.sink_mass += h.sink_mass;
    m.phantom_mass += h.phantom_mass;
    m.mean_distance += h.mean_distance;
    m.median_distance += h.median_distance;
    m.entropy_bits += h.entropy_bits;
  }
  if (count == 0) return m;
  const double c = count;
  for (double& v : m.level_mass) v /= c;
  for (auto& hist : m.distance_mass)
    for (double& v : hist) v /= c;
  m.sink_mass /= c;
  m.phantom_mass /= c;
  m.mean_distance /= c;
  m.median_distance /= c;
  m.entropy_bits /= c;
  return m;
}

std::vector<std::string> head_metric_names(int levels) {
  std::vector<std::string> names{"fine mass"};
  for (int l = 1; l < levels; ++l) names.push_back("L" + std::to_string(l) + " mass");
  for (const char* n : {"mean distance", "median distance", "entropy (bits)", "sink mass", "phantom mass"}) names.push_back(n);
  return names;
}

double head_metric(const HeadStats& h, int metric) {
  const int levels = static_cast<int>(h.level_mass.size());
  if (metric >= 0 && metric < levels) return h.level_mass[static_cast<size_t>(metric)];
  switch (metric - levels) {
    case 0: return h.mean_distance;
    case 1: return h.median_distance;
    case 2: return h.entropy_bits;
    case 3: return h.sink_mass;
    case 4: return h.phantom_mass;
    default: return 0.0;
  }
}

std::string head_stats_json(const std::vector<HeadStats>& stats, int levels, int64_t tokens) {
  nlohmann::json j;
  j["metrics"] = head_metric_names(levels);
  std::vector<int64_t> starts;
  for (int b = 0; b < distance_bins(tokens); ++b) starts.push_back(distance_bin_start(b));
  j["distance_bin_starts"] = starts;
  j["heads"] = nlohmann::json::array();
  for (const HeadStats& h : stats) {
    std::vector<double> values;
    for (int m = 0; m < static_cast<int>(head_metric_names(levels).size()); ++m) values.push_back(head_metric(h, m));
    j["heads"].push_back({{"layer", h.layer}, {"head", h.head}, {"values", values}, {"distance_mass_by_level", h.distance_mass}});
  }
  return j.dump(1) + "\n";
}

FmaErrorProfile fma_error_profile(const Snapshot& s, int layer, int head, const std::function<bool(double)>& keep_going) {
  if (s.layers.empty() || s.layers[0].bands.empty()) throw Error("the error map needs an FMA run (this model's run has no bands)");
  if (layer < 0 || layer >= static_cast<int>(s.layers.size())) throw Error("layer " + std::to_string(layer) + " out of range");
  if (s.layers[static_cast<size_t>(layer)].q.empty()) throw Error("the error map needs the run's queries and keys");
  const int heads = static_cast<int>(s.config.n_head);
  if (head < -1 || head >= heads) throw Error("head " + std::to_string(head) + " out of range");
  const Layout layout(s.attention);
  const int64_t n = s.tokens;
  const bool two_d = layout.config().variant == Variant::grid2d;
  const int64_t side = two_d ? layout.config().grid_side : 0;
  FmaErrorProfile out;
  out.layer = layer;
  out.head = head;
  out.tv.assign(static_cast<size_t>(n), 0.0f);
  out.kl.assign(static_cast<size_t>(n), 0.0f);
  out.tv_by_bin.assign(static_cast<size_t>(distance_bins(n)), 0.0);
  out.tv_by_level.assign(static_cast<size_t>(layout.num_levels()), 0.0);
  const int h0 = head < 0 ? 0 : head, h1 = head < 0 ? heads : head + 1;
  std::vector<double> fma(static_cast<size_t>(n)), exact(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (keep_going && (i & 63) == 0 && !keep_going(static_cast<double>(i) / static_cast<double>(n))) throw Cancelled();
    std::fill(fma.begin(), fma.end(), 0.0);
    std::fill(exact.begin(), exact.end(), 0.0);
    for (int h = h0; h < h1; ++h) {
      const Array f = implied_attention_rows(s, layer, h, i, i + 1), e = exact_attention_rows(s, layer, h, i, i + 1);
      for (int64_t t = 0; t < n; ++t) {
        fma[static_cast<size_t>(t)] += f.data[static_cast<size_t>(t)] / static_cast<double>(h1 - h0);
        exact[static_cast<size_t>(t)] += e.data[static_cast<size_t>(t)] / static_cast<double>(h1 - h0);
      }
    }
    double diff = 0, kl = 0, fma_total = 0;
    for (int64_t t = 0; t < n; ++t) {
      const double f = fma[static_cast<size_t>(t)], e = exact[static_cast<size_t>(t)], d = std::fabs(f - e);
      fma_total += f;
      diff += d;
      if (e > 0) kl += e * std::log2(e / std::max(f, 1e-30));
      if (d == 0) continue;
      const int64_t dist = two_d ? std::max(std::abs(i / side - t / side), std::abs(i % side - t % side)) : std::abs(i - t);
      out.tv_by_bin[static_cast<size_t>(distance_bin(dist))] += 0.5 * d;
      int64_t first = 0;
      const int level = layout.locate(i, t, &first);
      if (level >= 0) out.tv_by_level[static_cast<size_t>(level)] += 0.5 * d;
    }
    const double tv = 0.5 * (diff + std::max(0.0, 1.0 - fma_total));  // mass FMA put on phantoms is off too
    out.tv[static_cast<size_t>(i)] = static_cast<float>(tv);
    out.kl[static_cast<size_t>(i)] = static_cast<float>(std::max(0.0, kl));
    out.mean_tv += tv;
    out.mean_kl += kl;
    out.max_tv = std::max(out.max_tv, tv);
  }
  const double rows = static_cast<double>(std::max<int64_t>(n, 1));
  out.mean_tv /= rows;
  out.mean_kl /= rows;
  for (double& v : out.tv_by_bin) v /= rows;
  for (double& v : out.tv_by_level) v /= rows;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  const size_t keep = std::min<size_t>(20, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    [&](int64_t a, int64_t b) { return out.tv[static_cast<size_t>(a)] > out.tv[static_cast<size_t>(b)]; });
  out.worst.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep));
  return out;
}

}  // namespace fmalens
