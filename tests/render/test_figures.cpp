// The other views' figures, drawn offscreen from synthetic snapshots, checked at known pixels:
// level bars as long as the masses, the row strip, the weights heatmap of average pooling,
// region maps with the query framed and coarse cells uniform, text backgrounds that stop at the
// query (causal), the compare heatmaps, and the loss curve.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstring>

#include "fmalens/layout.h"
#include "gl_test_context.h"
#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/compare_figure.h"
#include "render/figure_common.h"
#include "render/figure_export.h"
#include "render/levels_figure.h"
#include "render/matrix_renderer.h"
#include "render/model_figure.h"
#include "render/pair_figure.h"
#include "render/region_figure.h"
#include "render/synthetic_snapshot.h"
#include "render/text_figure.h"
#include "render/weights_figure.h"

namespace fmalens::render {
namespace {

constexpr int W = 480, H = 320;

// A cleared target, read back after the test draws into it.
struct Picture {
  OffscreenTarget target;
  std::vector<uint8_t> px;
  Picture() {
    target.resize(W, H);
    target.bind();
    glClearColor(kFigureBackground.r, kFigureBackground.g, kFigureBackground.b, 1);
    glClear(GL_COLOR_BUFFER_BIT);
  }
  void read() {
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    px = target.read_rgba8();
  }
  const uint8_t* at(float x, float y) const {
    return &px[(static_cast<size_t>(y) * W + static_cast<size_t>(x)) * 4];
  }
  bool background(float x, float y) const {
    const uint8_t* p = at(x, y);
    return std::abs(p[0] - 23) <= 1 && std::abs(p[1] - 23) <= 1 && std::abs(p[2] - 26) <= 1;
  }
  bool near(float x, float y, Color c, int tolerance = 4) const {
    const uint8_t* p = at(x, y);
    return std::abs(p[0] - c.r * 255) <= tolerance && std::abs(p[1] - c.g * 255) <= tolerance && std::abs(p[2] - c.b * 255) <= tolerance;
  }
  // Pixels that differ from the background: a blank picture has none.
  int drawn() const {
    int count = 0;
    for (size_t k = 0; k < px.size(); k += 4) count += (px[k] != 23 || px[k + 1] != 23 || px[k + 2] != 26);
    return count;
  }
};

// The text figure over the whole picture, read back.
void draw_text_into(Picture& pic, const TextFigure& fig, const TextLayout& layout) {
  Canvas canvas;
  draw_text_figure(test::GlTestContext::get().render(), fig, layout, PixelRect{0, 0, W, H}, W, H, &canvas);
  pic.read();
}

SyntheticSpec spec_1d() { return SyntheticSpec::sequence(Variant::causal, 512, 16, 4, 1, 2); }

TEST(LevelsFigure, BarsFollowTheMassAndTheStripTheRow) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(spec_1d());
  const Layout layout(snap.attention);
  const BandData data = make_band_data(snap, 0, -1);
  LevelsFigure fig;
  fig.query = 400;
  fig.mass = row_level_mass(snap, 0, -1, fig.query);
  fig.names = level_names(layout);
  implied_row(data, layout, fig.query, &fig.row, &fig.row_levels);
  fig.colours.hi = data.max_value();
  fig.colours.lo = fig.colours.hi * 1e-4f;
  double total = 0;
  for (double m : fig.mass) total += m;
  EXPECT_NEAR(total, 1.0, 1e-4);  // mask boundary: a row sums to one
  Picture pic;
  Canvas canvas;
  draw_levels_figure(test::GlTestContext::get().render(), fig, {0, 0, W, H}, W, H, &canvas);
  pic.read();
  const LevelsFigureLayout lay = levels_figure_layout({0, 0, W, H}, fig.mass.size(), fig.font_px);
  for (size_t l = 0; l < fig.mass.size(); ++l) {
    const float y = lay.bars.y + lay.bar_height * (static_cast<float>(l) + 0.5f);
    const float end = lay.bars.x + lay.bars.w * static_cast<float>(fig.mass[l]);
    const Color tint = to_color(level_tint(static_cast<int>(l)));
    if (fig.mass[l] > 0.02) {
      EXPECT_TRUE(pic.near(lay.bars.x + 1, y, tint)) << "bar of level " << l << " does not start tinted";
    }
    if (end + 3 < lay.bars.x + lay.bars.w) {
      EXPECT_FALSE(pic.near(end + 3, y, tint)) << "bar of level " << l << " too long";
    }
  }
  // The level strip: the key at the strip's left end is served by the top level, the query's
  // neighbourhood by the fine level; the causal future is empty.
  const float sy = lay.level_strip.y + 1;
  const float qx = lay.level_strip.x + (fig.query - 0.5f) / 512.0f * lay.level_strip.w;
  EXPECT_TRUE(pic.near(qx - 1, sy, to_color(level_tint(0))));
  EXPECT_TRUE(pic.background(lay.level_strip.x + lay.level_strip.w - 2, sy));
  EXPECT_FALSE(canvas.labels().empty());
}

TEST(WeightsFigure, AveragePoolingShowsAsSegments) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(spec_1d());
  WeightsFigure fig;
  fig.set(snap.downsampling[0][1], 2);  // level 2: w = 32, p = 4: segments of 8 positions
  const auto curves = basis_curves(fig.keys());
  ASSERT_EQ(curves.size(), 4u);
  EXPECT_FLOAT_EQ(curves[1].mean[8], 1.0f / 8);
  EXPECT_FLOAT_EQ(curves[1].mean[0], 0.0f);
  EXPECT_FLOAT_EQ(curves[1].stddev[9], 0.0f);
  Picture pic;
  Canvas canvas;
  fig.draw(test::GlTestContext::get().render(), {0, 0, W, H}, W, H, 13, &canvas);
  pic.read();
  const WeightsFigureLayout lay = fig.layout({0, 0, W, H}, 13);
  // Rows of summary 1 (the second quarter of the heatmap): red over positions 8..15, the
  // diverging map's neutral grey elsewhere.
  const PixelRect& hm = lay.heatmap[0];
  const float y = hm.y + hm.h * 0.375f, inside = hm.x + hm.w * (12.0f / 32), outside = hm.x + hm.w * (24.0f / 32);
  const Rgb red = colormap_rgb(Colormap::diverging, 1.0f), grey = colormap_rgb(Colormap::diverging, 0.5f);
  EXPECT_TRUE(pic.near(inside, y, to_color(red), 6));
  EXPECT_TRUE(pic.near(outside, y, to_color(grey), 6));
}

