// The GLSL band layout (shaders/locate.glsl) against Layout::locate: render the matrix's debug
// pass at one pixel per cell, read back (level, first slot) of every cell and compare.
#include <gtest/gtest.h>

#include "fmalens/layout.h"
#include "gl_test_context.h"
#include "render/band_textures.h"
#include "render/matrix_renderer.h"
#include "render/synthetic_snapshot.h"

namespace fmalens::render {
namespace {

struct LocateCase {
  const char* name;
  SyntheticSpec spec;
};

SyntheticSpec spec_1d(Variant v, int64_t n, int64_t m, int64_t p, Boundary b = Boundary::mask) {
  SyntheticSpec s = SyntheticSpec::sequence(v, n, m, p);
  s.boundary = b;
  s.head_dim = 4;
  return s;
}

SyntheticSpec spec_2d(int64_t side, int64_t r, int64_t p) { return SyntheticSpec::grid(side, r, p); }

void PrintTo(const LocateCase& c, std::ostream* os) { *os << c.name; }

class LocateShader : public ::testing::TestWithParam<LocateCase> {};

TEST_P(LocateShader, MatchesLayoutLocateInEveryCell) {
  FMALENS_REQUIRE_GL();
  const SyntheticSpec& spec = GetParam().spec;
  const Snapshot snap = make_synthetic_snapshot(spec);
  const Layout layout(snap.attention);
  BandTextures bands;
  bands.upload(make_band_data(snap, 0, 0));
  const int n = static_cast<int>(snap.tokens);
  MatrixView view = MatrixView::fit(n, n, n);
  view.z_order = false;  // token order on both axes: compare with locate directly
  OffscreenTarget out(TargetFormat::rgba32f);
  out.resize(n, n);
  MatrixRenderer renderer;
  renderer.draw_locate_debug(test::GlTestContext::get().render(), bands, view, out);
  const std::vector<float> px = out.read_rgba32f();
  int mismatches = 0;
  for (int i = 0; i < n; ++i)
    for (int t = 0; t < n; ++t) {
      const float* c = &px[(static_cast<size_t>(i) * n + t) * 4];
      ASSERT_EQ(static_cast<int>(c[2]), i) << "pixel row " << i << " does not map to query " << i;
      ASSERT_EQ(static_cast<int>(c[3]), t);
      int64_t slot = -1;
      const int level = layout.locate(i, t, &slot);
      const int gl_level = static_cast<int>(c[0]);
      if (gl_level != level || (level >= 0 && static_cast<int64_t>(c[1]) != slot)) {
        if (++mismatches <= 5)
          ADD_FAILURE() << GetParam().name << ": cell (i=" << i << ", t=" << t << ") GLSL level " << gl_level << " slot " << c[1]
                        << ", Layout level " << level << " slot " << slot;
      }
    }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, LocateShader,
    ::testing::Values(LocateCase{"causal_n64_m4_p2", spec_1d(Variant::causal, 64, 4, 2)},
                      LocateCase{"causal_n128_m8_p1", spec_1d(Variant::causal, 128, 8, 1)},
                      LocateCase{"causal_n32_m16_fine_only", spec_1d(Variant::causal, 32, 16, 2)},
                      LocateCase{"causal_zero_pad_n64_m4_p4", spec_1d(Variant::causal, 64, 4, 4, Boundary::zero_pad)},
                      LocateCase{"bidirectional_n64_m4_p2", spec_1d(Variant::bidirectional, 64, 4, 2)},
                      LocateCase{"bidirectional_n128_m8_p4", spec_1d(Variant::bidirectional, 128, 8, 4)},
                      LocateCase{"grid_8_r1_p1", spec_2d(8, 1, 1)},
                      LocateCase{"grid_16_r4_p2", spec_2d(16, 4, 2)},
                      LocateCase{"grid_16_r2_p1", spec_2d(16, 2, 1)},
                      LocateCase{"grid_32_r2_p4", spec_2d(32, 2, 4)}),
    [](const ::testing::TestParamInfo<LocateCase>& info) { return std::string(info.param.name); });

// Rows wrapped into tiles (as past GL_MAX_TEXTURE_SIZE) draw the same image as one tile.
TEST(BandTextures, TiledRowsDrawTheSameMatrix) {
  FMALENS_REQUIRE_GL();
  auto& ctx = test::GlTestContext::get().render();
  const Snapshot snap = make_synthetic_snapshot(spec_1d(Variant::causal, 256, 8, 2));
  const BandData data = make_band_data(snap, 0, -1);
  BandTextures whole, tiled;
  whole.upload(data);
  tiled.upload(data, 48);
  EXPECT_EQ(whole.tiles(), 1);
  EXPECT_EQ(tiled.tiles(), 6);
  OffscreenTarget a, b;
  a.resize(256, 256);
  b.resize(256, 256);
  const MatrixView view = MatrixView::fit(256, 256, 256);
  MatrixRenderer ra, rb;
  a.bind();
  ra.draw(ctx, whole, view, {0, 0, 256, 256}, 256);
  b.bind();
  rb.draw(ctx, tiled, view, {0, 0, 256, 256}, 256);
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  EXPECT_EQ(a.read_rgba8(), b.read_rgba8());
}

}  // namespace
}  // namespace fmalens::render
