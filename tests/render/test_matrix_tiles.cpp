// The matrix view's CPU pieces (render/matrix_tiles.h) against implied rows computed cell by
// cell: mass-true tiles whose pixel rows sum to the rows' mass at any zoom (1 across the whole
// key axis), per-row maxima, the first key's weight and the phantom mass; then the renderer
// drawing them: mass pixels coloured by their tile, rows normalised to their own maximum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "fmalens/layout.h"
#include "gl_test_context.h"
#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/matrix_renderer.h"
#include "render/matrix_tiles.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::render {
namespace {

struct Case {
  const char* name;
  SyntheticSpec spec;
  bool z_order = true;
};

std::vector<Case> cases() {
  SyntheticSpec zero_pad = SyntheticSpec::sequence(Variant::causal, 512, 16, 2);
  zero_pad.boundary = Boundary::zero_pad;
  return {{"causal", SyntheticSpec::sequence(Variant::causal, 512, 16, 2)},
          {"causal zero_pad", zero_pad},
          {"bidirectional", SyntheticSpec::sequence(Variant::bidirectional, 512, 16, 4)},
          {"2D Z order", SyntheticSpec::grid(16, 2, 2), true},
          {"2D row-major", SyntheticSpec::grid(16, 2, 2), false}};
}

// Implied row of the query at axis position `row`, in axis order.
std::vector<float> axis_row(const BandData& b, const Layout& layout, int64_t row, bool z_order) {
  std::vector<float> values;
  implied_row(b, layout, token_of_axis(b.attention, z_order, row), &values, nullptr);
  std::vector<float> out(values.size());
  for (int64_t t = 0; t < static_cast<int64_t>(values.size()); ++t)
    out[static_cast<size_t>(axis_of_token(b.attention, z_order, t))] = values[static_cast<size_t>(t)];
  return out;
}

MatrixView view_of(double t0, double i0, double cpp, bool z_order) {
  MatrixView v;
  v.t0 = t0;
  v.i0 = i0;
  v.cells_per_pixel = cpp;
  v.z_order = z_order;
  return v;
}

// A pixel's mass computed cell by cell: the rows it covers weighted by how much of each it
// covers, each row's weights times how much of each key the pixel covers.
double brute_mass(const BandData& b, const Layout& layout, const MatrixView& v, int x, int y, uint32_t mask = ~0u) {
  const double n = static_cast<double>(b.tokens), cpp = v.cells_per_pixel;
  const double r_lo = std::max(0.0, v.i0 + y * cpp), r_hi = std::min(n, v.i0 + (y + 1) * cpp);
  const double k_lo = v.t0 + x * cpp, k_hi = v.t0 + (x + 1) * cpp;
  double sum = 0, total = 0;
  for (int64_t r = static_cast<int64_t>(std::floor(r_lo)); r < r_hi; ++r) {
    const double wr = std::min(r_hi, r + 1.0) - std::max(r_lo, static_cast<double>(r));
    if (wr <= 0) continue;
    total += wr;
    std::vector<float> vals;
    std::vector<int> levels;
    implied_row(b, layout, token_of_axis(b.attention, v.z_order, r), &vals, &levels);
    for (int64_t t = 0; t < b.tokens; ++t) {
      const int64_t a = axis_of_token(b.attention, v.z_order, t);
      const double cover = std::min(k_hi, a + 1.0) - std::max(k_lo, static_cast<double>(a));
      const int l = levels[static_cast<size_t>(t)];
      if (cover > 0 && l >= 0 && ((mask >> l) & 1u)) sum += wr * vals[static_cast<size_t>(t)] * cover;
    }
  }
  return total > 0 ? sum / total : 0.0;
}

TEST(MassTiles, PixelRowsSumToTheRowsMassAtThreeZooms) {
  for (const Case& c : cases()) {
    const Snapshot snap = make_synthetic_snapshot(c.spec);
    const BandData b = make_band_data(snap, 0, -1);
    const Layout layout(snap.attention);
    const int64_t n = b.tokens;
    // The whole key axis in view at 4, 1 and 1/2 cells a pixel (the last two rows tall).
    for (double cpp : {4.0, 1.0, 0.5}) {
      const int w = static_cast<int>(std::ceil(n / cpp)), h = cpp < 1 ? 16 : w;
      const MatrixView v = view_of(0, cpp < 1 ? 100.25 : 0, cpp, c.z_order);
      const MassTiles tiles = mass_tiles(b, layout, v, w, h);
      ASSERT_EQ(tiles.mass.size(), static_cast<size_t>(w) * h);
      for (int y = 0; y < h; ++y) {
        double row_sum = 0, phantom = 0, rows = 0;
        const double r_lo = v.i0 + y * cpp, r_hi = std::min<double>(n, r_lo + cpp);
        for (int64_t r = static_cast<int64_t>(std::floor(r_lo)); r < r_hi; ++r) {  // expected: 1 - the rows' phantom mass
          const double wr = std::min(r_hi, r + 1.0) - std::max(r_lo, static_cast<double>(r));
          const std::vector<float> row = axis_row(b, layout, r, c.z_order);
          double s = 0;
          for (float x : row) s += x;
          phantom += wr * (1 - s);
          rows += wr;
        }
        for (int x = 0; x < w; ++x) row_sum += std::max(0.0f, tiles.mass[static_cast<size_t>(y) * w + x]);
        ASSERT_NEAR(row_sum, 1 - phantom / rows, 2e-4) << c.name << ", " << cpp << " cells a pixel, pixel row " << y;
        if (c.spec.boundary == Boundary::mask) {
          ASSERT_NEAR(row_sum, 1, 2e-4) << c.name;
        }
      }
    }
  }
}

TEST(MassTiles, EveryPixelIsTheMassOfItsCellsInAnyView) {
  for (const Case& c : cases()) {
    const Snapshot snap = make_synthetic_snapshot(c.spec);
    const BandData b = make_band_data(snap, 0, -1);
    const Layout layout(snap.attention);
    // Fractional corners and zoom, part of the matrix in view, one level hidden.
    for (uint32_t mask : {~0u, ~2u}) {
      MatrixView v = view_of(37.3, 20.6, 1.7, c.z_order);
      v.level_mask = mask;
      const int w = 70, h = 60;
      const MassTiles tiles = mass_tiles(b, layout, v, w, h);
      float row_max = 0;
      for (int y = 0; y < h; y += 3) {
        for (int x = 0; x < w; ++x) {
          const float got = tiles.mass[static_cast<size_t>(y) * w + x];
          const double want = brute_mass(b, layout, v, x, y, mask);
          if (want > 0) ASSERT_NEAR(got, want, 1e-5 + 1e-4 * want) << c.name << " pixel " << x << "," << y << " mask " << mask;
          else ASSERT_LE(got, 0.0f) << c.name << " pixel " << x << "," << y;
          row_max = std::max(row_max, got);
        }
        ASSERT_FLOAT_EQ(tiles.row_max[static_cast<size_t>(y)], row_max) << c.name << " row " << y;
        row_max = 0;
      }
    }
  }
}

TEST(MassTiles, ManyRowsAPixelAreSampledAndStillSumToOne) {
  const Snapshot snap = make_synthetic_snapshot(SyntheticSpec::sequence(Variant::causal, 4096, 32, 4));
  const BandData b = make_band_data(snap, 0, 0);
  const Layout layout(snap.attention);
  const MatrixView v = view_of(0, 0, 4096.0 / 64, false);  // 64 rows a pixel, 16 of them sampled
  const MassTiles tiles = mass_tiles(b, layout, v, 64, 64, 16);
  for (int y = 0; y < 64; ++y) {
    double sum = 0;
    for (int x = 0; x < 64; ++x) sum += std::max(0.0f, tiles.mass[static_cast<size_t>(y) * 64 + x]);
    EXPECT_NEAR(sum, 1, 1e-4) << "pixel row " << y;
  }
  // Beyond the diagonal nothing is attended; the top-right pixel is the causal future.
  EXPECT_EQ(tiles.mass[63], -1.0f);
}

TEST(RowSummary, MaximaFirstKeyAndPhantomMassOfEveryRow) {
  for (const Case& c : cases()) {
    const Snapshot snap = make_synthetic_snapshot(c.spec);
    const BandData b = make_band_data(snap, 0, -1);
    const Layout layout(snap.attention);
    for (bool without_first : {false, true}) {
      const RowSummary s = row_summary(b, layout, c.z_order, ~1u, without_first);  // fine level hidden
      const RowSummary all = row_summary(b, layout, c.z_order, ~0u, without_first);
      ASSERT_EQ(s.row_max.size(), static_cast<size_t>(b.tokens));
      float top = 0;
      for (int64_t r = 0; r < b.tokens; ++r) {
        const int64_t token = token_of_axis(b.attention, c.z_order, r);
        std::vector<float> vals;
        std::vector<int> levels;
        implied_row(b, layout, token, &vals, &levels);
        float want = 0, want_all = 0;
        double total = 0;
        for (int64_t t = 0; t < b.tokens; ++t) {
          const float x = vals[static_cast<size_t>(t)];
          total += x;
          const bool first_alone = without_first && t == 0 && levels[0] == 0;  // a fine key 0 leaves the range
          if (levels[static_cast<size_t>(t)] >= 1 && !first_alone) want = std::max(want, x);
          if (levels[static_cast<size_t>(t)] >= 0 && !first_alone) want_all = std::max(want_all, x);
        }
        ASSERT_FLOAT_EQ(s.row_max[static_cast<size_t>(r)], want) << c.name << " row " << r;
        ASSERT_FLOAT_EQ(all.row_max[static_cast<size_t>(r)], want_all) << c.name << " row " << r;
        ASSERT_FLOAT_EQ(s.first_key[static_cast<size_t>(r)], vals[0]) << c.name << " row " << r;
        if (c.spec.boundary == Boundary::zero_pad) {
          ASSERT_NEAR(s.phantom[static_cast<size_t>(r)], 1 - total, 1e-5) << c.name << " row " << r;
        } else {
          ASSERT_TRUE(s.phantom.empty());
        }
        top = std::max(top, want);
      }
      EXPECT_FLOAT_EQ(s.max_weight, top);
    }
  }
  // zero_pad rows near the start give real mass to the phantoms (the check above is not vacuous).
  SyntheticSpec spec = SyntheticSpec::sequence(Variant::causal, 512, 16, 2);
  spec.boundary = Boundary::zero_pad;
  const Snapshot snap = make_synthetic_snapshot(spec);
  const RowSummary s = row_summary(make_band_data(snap, 0, -1), Layout(snap.attention), true, ~0u, false);
  EXPECT_GT(*std::max_element(s.phantom.begin(), s.phantom.end()), 0.01f);
}

TEST(PixelRows, MaxAndCoverageWeightedMean) {
  const std::vector<float> per_row = {1, 2, 3, 4, 5, 6, 7, 8};
  const MatrixView v = view_of(0, 0.5, 2, false);  // pixel rows [0.5, 2.5), [2.5, 4.5), ...
  const std::vector<float> mx = pixel_rows_max(per_row, v, 5), mean = pixel_rows_mean(per_row, v, 5);
  EXPECT_FLOAT_EQ(mx[0], 3);
  EXPECT_FLOAT_EQ(mean[0], (0.5f * 1 + 1 * 2 + 0.5f * 3) / 2);
  EXPECT_FLOAT_EQ(mean[3], (0.5f * 7 + 1 * 8) / 1.5f);  // the last pixel row covers [6.5, 8) only
  EXPECT_FLOAT_EQ(mx[4], 0);                            // and the next none
}

TEST(ColourScale, GammaBendsTheLinearScale) {
  EXPECT_FLOAT_EQ(scale_value(0.25f, false, 0, 1, 0.5f), 0.5f);
  EXPECT_FLOAT_EQ(scale_value(0.5f, false, 0, 1, 2.0f), 0.25f);
  EXPECT_FLOAT_EQ(scale_value(0.5f, false, 0, 1), 0.5f);
  EXPECT_FLOAT_EQ(scale_value(0.01f, true, 1e-4f, 1, 0.5f), 0.5f);  // log ignores gamma
}

// The renderer: mass pixels have the colour of their tile; normalised rows reach the top of
// the colormap in every row that has a value.
struct Drawn {
  std::vector<uint8_t> px;
  float lo = 0, hi = 0;
  MassTiles tiles;
  int w = 0, h = 0;
  const uint8_t* at(int x, int y) const { return &px[(static_cast<size_t>(y) * w + x) * 4]; }
};

Drawn draw(const BandData& data, const MatrixView& view, int w, int h) {
  BandTextures bands;
  bands.upload(data);
  OffscreenTarget target;
  target.resize(w, h);
  target.bind();
  MatrixRenderer renderer;
  EXPECT_TRUE(renderer.draw(test::GlTestContext::get().render(), bands, view, {0, 0, w, h}, h, 0, false, &data));
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  Drawn d;
  d.px = target.read_rgba8();
  renderer.colour_range(&d.lo, &d.hi);
  d.tiles = renderer.mass_tiles();
  d.w = w;
  d.h = h;
  return d;
}

bool near(const uint8_t* px, Rgb c, int tolerance = 3) {
  return std::abs(px[0] - c.r * 255) <= tolerance && std::abs(px[1] - c.g * 255) <= tolerance && std::abs(px[2] - c.b * 255) <= tolerance;
}

TEST(MatrixView, MassPixelsHaveTheColourOfTheirTile) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(SyntheticSpec::sequence(Variant::causal, 1024, 16, 2, 1, 2));
  const BandData data = make_band_data(snap, 0, -1);
  MatrixView v = MatrixView::fit(1024, 200, 200);
  v.outlines = false;
  v.mass = true;
  for (bool log : {true, false}) {
    v.log_scale = log;
    v.gamma = log ? 1.0f : 0.5f;
    const Drawn d = draw(data, v, 200, 200);
    ASSERT_EQ(d.tiles.w, 200);
    EXPECT_FLOAT_EQ(d.hi, d.tiles.max_mass);
    int checked = 0;
    for (int y = 0; y < 200; y += 7)
      for (int x = 0; x <= y; x += 5) {
        const float m = d.tiles.mass[static_cast<size_t>(y) * 200 + x];
        if (m <= 0) continue;
        ++checked;
        const Rgb want = colormap_rgb(v.colormap, scale_value(m, log, d.lo, d.hi, v.gamma));
        ASSERT_TRUE(near(d.at(x, y), want)) << "pixel " << x << "," << y << " mass " << m << (log ? " log" : " gamma");
      }
    EXPECT_GT(checked, 300);
  }
}

TEST(MatrixView, NormalisedRowsReachTheTopOfTheColormap) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(SyntheticSpec::sequence(Variant::causal, 512, 16, 2, 1, 2));
  const BandData data = make_band_data(snap, 0, 0);
  const Rgb top = colormap_rgb(Colormap::viridis, 1.0f);
  for (bool mass : {false, true}) {
    MatrixView v = MatrixView::fit(512, 256, 256);
    v.outlines = false;
    v.mass = mass;
    v.row_normalise = true;
    const Drawn d = draw(data, v, 256, 256);
    EXPECT_FLOAT_EQ(d.hi, 1.0f);
    for (int y = 0; y < 256; ++y) {
      int at_top = 0;
      for (int x = 0; x < 256; ++x) at_top += near(d.at(x, y), top, 2);
      ASSERT_GE(at_top, 1) << (mass ? "mass" : "peak") << " pixel row " << y << " never reaches its maximum colour";
    }
  }
}

}  // namespace
}  // namespace fmalens::render