// 2D with r 1: level 1 summarises one patch (width 1), where a curve has no length; each summary
// is drawn as a marker at its mean instead of nothing.
TEST(WeightsFigure, WidthOneLevelDrawsAMarkerPerSummary) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(SyntheticSpec::grid(16, 1, 1));
  const LevelWeights& level1 = snap.downsampling[0][0];
  ASSERT_EQ(level1.keys.dim(2), 1);
  WeightsFigure fig;
  fig.set(level1, 1);
  Canvas canvas;
  fig.draw(test::GlTestContext::get().render(), {0, 0, W, H}, W, H, 13, &canvas);
  const WeightsFigureLayout lay = fig.layout({0, 0, W, H}, 13);
  for (const PixelRect& cr : lay.curves) {
    int markers = 0;
    for (const Shape& shape : canvas.shapes())
      if (shape.kind == Shape::Kind::fill_rect && shape.points[0].x > cr.x && shape.points[1].x < cr.x + cr.w &&
          shape.points[0].y >= cr.y - 13 && shape.points[1].y <= cr.y + cr.h + 13)
        ++markers;
    EXPECT_EQ(markers, level1.keys.dim(0));
  }
}

TEST(RegionFigure, QueryFramedCoarseCellsUniform) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(SyntheticSpec::grid(16, 2, 1));
  BandTextures bands;
  bands.upload(make_band_data(snap, 0, 0));
  RegionRenderer regions;
  regions.set_image(snap.image);
  RegionFigure fig;
  fig.query = 5 * 16 + 6;  // patch (5, 6)
  fig.colours.hi = bands.max_value();
  fig.colours.lo = fig.colours.hi * 1e-4f;
  fig.opacity = 1;  // colours of the weights only
  fig.scores = top_classes(snap, 3);
  ASSERT_EQ(fig.scores.size(), 3u);
  EXPECT_EQ(fig.scores[0].name, "Sneaker");
  Picture pic;
  Canvas canvas;
  regions.draw(test::GlTestContext::get().render(), bands, fig, {0, 0, W, H}, W, H, &canvas);
  pic.read();
  const RegionFigureLayout lay = regions.layout({0, 0, W, H}, bands.levels(), 13);
  const float patch = lay.map.w / 16.0f;
  // The query patch's frame is red.
  EXPECT_TRUE(pic.near(lay.map.x + 6 * patch + 0.5f, lay.map.y + 5.5f * patch, {1, 0.25f, 0.25f, 1}, 8));
  // Patches (12..15, 12..15) lie in one level-2 cell of side 4 (coarse, far from the query):
  // one colour inside, away from the outlines.
  const uint8_t* ref = pic.at(lay.map.x + 12.5f * patch, lay.map.y + 12.5f * patch);
  for (float py = 12.3f; py < 15.8f; py += 0.5f)
    for (float px = 12.3f; px < 15.8f; px += 0.5f) {
      const float x = lay.map.x + px * patch, y = lay.map.y + py * patch;
      const float fx = std::fmod(px - 12, 4.0f), fy = std::fmod(py - 12, 4.0f);
      if (std::min({fx, 4 - fx, fy, 4 - fy}) * patch < 2) continue;  // the cell's outline
      ASSERT_EQ(std::memcmp(pic.at(x, y), ref, 3), 0) << "coarse cell not uniform at patch " << px << ", " << py;
    }
  EXPECT_EQ(lay.level_maps.size(), static_cast<size_t>(bands.levels()));
}

