// The band layout: tiling, agreement of the slot enumeration with the definition, locate,
// phantoms, and refusal of invalid configurations (FMA.md properties 1, 5, 6, 7).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "fmalens/config.h"
#include "base/fma/band_plan.h"
#include "fmalens/layout.h"

namespace fmalens {
namespace {

AttentionConfig make_1d(Variant v, int64_t n, int64_t m, int64_t p, Boundary b = Boundary::mask) {
  AttentionConfig c;
  c.variant = v;
  c.n = n;
  c.m = m;
  c.p = p;
  c.boundary = b;
  return c;
}

AttentionConfig make_2d(int64_t side, int64_t r, int64_t p) {
  AttentionConfig c;
  c.variant = Variant::grid2d;
  c.grid_side = side;
  c.m = r;
  c.p = p;
  return c;
}

std::vector<AttentionConfig> all_configs() {
  std::vector<AttentionConfig> out;
  for (auto v : {Variant::causal, Variant::bidirectional})
    for (auto [n, m, p] : std::vector<std::tuple<int, int, int>>{
             {8, 4, 1}, {16, 4, 4}, {32, 4, 2}, {64, 8, 3}, {128, 4, 1}, {256, 8, 4}, {64, 16, 16}})
      out.push_back(make_1d(v, n, m, p));
  out.push_back(make_1d(Variant::causal, 64, 4, 2, Boundary::zero_pad));
  for (auto [s, r, p] : std::vector<std::tuple<int, int, int>>{{4, 2, 1}, {8, 2, 4}, {16, 2, 2}, {16, 4, 3}, {32, 2, 1}})
    out.push_back(make_2d(s, r, p));
  return out;
}

std::string name(const AttentionConfig& c) {
  return std::string(to_string(c.variant)) + " n=" + std::to_string(c.tokens()) + " m=" + std::to_string(c.m) +
         " p=" + std::to_string(c.p);
}

// Level that covers token t for query i according to the definition; counts coverings.
int coverings(const AttentionConfig& c, const Layout& layout, int64_t i, int64_t t) {
  int count = serves(c, 0, i, t) ? 1 : 0;
  for (int l = 1; l < layout.num_levels(); ++l) {
    const int64_t w = layout.level(l).width;
    int64_t block;
    if (c.variant == Variant::grid2d) {
      const int64_t G = c.grid_side;
      block = (t / G / w) * (G / w) + (t % G) / w;
    } else {
      block = t / w;
    }
    count += serves(c, l, i, block) ? 1 : 0;
  }
  return count;
}

TEST(Layout, LevelsTileEveryRowExactlyOnce) {
  for (const auto& c : all_configs()) {
    Layout layout(c);
    const int64_t n = layout.tokens();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t t = 0; t < n; ++t) {
        const int expected = (c.variant == Variant::causal && t > i) ? 0 : 1;
        ASSERT_EQ(coverings(c, layout, i, t), expected) << name(c) << " i=" << i << " t=" << t;
      }
  }
}

TEST(Layout, SlotsEnumerateExactlyTheDefinition) {
  for (const auto& c : all_configs()) {
    Layout layout(c);
    const int64_t n = layout.tokens();
    for (int64_t i = 0; i < n; ++i) {
      double phantom_total = 0;
      for (int l = 0; l < layout.num_levels(); ++l) {
        const LevelGeometry& g = layout.level(l);
        double phantom = 0;
        std::set<std::pair<int64_t, int>> from_slots;
        for (int64_t k = 0; k < g.slots; ++k) {
          SlotRef s = layout.slot(l, i, k);
          if (s.phantom) {
            phantom += g.alpha;
            continue;
          }
          if (s.valid) {
            ASSERT_TRUE(from_slots.insert({s.block, s.summary}).second) << name(c) << " duplicate slot";
          }
        }
        std::set<std::pair<int64_t, int>> defined;
        for (int64_t x = 0; x < g.blocks; ++x)
          if (serves(c, l, i, x)) {
            if (l == 0) defined.insert({x, -1});
            else
              for (int s = 0; s < g.summaries; ++s) defined.insert({x, s});
          }
        ASSERT_EQ(from_slots, defined) << name(c) << " level " << l << " query " << i;
        phantom_total += phantom;
      }
      // FMA.md: with zero_pad, the phantom slots of query i < n/2 stand for exactly n/2 zero
      // keys (fine block 0 and the c = 0, 1 coarse blocks); with mask there are none.
      const double expected = c.boundary == Boundary::zero_pad && c.variant == Variant::causal && i < n / 2 ? n / 2 : 0;
      ASSERT_DOUBLE_EQ(phantom_total, expected) << name(c) << " query " << i;
    }
  }
}

TEST(Layout, KernelPlanMatchesTokenOrderSlots) {
  for (const auto& c : all_configs()) {
    Layout layout(c);
    for (int l = 0; l < layout.num_levels(); ++l) {
      const LevelGeometry& g = layout.level(l);
      for (int64_t grp = 0; grp < g.groups; ++grp)
        for (int64_t q = 0; q < g.group_queries; ++q) {
          const int64_t i = layout.to_token(grp * g.group_queries + q);
          for (int64_t k = 0; k < g.slots; ++k) {
            SlotRef s = layout.slot(l, i, k);
            const int64_t row = LayoutBandPlan::key_row(layout, l, grp, k);
            ASSERT_EQ(LayoutBandPlan::slot_valid(layout, l, grp, q, k), s.valid);
            if (!s.valid || s.phantom) continue;
            ASSERT_GE(row, 0) << name(c);
            if (l == 0) {
              ASSERT_EQ(layout.to_token(row), s.block) << name(c) << " fine row";
            } else {
              ASSERT_EQ(row % g.summaries, s.summary);
              // internal block -> the first token of the block, compared in token order
              const int64_t internal_block = row / g.summaries;
              const int64_t first = layout.to_token(internal_block * g.block_tokens);
              ASSERT_EQ(layout.block_tokens(l, s.block).front(), first) << name(c) << " coarse row";
            }
          }
        }
    }
  }
}

TEST(Layout, LocateFindsTheServingSlot) {
  for (const auto& c : all_configs()) {
    Layout layout(c);
    const int64_t n = layout.tokens();
    for (int64_t i = 0; i < n; i += 3)
      for (int64_t t = 0; t < n; ++t) {
        int64_t slot = -1;
        const int l = layout.locate(i, t, &slot);
        if (c.variant == Variant::causal && t > i) {
          ASSERT_EQ(l, -1);
          continue;
        }
        ASSERT_GE(l, 0) << name(c) << " i=" << i << " t=" << t;
        SlotRef s = layout.slot(l, i, slot);
        ASSERT_TRUE(s.valid && !s.phantom);
        auto tokens = layout.block_tokens(l, s.block);
        ASSERT_NE(std::find(tokens.begin(), tokens.end(), t), tokens.end()) << name(c) << " i=" << i << " t=" << t;
        if (l > 0) {
          ASSERT_EQ(s.summary, 0);
        }
      }
  }
}

TEST(Layout, PhantomsWeighHalfTheSequenceInZeroPad) {
  for (auto [n, m, p] : std::vector<std::tuple<int, int, int>>{{64, 4, 2}, {256, 8, 4}, {16, 8, 1}, {128, 16, 16}}) {
    auto c = make_1d(Variant::causal, n, m, p, Boundary::zero_pad);
    Layout layout(c);
    for (int64_t i = 0; i < n; ++i) {
      double from_slots = 0;
      for (int l = 0; l < layout.num_levels(); ++l)
        for (int64_t k = 0; k < layout.level(l).slots; ++k)
          if (layout.slot(l, i, k).phantom) from_slots += layout.level(l).alpha;
      EXPECT_DOUBLE_EQ(from_slots, layout.phantom_count(i));
      EXPECT_DOUBLE_EQ(layout.phantom_count(i), i < n / 2 ? n / 2 : 0) << "n=" << n << " i=" << i;
    }
  }
  // mask has no phantoms
  Layout masked(make_1d(Variant::causal, 64, 4, 2, Boundary::mask));
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(masked.phantom_count(i), 0.0);
}

TEST(Layout, GeometryFollowsTheLadder) {
  Layout layout(make_1d(Variant::causal, 4096, 64, 4));
  ASSERT_EQ(layout.num_levels(), 6);  // L = log2(64) - 1 = 5
  for (int l = 1; l <= 5; ++l) {
    EXPECT_EQ(layout.level(l).width, 64 << (l - 1));
    EXPECT_EQ(layout.level(l).alpha, (64 << (l - 1)) / 4);
    EXPECT_EQ(layout.level(l).slots, 8);
  }
  EXPECT_EQ(layout.level(5).width, 4096 / 4);
  EXPECT_EQ(layout.level(0).slots, 128);
  Layout grid(make_2d(32, 2, 4));
  ASSERT_EQ(grid.num_levels(), 4);  // L = log2(16) - 1 = 3
  EXPECT_EQ(grid.level(3).width, 8);
  EXPECT_EQ(grid.level(3).alpha, 16);
  EXPECT_EQ(grid.level(0).slots, 36);
}

TEST(Layout, StoredWeightsCountARowPerBlockWithQueryDownsampling) {
  AttentionConfig c = make_1d(Variant::bidirectional, 256, 8, 4);
  const Layout full(c);
  int64_t per_query = 0;
  for (const auto& g : full.levels()) per_query += g.slots;
  EXPECT_EQ(full.stored_weights(), 256 * per_query);
  c.query_downsampling = true;
  const Layout linear(c);
  int64_t expected = 256 * linear.level(0).slots;
  for (int l = 1; l < linear.num_levels(); ++l) {
    EXPECT_EQ(linear.weight_rows(l), 256 / linear.level(l).width) << "level " << l;
    expected += (256 / linear.level(l).width) * linear.level(l).slots;
  }
  EXPECT_EQ(linear.weight_rows(0), 256);
  EXPECT_EQ(linear.stored_weights(), expected);
  AttentionConfig grid = make_2d(16, 2, 2);
  grid.query_downsampling = true;
  const Layout grid_linear(grid);
  for (int l = 1; l < grid_linear.num_levels(); ++l)
    EXPECT_EQ(grid_linear.weight_rows(l), 256 / grid_linear.level(l).block_tokens) << "2D level " << l;
}

TEST(Layout, MortonRoundTrip) {
  for (int64_t y = 0; y < 64; ++y)
    for (int64_t x = 0; x < 64; ++x) {
      int64_t yy, xx;
      Layout::unmorton(Layout::morton(y, x), &yy, &xx);
      ASSERT_EQ(yy, y);
      ASSERT_EQ(xx, x);
    }
}

void expect_refused(const AttentionConfig& c, const std::string& rule) {
  try {
    validate(c);
    FAIL() << "accepted: " << name(c) << ", expected refusal naming: " << rule;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(rule), std::string::npos) << e.what();
  }
}

