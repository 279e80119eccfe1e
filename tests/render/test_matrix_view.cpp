// The matrix view against the CPU: every pixel's colour is the colormap of the implied matrix
// (render::implied_value, itself checked against the core's implied_attention_rows), the causal
// future stays background, coarse blocks are uniform, zoomed-out pixels show the max over their
// samples (the fine band never disappears), and panning by whole pixels (reprojection) draws
// the same picture as drawing from scratch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "fmalens/layout.h"
#include "gl_test_context.h"
#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/matrix_frame_bench.h"
#include "render/matrix_renderer.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::render {
namespace {

constexpr uint8_t kBackground[3] = {23, 23, 26};  // matrix_renderer.cpp: (0.09, 0.09, 0.10)

struct Rendered {
  Snapshot snap;
  BandData data;
  BandTextures bands;
  std::vector<uint8_t> px;
  int w = 0, h = 0;
  const uint8_t* at(int x, int y) const { return &px[(static_cast<size_t>(y) * w + x) * 4]; }
};

SyntheticSpec causal_spec(int64_t n, int64_t m, int64_t p) { return SyntheticSpec::sequence(Variant::causal, n, m, p, 1, 2); }

void render(Rendered* r, const SyntheticSpec& spec, const MatrixView& view, int w, int h, int head = -1) {
  r->snap = make_synthetic_snapshot(spec);
  r->data = make_band_data(r->snap, 0, head);
  r->bands.upload(r->data);
  OffscreenTarget target;
  target.resize(w, h);
  target.bind();
  glClearColor(0, 0, 0, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  MatrixRenderer renderer;
  EXPECT_TRUE(renderer.draw(test::GlTestContext::get().render(), r->bands, view, {0, 0, w, h}, h, 0));
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  r->px = target.read_rgba8();
  r->w = w;
  r->h = h;
}

// The colour the resolve pass gives a weight (no tint, no outline, no highlight).
Rgb expected_colour(const MatrixView& view, const BandTextures& bands, float value) {
  float lo, hi;
  matrix_color_range(view, bands, &lo, &hi);
  return colormap_rgb(view.colormap, scale_value(value, view.log_scale, lo, hi));
}

bool near(const uint8_t* px, Rgb c, int tolerance = 3) {
  return std::abs(px[0] - c.r * 255) <= tolerance && std::abs(px[1] - c.g * 255) <= tolerance && std::abs(px[2] - c.b * 255) <= tolerance;
}

bool is_background(const uint8_t* px) { return px[0] == kBackground[0] && px[1] == kBackground[1] && px[2] == kBackground[2]; }

MatrixView plain_view(int64_t n, int side) {
  MatrixView v = MatrixView::fit(n, side, side);
  v.outlines = false;
  return v;
}

TEST(MatrixView, EveryCellHasTheColourOfTheImpliedMatrix) {
  FMALENS_REQUIRE_GL();
  Rendered r;
  const MatrixView view = plain_view(256, 256);  // one pixel per cell
  render(&r, causal_spec(256, 16, 2), view, 256, 256);
  const Layout layout(r.snap.attention);
  int wrong = 0;
  for (int i = 0; i < 256; ++i)
    for (int t = 0; t < 256; ++t) {
      int level = -1;
      const float v = implied_value(r.data, layout, i, t, &level);
      const uint8_t* px = r.at(t, i);
      const bool ok = level < 0 ? is_background(px) : near(px, expected_colour(view, r.bands, v));
      if (!ok && ++wrong <= 5)
        ADD_FAILURE() << "cell (" << i << ", " << t << ") level " << level << " value " << v << ": pixel " << int(px[0]) << ","
                      << int(px[1]) << "," << int(px[2]);
    }
  EXPECT_EQ(wrong, 0);
}

TEST(MatrixView, CausalStructure) {
  FMALENS_REQUIRE_GL();
  Rendered r;
  render(&r, causal_spec(256, 16, 2), plain_view(256, 256), 256, 256);
  const Layout layout(r.snap.attention);
  for (int i = 0; i < 256; ++i) {
    for (int t = i + 1; t < 256; ++t) ASSERT_TRUE(is_background(r.at(t, i))) << "future cell (" << i << ", " << t << ") is drawn";
    EXPECT_FALSE(is_background(r.at(i, i))) << "diagonal cell " << i << " is not lit";
  }
  // Every coarse block is one colour along its row: the block's mass over its tokens.
  for (int i = 0; i < 256; i += 7)
    for (int t = 0; t < i; ++t) {
      int64_t slot;
      const int level = layout.locate(i, t, &slot);
      if (level <= 0) continue;
      const int64_t w = layout.level(level).width, first = t / w * w;
      for (int64_t u = first; u < first + w; ++u)
        ASSERT_EQ(std::memcmp(r.at(static_cast<int>(u), i), r.at(static_cast<int>(first), i), 3), 0)
            << "block of level " << level << " at row " << i << " is not uniform";
    }
}

TEST(MatrixView, HiddenLevelsAreGreyAndTheRestStays) {
  FMALENS_REQUIRE_GL();
  Rendered all, no_fine;
  MatrixView view = plain_view(256, 256);
  render(&all, causal_spec(256, 16, 2), view, 256, 256);
  view.level_mask = ~1u;
  render(&no_fine, causal_spec(256, 16, 2), view, 256, 256);
  const Layout layout(all.snap.attention);
  for (int i = 0; i < 256; i += 3)
    for (int t = 0; t <= i; ++t) {
      int64_t slot;
      const int level = layout.locate(i, t, &slot);
      if (level == 0) {
        EXPECT_TRUE(no_fine.at(t, i)[0] == 56 && no_fine.at(t, i)[2] == 61) << "fine cell not shown as hidden";
      } else {
        EXPECT_EQ(std::memcmp(no_fine.at(t, i), all.at(t, i), 3), 0);
      }
    }
}

// Zoomed out, a pixel covers 8 x 8 cells: it must show the max over its 4 x 4 samples (and the
// centre), which keeps the fine band along the diagonal visible.
TEST(MatrixView, ZoomedOutPixelsShowTheMaxOverTheirSamples) {
  FMALENS_REQUIRE_GL();
  Rendered r;
  const int side = 128;
  const MatrixView view = plain_view(1024, side);
  ASSERT_DOUBLE_EQ(view.cells_per_pixel, 8.0);
  render(&r, causal_spec(1024, 16, 4), view, side, side);
  const Layout layout(r.snap.attention);
  int wrong = 0;
  for (int y = 0; y < side; ++y)
    for (int x = 0; x <= y; ++x) {
      float best = -1;
      for (int s = -1; s < 16; ++s) {
        const double jx = s < 0 ? 0.5 : (s % 4 + 0.5) / 4, jy = s < 0 ? 0.5 : (s / 4 + 0.5) / 4;
        const int64_t t = static_cast<int64_t>(std::floor((x + jx) * 8)), i = static_cast<int64_t>(std::floor((y + jy) * 8));
        int level = -1;
        const float v = implied_value(r.data, layout, i, t, &level);
        if (level >= 0) best = std::max(best, v);
      }
      const uint8_t* px = r.at(x, y);
      const bool ok = best < 0 ? is_background(px) : near(px, expected_colour(view, r.bands, best));
      if (!ok && ++wrong <= 5) ADD_FAILURE() << "pixel (" << x << ", " << y << ") expected the max " << best;
      if (x == y) {
        // The fine band (2 to 4 cells of 8) shows on the diagonal: its weights dominate there.
        int level = -1;
        const float fine = implied_value(r.data, layout, y * 8 + 4, x * 8 + 4, &level);
        EXPECT_EQ(level, 0);
        EXPECT_GE(best, fine);
      }
    }
  EXPECT_EQ(wrong, 0);
}

TEST(MatrixView, PanningByWholePixelsDrawsWhatAFreshRenderDraws) {
  FMALENS_REQUIRE_GL();
  auto& ctx = test::GlTestContext::get().render();
  const Snapshot snap = make_synthetic_snapshot(causal_spec(1024, 16, 4));
  BandTextures bands;
  bands.upload(make_band_data(snap, 0, -1));
  MatrixView view = MatrixView::fit(1024, 160, 160);
  view.cells_per_pixel = 2;  // zoomed in: panning is possible
  view.t0 = 300;
  view.i0 = 500;
  view.selected_row = 600;
  OffscreenTarget a, b;
  a.resize(160, 160);
  b.resize(160, 160);
  MatrixRenderer panned, fresh;
  a.bind();
  panned.draw(ctx, bands, view, {0, 0, 160, 160}, 160, 0);
  for (auto [dx, dy] : {std::pair{7, 0}, {0, -5}, {-12, 9}, {3, 3}}) {
    view = view.panned(static_cast<float>(dx), static_cast<float>(dy));
    a.bind();
    panned.draw(ctx, bands, view, {0, 0, 160, 160}, 160, 0);
    EXPECT_TRUE(panned.reprojected());
  }
  b.bind();
  fresh.draw(ctx, bands, view, {0, 0, 160, 160}, 160, 0);
  EXPECT_FALSE(fresh.reprojected());
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  const auto pa = a.read_rgba8(), pb = b.read_rgba8();
  int differ = 0;
  for (size_t k = 0; k < pa.size(); k += 4)
    if (std::memcmp(&pa[k], &pb[k], 3) != 0 && ++differ <= 5)
      ADD_FAILURE() << "pixel (" << (k / 4) % 160 << ", " << (k / 4) / 160 << "): panned " << int(pa[k]) << "," << int(pa[k + 1]) << ","
                    << int(pa[k + 2]) << " fresh " << int(pb[k]) << "," << int(pb[k + 1]) << "," << int(pb[k + 2]);
  EXPECT_EQ(differ, 0);
}

// A wheel zoom shows the last picture scaled (cheap), and the first draw without `preview`
// samples the new view: the same picture as a fresh render.
TEST(MatrixView, ZoomPreviewThenTheRealPicture) {
  FMALENS_REQUIRE_GL();
  auto& ctx = test::GlTestContext::get().render();
  const Snapshot snap = make_synthetic_snapshot(causal_spec(1024, 16, 4));
  BandTextures bands;
  bands.upload(make_band_data(snap, 0, -1));
  MatrixView view = MatrixView::fit(1024, 128, 128);
  OffscreenTarget a, b;
  a.resize(128, 128);
  b.resize(128, 128);
  MatrixRenderer zooming, fresh;
  a.bind();
  EXPECT_TRUE(zooming.draw(ctx, bands, view, {0, 0, 128, 128}, 128, 0, true));  // nothing to scale yet: a real picture
  EXPECT_FALSE(zooming.previewed());
  for (double factor : {1.25, 1.25, 0.8}) {
    view = view.zoomed(factor, 40, 70);
    EXPECT_FALSE(zooming.draw(ctx, bands, view, {0, 0, 128, 128}, 128, 0, true));
    EXPECT_TRUE(zooming.previewed());
  }
  EXPECT_TRUE(zooming.draw(ctx, bands, view, {0, 0, 128, 128}, 128, 0, false));
  EXPECT_FALSE(zooming.previewed());
  b.bind();
  fresh.draw(ctx, bands, view, {0, 0, 128, 128}, 128, 0);
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  EXPECT_EQ(a.read_rgba8(), b.read_rgba8());
}

// The two-dimensional layout (Z order and row-major axes) against the CPU, cell by cell.
TEST(MatrixView, GridLayoutsMatchTheCpu) {
  FMALENS_REQUIRE_GL();
  for (bool z : {true, false}) {
    const SyntheticSpec spec = SyntheticSpec::grid(16, 1, 1);
    Rendered r;
    MatrixView view = plain_view(256, 256);
    view.z_order = z;
    render(&r, spec, view, 256, 256, 0);
    const Layout layout(r.snap.attention);
    int wrong = 0;
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < 256; ++b) {
        int64_t i = a, t = b;
        if (z) {
          int64_t y, x;
          Layout::unmorton(a, &y, &x);
          i = y * 16 + x;
          Layout::unmorton(b, &y, &x);
          t = y * 16 + x;
        }
        int level = -1;
        const float v = implied_value(r.data, layout, i, t, &level);
        if (!near(r.at(b, a), expected_colour(view, r.bands, v)) && ++wrong <= 3)
          ADD_FAILURE() << (z ? "Z order" : "row-major") << " cell (" << a << ", " << b << ")";
      }
    EXPECT_EQ(wrong, 0);
  }
}

// The CPU's reading of the bands (what the shaders mirror) equals the core's implied matrix.
TEST(BandData, ImpliedValuesEqualTheCoresImpliedRows) {
  for (Variant v : {Variant::causal, Variant::bidirectional}) {
    SyntheticSpec spec = causal_spec(128, 8, 2);
    spec.variant = v;
    spec.tokens = v == Variant::causal ? 100 : 0;  // a padded causal input too
    const Snapshot snap = make_synthetic_snapshot(spec);
    const BandData data = make_band_data(snap, 0, 1);
    const Layout layout(snap.attention);
    const Array rows = implied_attention_rows(snap, 0, 1, 0, snap.tokens);
    for (int64_t i = 0; i < snap.tokens; ++i)
      for (int64_t t = 0; t < snap.tokens; ++t)
        ASSERT_NEAR(implied_value(data, layout, i, t, nullptr), rows.at(i, t), 1e-6) << "cell " << i << ", " << t;
  }
}

// `fmalens bench`'s frame rows: every phase is timed, and does the work it stands for: each
// zoom frame resamples the whole view, each pan frame shifts the picture and samples only the
// strips that came into view, a still frame samples nothing (what happened, not how long it
// took: timings on a loaded machine are noise).
TEST(MatrixFrameBench, PhasesAreTimedAndDoTheirWork) {
  FMALENS_REQUIRE_GL();
  const int frames = 4;
  const MatrixFrameTimes t = time_matrix_frames(1024, 256, 256, frames);
  EXPECT_GT(t.zoom_ms, 0);
  EXPECT_GT(t.pan_ms, 0);
  EXPECT_GT(t.still_ms, 0);
  EXPECT_GE(t.zoom_work.full_passes, frames);
  EXPECT_EQ(t.zoom_work.reprojections, 0);
  EXPECT_EQ(t.pan_work.reprojections, frames);
  EXPECT_EQ(t.pan_work.full_passes, 0);
  EXPECT_GT(t.pan_work.strip_passes, 0);
  EXPECT_EQ(t.still_work.full_passes + t.still_work.strip_passes + t.still_work.reprojections, 0);
  EXPECT_FALSE(t.gl.empty());
  EXPECT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR));
}

}  // namespace
}  // namespace fmalens::render