TEST(TextFigure, WeightsUnderTheBytesUpToTheQuery) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(spec_1d());
  const Layout layout(snap.attention);
  const BandData data = make_band_data(snap, 0, -1);
  TextFigure fig;
  fig.text = &snap.text;
  fig.query = 100;
  implied_row(data, layout, fig.query, &fig.row, &fig.row_levels);
  fig.predictions = predictions(snap, fig.query, 3);
  ASSERT_EQ(fig.predictions.size(), 3u);
  EXPECT_EQ(fig.predictions[0].id, static_cast<int64_t>(static_cast<unsigned char>(snap.text[101])));  // the synthetic logits favour the next byte
  fig.colours.hi = data.max_value();
  fig.colours.lo = fig.colours.hi * 1e-4f;
  const TextLayout text_layout = layout_text(snap.text, 40);
  const PixelRect rect{0, 0, W, H};
  Picture pic;
  draw_text_into(pic, fig, text_layout);
  auto cell = [&](int64_t b, float* x, float* y) {
    const int64_t line = text_layout.line_of(b);
    *x = (static_cast<float>(b - text_layout.line_start[static_cast<size_t>(line)]) + 0.5f) * fig.cell_w;
    *y = text_header_height(fig) + static_cast<float>(line) * fig.cell_h + 1;
  };
  float x, y;
  cell(fig.query - 1, &x, &y);  // the byte before the query: fine level, a strong weight
  EXPECT_FALSE(pic.background(x, y));
  EXPECT_EQ(text_hit(fig, text_layout, rect, x, y), fig.query - 1);
  cell(fig.query + 5, &x, &y);  // after the query: the causal future, no background
  EXPECT_TRUE(pic.background(x, y));
  cell(0, &x, &y);
  // The level's underline (dashed for coarse levels): lit somewhere along the cell.
  bool underline = false;
  for (float ux = x - fig.cell_w * 0.5f + 0.5f; ux < x + fig.cell_w * 0.5f; ux += 1) underline = underline || !pic.background(ux, y + fig.cell_h - 3.5f);
  EXPECT_TRUE(underline) << "no level underline";
}