TEST(Config, InvalidConfigurationsAreRefusedNamingTheRule) {
  expect_refused(make_1d(Variant::causal, 96, 16, 4), "n/m must be a power of two");
  expect_refused(make_1d(Variant::causal, 100, 16, 4), "n/m must be a power of two");
  expect_refused(make_1d(Variant::causal, 16, 16, 4), "n/m must be a power of two >= 2");
  expect_refused(make_1d(Variant::causal, 64, 8, 9), "p must not exceed the fine block size");
  expect_refused(make_1d(Variant::causal, 64, 8, 0), "p (summaries per block) must be at least 1");
  auto avg = make_1d(Variant::causal, 64, 8, 3);
  avg.downsampling = Downsampling::avgpool;
  expect_refused(avg, "avgpool needs p to divide m");
  auto lin = make_1d(Variant::causal, 64, 8, 2);
  lin.query_downsampling = true;
  expect_refused(lin, "query downsampling");
  expect_refused(make_1d(Variant::bidirectional, 64, 8, 2, Boundary::zero_pad), "zero_pad");
  expect_refused(make_2d(12, 2, 1), "power-of-two side");
  expect_refused(make_2d(16, 3, 1), "cell side r must be a power of two");
  expect_refused(make_2d(16, 16, 1), "grid_side / r >= 2");
  expect_refused(make_2d(16, 2, 5), "p must not exceed the tokens of a fine cell");
  auto heads = make_1d(Variant::causal, 64, 8, 2);
  heads.heads = 0;
  expect_refused(heads, "heads must be at least 1");
}

