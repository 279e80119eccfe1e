// Head metrics (fmalens/head_metrics.h) against the same numbers computed the slow way from the
// implied token-level matrix (implied_attention_rows, Layout::locate): level masses, the
// distance profile by level, mean distance, entropy, sink and phantom mass; causal with phantom
// keys, bidirectional, and 2D.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "fmalens/head_metrics.h"
#include "fmalens/layout.h"

namespace fmalens {
namespace {

// A run of one layer whose bands are random positive weights on every valid slot, each row
// normalised over all levels (phantoms included), as a joint softmax leaves them.
Snapshot random_run(const AttentionConfig& a, int heads, uint32_t seed) {
  Snapshot s;
  s.attention = a;
  s.config.kind = a.variant == Variant::grid2d ? ModelKind::image : ModelKind::text;
  s.config.attention = a;
  s.config.n_head = heads;
  const Layout layout(a);
  s.tokens = layout.tokens();
  std::mt19937 rng(seed);
  std::exponential_distribution<float> draw(1.0f);
  LayerSnapshot layer;
  for (int l = 0; l < layout.num_levels(); ++l) {
    Array band;
    for (int64_t extent : {static_cast<int64_t>(heads), s.tokens, layout.level(l).slots}) band.shape.push_back(extent);
    band.data.assign(static_cast<size_t>(heads * s.tokens * layout.level(l).slots), 0.0f);
    layer.bands.push_back(band);
  }
  for (int h = 0; h < heads; ++h)
    for (int64_t i = 0; i < s.tokens; ++i) {
      double total = 0;
      for (int l = 0; l < layout.num_levels(); ++l)
        for (int64_t k = 0; k < layout.level(l).slots; ++k)
          if (layout.slot(l, i, k).valid) {
            // Spiky weights: some keys (token 0 among them) get much more than others.
            float w = draw(rng) * (layout.slot(l, i, k).block == 0 && l == 0 ? 8.0f : 1.0f);
            layer.bands[static_cast<size_t>(l)].data[static_cast<size_t>((h * s.tokens + i) * layout.level(l).slots + k)] = w;
            total += w;
          }
      for (int l = 0; l < layout.num_levels(); ++l)
        for (int64_t k = 0; k < layout.level(l).slots; ++k)
          layer.bands[static_cast<size_t>(l)].data[static_cast<size_t>((h * s.tokens + i) * layout.level(l).slots + k)] /=
              static_cast<float>(total);
    }
  s.layers.push_back(layer);
  return s;
}

void check_against_implied_matrix(const Snapshot& s, const char* label) {
  SCOPED_TRACE(label);
  const Layout layout(s.attention);
  const std::vector<HeadStats> stats = head_stats(s);
  ASSERT_EQ(stats.size(), static_cast<size_t>(s.config.n_head));
  const bool two_d = s.attention.variant == Variant::grid2d;
  const int64_t n = s.tokens, side = s.attention.grid_side;
  for (const HeadStats& h : stats) {
    const Array rows = implied_attention_rows(s, 0, h.head, 0, n);
    std::vector<double> mass(static_cast<size_t>(layout.num_levels()), 0.0);
    std::vector<std::vector<double>> profile(mass.size(), std::vector<double>(static_cast<size_t>(distance_bins(n)), 0.0));
    double weighted = 0, total = 0, entropy = 0, sink = 0, phantom = 0;
    for (int64_t i = 0; i < n; ++i) {
      double row_total = 0;
      for (int64_t t = 0; t < n; ++t) {
        const double w = rows.at(i, t);
        if (w <= 0) continue;
        int64_t first = 0;
        const int l = layout.locate(i, t, &first);
        ASSERT_GE(l, 0);
        const int64_t d = two_d ? std::max(std::abs(i / side - t / side), std::abs(i % side - t % side)) : std::abs(i - t);
        mass[static_cast<size_t>(l)] += w;
        profile[static_cast<size_t>(l)][static_cast<size_t>(distance_bin(d))] += w;
        weighted += w * static_cast<double>(d);
        total += w;
        row_total += w;
        entropy -= w * std::log2(w);
        if (t == 0 && i > 0) sink += w;
      }
      (void)row_total;
      phantom += s.attention.boundary == Boundary::zero_pad ? 1.0 - row_total : 0.0;
    }
    for (size_t l = 0; l < mass.size(); ++l) {
      EXPECT_NEAR(h.level_mass[l], mass[l] / static_cast<double>(n), 1e-5) << "head " << h.head << " level " << l;
      for (size_t b = 0; b < profile[l].size(); ++b)
        EXPECT_NEAR(h.distance_mass[l][b], profile[l][b] / static_cast<double>(n), 1e-5) << "level " << l << " bin " << b;
    }
    EXPECT_NEAR(h.mean_distance, weighted / total, 1e-3 * (1 + weighted / total));
    EXPECT_NEAR(h.entropy_bits, entropy / static_cast<double>(n), 1e-4);
    EXPECT_NEAR(h.sink_mass, sink / static_cast<double>(n - 1), 1e-5);
    EXPECT_NEAR(h.phantom_mass, phantom / static_cast<double>(n), 1e-4);
    // The median lies where the pooled profile crosses half its mass.
    double below = 0, all = 0;
    for (const auto& level : profile)
      for (double m : level) all += m;
    for (const auto& level : profile)
      for (size_t b = 0; b < level.size(); ++b)
        if (static_cast<int64_t>(b) < distance_bin(static_cast<int64_t>(h.median_distance))) below += level[b];
    EXPECT_LE(below, 0.5 * all + 1e-6);
  }
}

TEST(HeadMetrics, AgreeWithTheImpliedMatrix) {
  AttentionConfig causal;
  causal.variant = Variant::causal;
  causal.n = 64;
  causal.m = 8;
  causal.p = 2;
  causal.boundary = Boundary::zero_pad;  // phantom keys before the sequence
  check_against_implied_matrix(random_run(causal, 2, 1), "causal zero_pad");
  causal.boundary = Boundary::mask;
  check_against_implied_matrix(random_run(causal, 2, 2), "causal");
  AttentionConfig bidirectional = causal;
  bidirectional.variant = Variant::bidirectional;
  check_against_implied_matrix(random_run(bidirectional, 2, 3), "bidirectional");
  AttentionConfig grid;
  grid.variant = Variant::grid2d;
  grid.grid_side = 8;
  grid.m = 2;
  grid.p = 1;
  check_against_implied_matrix(random_run(grid, 2, 4), "2d");
}

TEST(HeadMetrics, BinsMeansAndNames) {
  EXPECT_EQ(distance_bin(0), 0);
  EXPECT_EQ(distance_bin(1), 1);
  EXPECT_EQ(distance_bin(3), 2);
  EXPECT_EQ(distance_bin(4), 3);
  EXPECT_EQ(distance_bin_start(3), 4);
  EXPECT_EQ(distance_bins(64), 7);  // distances 0..63: bins 0, 1, 2-3, ..., 32-63
  AttentionConfig a;
  a.variant = Variant::causal;
  a.n = 64;
  a.m = 8;
  a.p = 2;
  const Snapshot s = random_run(a, 3, 5);
  const auto stats = head_stats(s);
  const HeadStats mean = mean_of_heads(stats, 0);
  EXPECT_EQ(mean.head, -1);
  EXPECT_NEAR(mean.mean_distance, (stats[0].mean_distance + stats[1].mean_distance + stats[2].mean_distance) / 3, 1e-9);
  const auto names = head_metric_names(static_cast<int>(stats[0].level_mass.size()));
  EXPECT_EQ(names.front(), "fine mass");
  EXPECT_EQ(names[1], "L1 mass");
  EXPECT_EQ(head_metric(stats[1], static_cast<int>(stats[1].level_mass.size())), stats[1].mean_distance);
  EXPECT_NE(head_stats_json(stats, 3, 64).find("\"median distance\""), std::string::npos);
  Snapshot dense;
  dense.layers.resize(1);
  EXPECT_THROW(head_stats(dense), Error);
}

// Random queries and keys for a run: [heads, n, d].
void add_queries_and_keys(Snapshot& s, int64_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  LayerSnapshot& layer = s.layers[0];
  for (Array* a : {&layer.q, &layer.k}) {
    for (int64_t extent : {static_cast<int64_t>(s.config.n_head), s.tokens, d}) a->shape.push_back(extent);
    for (int64_t x = 0; x < s.config.n_head * s.tokens * d; ++x) a->data.push_back(normal(rng));
  }
}

// With the fine band covering every key (n = 2m: no coarse level), FMA is exact softmax: a run
// whose band holds the exact weights has no error anywhere.
TEST(FmaErrorProfile, ZeroWhereTheBandCoversEveryKey) {
  AttentionConfig a;
  a.variant = Variant::causal;
  a.n = 16;
  a.m = 8;
  a.p = 2;
  Snapshot s = random_run(a, 2, 7);
  add_queries_and_keys(s, 4, 8);
  const Layout layout(a);
  ASSERT_EQ(layout.num_levels(), 1);
  Array& band = s.layers[0].bands[0];
  for (int h = 0; h < 2; ++h) {
    const Array exact = exact_attention_rows(s, 0, h, 0, s.tokens);
    for (int64_t i = 0; i < s.tokens; ++i)
      for (int64_t k = 0; k < layout.level(0).slots; ++k) {
        const SlotRef r = layout.slot(0, i, k);
        band.data[static_cast<size_t>((h * s.tokens + i) * layout.level(0).slots + k)] = r.valid ? exact.at(i, r.block) : 0.0f;
      }
  }
  for (int head : {0, 1, -1}) {
    const FmaErrorProfile e = fma_error_profile(s, 0, head);
    EXPECT_LT(e.max_tv, 1e-5) << head;
    EXPECT_LT(e.mean_kl, 1e-5) << head;
  }
}

// Random bands (far from the exact weights): every row's error is in [0, 1], the error by
// level adds up to the mean error (no phantoms), the worst rows come first, and a caller can
// stop it.
TEST(FmaErrorProfile, ErrorsAddUpAndTheWorstRowsComeFirst) {
  AttentionConfig a;
  a.variant = Variant::causal;
  a.n = 64;
  a.m = 8;
  a.p = 2;
  Snapshot s = random_run(a, 2, 9);
  add_queries_and_keys(s, 4, 10);
  const FmaErrorProfile e = fma_error_profile(s, 0, 1);
  ASSERT_EQ(e.tv.size(), 64u);
  double by_level = 0, by_bin = 0;
  for (double v : e.tv_by_level) by_level += v;
  for (double v : e.tv_by_bin) by_bin += v;
  EXPECT_NEAR(by_level, e.mean_tv, 1e-6);
  EXPECT_NEAR(by_bin, e.mean_tv, 1e-6);
  EXPECT_GT(e.mean_tv, 0.05);  // random weights are far from softmax
  for (float v : e.tv) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  ASSERT_EQ(e.worst.size(), 20u);
  EXPECT_FLOAT_EQ(e.tv[static_cast<size_t>(e.worst[0])], static_cast<float>(e.max_tv));
  for (size_t k = 1; k < e.worst.size(); ++k) EXPECT_GE(e.tv[static_cast<size_t>(e.worst[k - 1])], e.tv[static_cast<size_t>(e.worst[k])]);
  // Row 0 of a causal run sees only itself: exact and FMA agree there.
  EXPECT_LT(e.tv[0], 1e-6);
  EXPECT_THROW(fma_error_profile(s, 0, 1, [](double) { return false; }), Cancelled);
  EXPECT_THROW(fma_error_profile(s, 0, 2), Error);
}

}  // namespace
}  // namespace fmalens