// Rows of models without bands (dense, elu_linear) from the run's queries and keys: softmax of
// q.k / sqrt(d), or phi(q).phi(k) normalised (phi = elu + 1), over the keys a causal row sees;
// head -1 is the mean of the heads' rows; the text view is available for both.
TEST(QkRows, DenseAndEluLinearRowsFollowTheirDefinitions) {
  Snapshot snap;
  snap.config.kind = ModelKind::text;
  snap.config.attention.variant = Variant::causal;
  snap.tokens = 5;
  LayerSnapshot layer;
  const int64_t heads = 2, n = 5, d = 3;
  layer.q.shape = layer.k.shape = {heads, n, d};
  for (int64_t x = 0; x < heads * n * d; ++x) {
    layer.q.data.push_back(static_cast<float>(std::sin(0.7 * static_cast<double>(x))));
    layer.k.data.push_back(static_cast<float>(std::cos(1.3 * static_cast<double>(x))));
  }
  snap.layers.push_back(layer);
  auto expected = [&](bool linear, int64_t h, int64_t i, int64_t j) {
    auto phi = [](double x) { return x > 0 ? x + 1 : std::exp(x); };
    auto score = [&](int64_t jj) {
      double dot = 0;
      for (int64_t c = 0; c < d; ++c)
        dot += linear ? phi(layer.q.at(h, i, c)) * phi(layer.k.at(h, jj, c)) : static_cast<double>(layer.q.at(h, i, c)) * layer.k.at(h, jj, c);
      return linear ? dot : std::exp(dot / std::sqrt(static_cast<double>(d)));
    };
    double total = 0;
    for (int64_t jj = 0; jj <= i; ++jj) total += score(jj);
    return j <= i ? score(j) / total : 0.0;
  };
  for (AttentionKind kind : {AttentionKind::dense, AttentionKind::elu_linear}) {
    snap.config.attention_kind = kind;
    ASSERT_TRUE(has_qk_rows(snap));
    EXPECT_TRUE(has_text_and_rows(snap));
    std::vector<float> row;
    std::vector<int> levels;
    qk_attention_row(snap, 0, 1, 3, &row, &levels);
    ASSERT_EQ(row.size(), 5u);
    for (int64_t j = 0; j < 5; ++j) {
      EXPECT_NEAR(row[static_cast<size_t>(j)], expected(kind == AttentionKind::elu_linear, 1, 3, j), 1e-6) << j;
      EXPECT_EQ(levels[static_cast<size_t>(j)], j <= 3 ? 0 : -1);
    }
    qk_attention_row(snap, 0, -1, 2, &row, &levels);  // the mean of the heads
    for (int64_t j = 0; j < 5; ++j)
      EXPECT_NEAR(row[static_cast<size_t>(j)],
                  0.5 * (expected(kind == AttentionKind::elu_linear, 0, 2, j) + expected(kind == AttentionKind::elu_linear, 1, 2, j)), 1e-6);
    EXPECT_THROW(qk_attention_row(snap, 0, 2, 0, &row, &levels), Error);  // no head 2
    EXPECT_THROW(qk_attention_row(snap, 1, 0, 0, &row, &levels), Error);  // no layer 1
  }
  snap.config.attention_kind = AttentionKind::fma;  // FMA rows come from bands, not from q and k
  EXPECT_FALSE(has_qk_rows(snap));
}

// Levels differ by more than colour: fine is solid, the next four coarse levels have four
// different dash patterns, and the runs cover exactly the pattern's lit pixels.
TEST(LevelPattern, EachLevelHasItsOwnDashes) {
  std::vector<std::string> seen;
  for (int level = 0; level < 5; ++level) {
    std::string bits;
    for (int x = 0; x < 48; ++x) bits += level_pattern(level, x) ? '#' : '.';
    if (level == 0) EXPECT_EQ(bits, std::string(48, '#'));
    else EXPECT_NE(bits.find('.'), std::string::npos) << "level " << level;
    EXPECT_EQ(std::find(seen.begin(), seen.end(), bits), seen.end()) << "level " << level << " looks like another";
    seen.push_back(bits);
    int lit = 0;
    for (const auto& [a, b] : level_dash_runs(level, 0, 48)) {
      for (int x = a; x < b; ++x) EXPECT_EQ(bits[static_cast<size_t>(x)], '#');
      lit += b - a;
    }
    EXPECT_EQ(lit, static_cast<int>(std::count(bits.begin(), bits.end(), '#')));
  }
}