TEST(Config, ModelConfigJsonRoundTrip) {
  ModelConfig c;
  c.kind = ModelKind::image;
  c.n_layer = 3;
  c.n_head = 2;
  c.n_embd = 64;
  c.image_size = 32;
  c.patch_size = 2;
  c.num_classes = 3;
  c.class_names = {"a", "b", "c"};
  c.attention.variant = Variant::grid2d;
  c.attention.m = 2;
  c.attention.p = 2;
  c.attention.query_downsampling = true;
  ModelConfig back = model_config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.attention_config().grid_side, 16);
  EXPECT_EQ(back.attention_config().head_dim, 32);
  EXPECT_THROW(model_config_from_json("{\"kind\":\"text\"}"), ConfigError);
  EXPECT_THROW(model_config_from_json("not json"), ConfigError);
  try {
    model_config_from_json(R"({"kind":"text","n_layer":2,"n_head":2,"n_embd":32,"block_size":96,"attention":{"m":16}})");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("n/m must be a power of two"), std::string::npos);
  }
}

// The lengths a 1D layout runs: m * 2^k with k >= 1, the shortest holding T and the longest within T.
TEST(Layout, LayoutLengthsAreMTimesPowersOfTwo) {
  EXPECT_EQ(layout_length_at_least(16, 1), 32);
  EXPECT_EQ(layout_length_at_least(16, 32), 32);
  EXPECT_EQ(layout_length_at_least(16, 33), 64);
  EXPECT_EQ(layout_length_at_least(32, 4096), 4096);
  EXPECT_EQ(layout_length_at_least(32, 4097), 8192);
  EXPECT_EQ(layout_length_at_most(16, 31), 0);
  EXPECT_EQ(layout_length_at_most(16, 32), 32);
  EXPECT_EQ(layout_length_at_most(16, 100), 64);
  EXPECT_EQ(layout_length_at_most(16, 128), 128);
  EXPECT_EQ(layout_length_at_most(32, 4095), 2048);
  for (int64_t T = 32; T < 600; ++T) {
    const int64_t up = layout_length_at_least(16, T), down = layout_length_at_most(16, T);
    EXPECT_TRUE(up >= T && up / 2 < std::max<int64_t>(T, 32)) << T;
    EXPECT_TRUE(down <= T && down * 2 > T) << T;
  }
}

}  // namespace
}  // namespace fmalens