// Tokenized text (a BPE, a char map): every byte of a token shows the token's weight, the
// query's token is framed whole, a token's first byte is marked, and a click finds the token.
TEST(TextFigure, TokenizedTextColoursAndFramesWholeTokens) {
  FMALENS_REQUIRE_GL();
  Snapshot snap;
  snap.config.kind = ModelKind::text;
  snap.text = "The quick fox";
  snap.tokens = 4;
  snap.token_spans = {{0, 3}, {3, 9}, {9, 10}, {10, 13}};  // "The", " quick", " ", "fox"
  snap.token_ids = {10, 11, 12, 13};
  TextFigure fig;
  set_text_source(fig, snap);
  ASSERT_EQ(fig.tokens, &snap);
  fig.row = {0.2f, 0.9f, 0.0f, 0.0f};
  fig.row_levels = {0, 1, -1, -1};
  fig.query = 1;
  fig.colours.hi = 1;
  fig.colours.lo = 1e-3f;
  const TextLayout text_layout = layout_text(snap.text, 40);
  const PixelRect rect{0, 0, W, H};
  Picture pic;
  draw_text_into(pic, fig, text_layout);
  const auto cell_x = [&](int64_t b) { return (static_cast<float>(b) + 0.5f) * fig.cell_w; };
  const float mid = fig.cell_h * 0.5f, top = 0.5f;
  const Color red{1, 0.25f, 0.25f, 1};
  for (int64_t b = 3; b < 9; ++b) {  // " quick": one weight, one frame
    EXPECT_TRUE(pic.near(cell_x(b), top, red, 40)) << "byte " << b << " of the query's token is not framed";
    EXPECT_EQ(token_at(fig, b), 1);
    EXPECT_EQ(text_hit(fig, text_layout, rect, cell_x(b), mid), b);
  }
  EXPECT_FALSE(pic.near(cell_x(1), top, red, 40)) << "a byte of another token is framed";
  EXPECT_FALSE(pic.near(cell_x(9), top, red, 40));
  // The weight of token 0 under all its bytes; none under the tokens after the query.
  const uint8_t* first = pic.at(cell_x(0) + fig.cell_w * 0.3f, fig.cell_h - 5);
  const uint8_t* last = pic.at(cell_x(2) + fig.cell_w * 0.3f, fig.cell_h - 5);
  EXPECT_FALSE(pic.background(cell_x(0) + fig.cell_w * 0.3f, fig.cell_h - 5));
  EXPECT_TRUE(std::equal(first, first + 3, last));
  EXPECT_TRUE(pic.background(cell_x(11) + fig.cell_w * 0.3f, fig.cell_h - 5));
  // Predictions are labelled from the vocabulary: bytes when the snapshot has no tokenizer.
  EXPECT_EQ(vocabulary_label(snap, 'x'), "x");
  EXPECT_EQ(text_token_label(snap, 1), " quick");
  snap.text[4] = '\n';
  EXPECT_EQ(text_token_label(snap, 1), " \\nuick");
}

TEST(PairFigure, BothModelsRowsAndMassesLevelByLevel) {
  FMALENS_REQUIRE_GL();
  const Snapshot a = make_synthetic_snapshot(SyntheticSpec::sequence(Variant::causal, 256, 16, 2, 1, 2));
  SyntheticSpec spec_b = SyntheticSpec::sequence(Variant::causal, 256, 16, 2, 1, 2);
  spec_b.seed = 9;
  const Snapshot b = make_synthetic_snapshot(spec_b);
  const int64_t query = 200;
  const PairFigure fig = make_pair_figure(a, "fma", b, "twin", 0, 1, query, Colormap::viridis, true, 4, 13);
  const std::vector<double> ma = row_level_mass(a, 0, 1, query), mb = row_level_mass(b, 0, 1, query);
  ASSERT_EQ(fig.level_rows.size(), ma.size());  // the same layout: one row per level, both models on it
  for (size_t l = 0; l < ma.size(); ++l) {
    EXPECT_DOUBLE_EQ(fig.level_rows[l].a, ma[l]);
    EXPECT_DOUBLE_EQ(fig.level_rows[l].b, mb[l]);
  }
  std::vector<float> row_b;
  implied_row(make_band_data(b, 0, 1), Layout(b.attention), query, &row_b, nullptr);
  EXPECT_EQ(fig.b.row, row_b);
  EXPECT_NE(fig.a.row, fig.b.row);
  // A twin without levels (dense: rows from its queries and keys) gets a row of its own.
  Snapshot dense = b;
  dense.config.attention_kind = AttentionKind::dense;
  for (auto& layer : dense.layers) layer.bands.clear();
  const PairFigure mixed = make_pair_figure(a, "fma", dense, "dense", 0, -1, query, Colormap::viridis, true, 4, 13);
  ASSERT_EQ(mixed.level_rows.size(), ma.size() + 1);
  EXPECT_EQ(mixed.level_rows.back().name, "all keys");
  EXPECT_EQ(mixed.level_rows.back().a, -1);
  EXPECT_NEAR(mixed.level_rows.back().b, 1.0, 1e-5);
  EXPECT_EQ(mixed.level_rows[0].b, -1);
  EXPECT_EQ(mixed.b.kind, "dense");
  // Different tokens, or a selection outside a model: one line naming it.
  const Snapshot shorter = make_synthetic_snapshot(SyntheticSpec::sequence(Variant::causal, 128, 16, 2, 1, 2));
  EXPECT_THROW(make_pair_figure(a, "fma", shorter, "short", 0, -1, 10, Colormap::viridis, true, 4, 13), Error);
  try {
    make_pair_figure(a, "fma", b, "twin", 3, -1, query, Colormap::viridis, true, 4, 13);
    FAIL() << "layer 3 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model fma: layer 3 out of range"), std::string::npos) << e.what();
  }
  // Drawn: both rows and the bars leave pixels.
  Picture pic;
  Canvas canvas;
  draw_pair_figure(test::GlTestContext::get().render(), fig, PixelRect{0, 0, W, H}, W, H, &canvas);
  pic.read();
  const PairFigureLayout lay = pair_figure_layout(fig, PixelRect{0, 0, W, H});
  for (const PixelRect& r : lay.rows) EXPECT_FALSE(pic.background(r.x + r.w - 3, r.y + r.h / 2));
  EXPECT_FALSE(pic.background(lay.bars.x + 1, lay.bars.y + 4));
}

TEST(CompareFigure, ExactFmaAndDifference) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(spec_1d());
  const auto rows = spread_rows(0, 512, 16);
  ASSERT_EQ(rows.size(), 16u);
  const CompareData d = compute_compare(snap, 0, -1, rows, 0, 512, 128);
  EXPECT_EQ(d.columns, 128);
  EXPECT_GT(d.max_value, 0);
  for (double tv : d.total_variation) {
    EXPECT_GE(tv, 0);
    EXPECT_LE(tv, 1 + 1e-6);
  }
  // Cell by cell, for one head: "exact" is the pooled exact softmax rows (exact_attention_rows,
  // itself checked against LibTorch's softmax in the unit tests), "FMA" the pooled implied rows,
  // the difference the signed largest FMA - exact of the pooled cells, and the total variation
  // half the L1 distance of the whole rows.
  const CompareData one = compute_compare(snap, 0, 1, rows, 64, 448, 96);
  const int64_t span = one.c1 - one.c0;
  ASSERT_EQ(one.c0, 64);
  ASSERT_EQ(one.c1, 448);
  for (size_t r = 0; r < rows.size(); ++r) {
    const Array e = exact_attention_rows(snap, 0, 1, rows[r], rows[r] + 1);
    const Array f = implied_attention_rows(snap, 0, 1, rows[r], rows[r] + 1);
    double tv = 0;
    for (size_t t = 0; t < e.data.size(); ++t) tv += std::abs(static_cast<double>(f.data[t]) - e.data[t]);
    EXPECT_NEAR(one.total_variation[r], 0.5 * tv, 1e-6) << "row " << rows[r];
    for (int c = 0; c < one.columns; ++c) {
      const int64_t a = one.c0 + span * c / one.columns, b = std::max(a + 1, one.c0 + span * (c + 1) / one.columns);
      float me = 0, mf = 0, md = 0;
      for (int64_t t = a; t < b; ++t) {
        me = std::max(me, e.data[static_cast<size_t>(t)]);
        mf = std::max(mf, f.data[static_cast<size_t>(t)]);
        const float diff = f.data[static_cast<size_t>(t)] - e.data[static_cast<size_t>(t)];
        if (std::abs(diff) > std::abs(md)) md = diff;
      }
      const size_t at = r * static_cast<size_t>(one.columns) + static_cast<size_t>(c);
      ASSERT_EQ(one.exact[at], me) << "row " << rows[r] << " column " << c;
      ASSERT_EQ(one.fma[at], mf) << "row " << rows[r] << " column " << c;
      ASSERT_EQ(one.diff[at], md) << "row " << rows[r] << " column " << c;
    }
  }
  CompareFigure fig;
  fig.set(d);
  Picture pic;
  Canvas canvas;
  fig.draw(test::GlTestContext::get().render(), Colormap::viridis, true, 4, {0, 0, W, H}, W, H, 13, &canvas);
  pic.read();
  PixelRect boxes[3];
  fig.layout({0, 0, W, H}, 13, boxes);
  for (const PixelRect& b : boxes) {
    int drawn = 0;
    for (int y = b.y + 1; y < b.y + b.h - 1; y += 3)
      for (int x = b.x + 1; x < b.x + b.w - 1; x += 3) drawn += !pic.background(static_cast<float>(x), static_cast<float>(y));
    EXPECT_GT(drawn, 20) << "an empty heatmap";
  }
}

TEST(ModelFigure, LossCurveIsDrawn) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = make_synthetic_snapshot(spec_1d());
  const ModelInfo info = make_synthetic_model_info(snap);
  const LossCurve curve = parse_loss_curve(info.training_json);
  ASSERT_EQ(curve.step.size(), 21u);
  EXPECT_EQ(curve.val.size(), 5u);
  EXPECT_TRUE(parse_loss_curve("not json").empty());
  EXPECT_TRUE(parse_loss_curve("{\"loss_curve\": 3}").empty());
  Picture pic;
  Canvas canvas;
  draw_loss_curve(test::GlTestContext::get().render(), curve, {0, 0, W, H}, W, H, 13, &canvas);
  pic.read();
  int blue = 0;
  for (size_t k = 0; k < pic.px.size(); k += 4) blue += pic.px[k + 2] > 200 && pic.px[k] < 140;
  EXPECT_GT(blue, 200) << "no training curve";
}

TEST(FigureHelpers, TicksNumbersAndPooling) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(format_number(0.0123), "0.0123");
  EXPECT_EQ(format_number(16384), "16384");
  EXPECT_EQ(format_percent(0.1234), "12.3%");
  EXPECT_EQ(byte_label('\n'), "\\n");
  EXPECT_EQ(byte_label(0xC3), "\\xC3");
  EXPECT_EQ(pool_max({1, 5, 2, 0, 0, 7}, 3), (std::vector<float>{5, 2, 7}));
  const TextLayout l = layout_text("ab\ncdefg", 3);
  EXPECT_EQ(l.line_start, (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(l.line_of(4), 1);
}

}  // namespace
}  // namespace fmalens::render
