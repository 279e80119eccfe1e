// `fmalens export` run as a user would, with DISPLAY unset (EGL): PNG files decode to the
// requested size and match the GUI's offscreen render of the same view; SVG is well-formed
// XML with the figure's elements; PDF renders with poppler (pdftoppm) to a page of the
// requested size that is not blank; bad paths and views exit with 2 and write nothing.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "gl_test_context.h"
#include "png_test_util.h"
#include "gui/export_dialog.h"
#include "gui/views.h"
#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/figure_common.h"
#include "render/figure_export.h"
#include "render/gl.h"
#include "render/matrix_figure.h"
#include "render/offscreen_target.h"

namespace {

namespace fs = std::filesystem;
using namespace fmalens;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `command` through the shell with DISPLAY unset, capturing stdout and stderr.
Result shell(const std::string& command) {
  static int counter = 0;
  const fs::path base = fs::temp_directory_path() / ("fmalens_export_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string cmd = "env -u DISPLAY -u WAYLAND_DISPLAY " + command + " > " + base.string() + ".out 2> " + base.string() + ".err";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base.string() + ".out");
  r.err = slurp(base.string() + ".err");
  fs::remove(base.string() + ".out");
  fs::remove(base.string() + ".err");
  return r;
}

Result export_cmd(const std::string& args) { return shell(std::string(FMALENS_BINARY) + " export --quiet " + args); }

using fmalens::render::test_png::load_png;
using fmalens::render::test_png::Png;

class Export : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fmalens_export_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Export, PngHasTheSizeAndTheGuiRendersPixels) {
  FMALENS_REQUIRE_GL();
  const int W = 720, H = 640;
  const float f = 14;
  const Result r = export_cmd("--synthetic 1024 --view matrix --width 720 --height 640 --font-size 14 --out " + path("m.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Png png = load_png(path("m.png"));
  ASSERT_EQ(png.w, W);
  ASSERT_EQ(png.h, H);

  // The GUI's way: the matrix panel's figure function into an offscreen target, with the
  // rectangle the export gave the figure.
  const Snapshot snap = render::synthetic_export_snapshot(1024);
  render::FigureSource src;
  src.snapshot = &snap;
  render::RenderContext& ctx = test::GlTestContext::get().render();
  const render::RenderedFigure exported = render::render_figure(ctx, src, gui::view_row(gui::ViewId::matrix).figure, {}, W, H, f);
  const render::PixelRect body = exported.body;
  render::BandTextures textures;
  textures.upload(render::make_band_data(snap, 0, -1));
  render::MatrixFigure fig;
  fig.font_px = f;
  fig.text = &snap;
  const render::MatrixFigureLayout lay = render::matrix_figure_layout(body, f);
  fig.view = render::MatrixView::fit(snap.tokens, lay.matrix.w, lay.matrix.h);
  render::OffscreenTarget target;
  target.resize(W, H);
  target.bind();
  glClearColor(render::kFigureBackground.r, render::kFigureBackground.g, render::kFigureBackground.b, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  render::MatrixRenderer renderer;
  render::Canvas canvas;
  render::draw_matrix_figure(ctx, renderer, textures, fig, body, W, H, 0, &canvas);
  glFinish();
  const std::vector<uint8_t> gui = target.read_rgba8();
  glBindFramebuffer(GL_FRAMEBUFFER, 0);

  // The matrix and the colorbar: the same pixels (no labels there).
  for (const render::PixelRect& r : {lay.matrix, lay.colorbar}) {
    size_t off = 0, total = 0;
    for (int y = r.y; y < r.y + r.h; ++y)
      for (int x = r.x; x < r.x + r.w; ++x, ++total) {
        const size_t k = (static_cast<size_t>(y) * W + x) * 4;
        for (int c = 0; c < 3; ++c)
          if (std::abs(int{png.px[k + c]} - int{gui[k + c]}) > 2) {
            ++off;
            break;
          }
      }
    EXPECT_LE(off, total / 1000) << off << " of " << total << " pixels differ in the rectangle at " << r.x << "," << r.y;
  }
  // The whole picture: only the labels (drawn by Cairo over the pixels) differ.
  size_t differ = 0;
  for (size_t k = 0; k < gui.size(); k += 4)
    if (std::abs(int{png.px[k]} - int{gui[k]}) > 8 || std::abs(int{png.px[k + 1]} - int{gui[k + 1]}) > 8) ++differ;
  EXPECT_LT(differ, gui.size() / 4 / 20) << "more than 5% of the pixels differ from the GUI's render";
  EXPECT_GT(differ, 100u) << "the labels are missing";
}

TEST_F(Export, SvgIsWellFormedWithTheFiguresElements) {
  const Result r = export_cmd("--synthetic 512 --view matrix,levels --format svg --width 400 --height 300 --out " + path("svg"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* view : {"matrix", "levels"}) {
    const std::string file = path(std::string("svg/") + view + ".svg");
    ASSERT_TRUE(fs::is_regular_file(file)) << file;
    // Parsed by Python's XML parser: root <svg> sized in points; heat fields embedded as <image>;
    // shapes are paths; text is glyphs (<symbol>, <use>) Cairo embeds from the font.
    // Embedded images: the matrix and its colorbar; the levels' colorbar.
    const std::string want_images = std::string(view) == "matrix" ? "2" : "1";
    const std::string py =
        "import sys, xml.etree.ElementTree as E\n"
        "r = E.parse(sys.argv[1]).getroot()\n"
        "tags = [e.tag.split('}')[-1] for e in r.iter()]\n"
        "assert r.tag.endswith('svg'), r.tag\n"
        "assert r.get('width') == '400pt' and r.get('height') == '300pt', (r.get('width'), r.get('height'))\n"
        "assert tags.count('path') > 5, tags.count('path')\n"
        "assert tags.count('use') > 10, 'labels as glyphs'\n"
        "assert tags.count('image') == int(sys.argv[2]), tags.count('image')\n";
    std::ofstream(path("check.py")) << py;
    const Result check = shell("python3 " + path("check.py") + " " + file + " " + want_images);
    EXPECT_EQ(check.code, 0) << view << ": " << check.err;
  }
}

TEST_F(Export, PdfRendersToAPageOfTheSizeAndIsNotBlank) {
  const Result r = export_cmd("--synthetic 2048 --view matrix --width 300 --height 250 --dpi 150 --out " + path("m.pdf"));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string pdf = slurp(path("m.pdf"));
  ASSERT_EQ(pdf.rfind("%PDF-", 0), 0u);
  EXPECT_NE(pdf.find("FontFile"), std::string::npos) << "fonts embedded";
  const Result info = shell("pdfinfo " + path("m.pdf"));
  EXPECT_NE(info.out.find("300 x 250 pts"), std::string::npos) << info.out;
  const Result ppm = shell("pdftoppm -png -r 72 -singlefile " + path("m.pdf") + " " + path("page"));
  ASSERT_EQ(ppm.code, 0) << ppm.err;
  const Png page = load_png(path("page.png"));
  ASSERT_EQ(page.w, 300);
  ASSERT_EQ(page.h, 250);
  std::set<uint32_t> colours;
  size_t lit = 0;
  for (size_t k = 0; k < page.px.size(); k += 4) {
    colours.insert(uint32_t{page.px[k]} << 16 | uint32_t{page.px[k + 1]} << 8 | page.px[k + 2]);
    if (page.px[k] + page.px[k + 1] + page.px[k + 2] > 3 * 40) ++lit;
  }
  EXPECT_GT(colours.size(), 50u) << "a blank page";
  EXPECT_GT(lit, page.px.size() / 4 / 10) << "too little drawn";
}

TEST_F(Export, SeveralViewsIntoAFolderNamedByView) {
  const Result r = export_cmd("--synthetic 256 --view all --width 400 --height 300 --out " + path("all"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* view : {"matrix", "levels", "text", "compare", "model"}) {
    const Png png = load_png(path(std::string("all/") + view + ".png"));
    EXPECT_EQ(png.w, 400) << view;
    EXPECT_EQ(png.h, 300) << view;
  }
  EXPECT_FALSE(fs::exists(path("all/regions.png"))) << "a text model has no region maps";
}

TEST_F(Export, UnwritablePathsAndBadViewsExitWith2AndWriteNothing) {
  Result r = export_cmd("--synthetic 256 --view matrix --out " + path("no/such/folder/m.png"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("error: "), std::string::npos);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(path("no")));

  r = export_cmd("--synthetic 256 --view matrix --out /proc/fmalens_export_test.png");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_FALSE(fs::exists("/proc/fmalens_export_test.png"));

  // An existing file stays whole when the export fails.
  std::ofstream(path("keep.png")) << "previous contents";
  r = export_cmd("--synthetic 256 --view regions --out " + path("keep.png"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("regions"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(path("keep.png")), "previous contents");
  r = export_cmd("--synthetic 256 --view matrix --layer 7 --out " + path("keep.png"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("layer 7"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(path("keep.png")), "previous contents");
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_EQ(e.path().filename(), "keep.png") << "a temporary file was left";

  r = export_cmd("--synthetic 256 --view nosuch --out " + path("x.png"));
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(fs::exists(path("x.png")));
}

// File > Export...: the GUI's state becomes the same request `fmalens export` makes.
TEST_F(Export, TheGuisExportUsesThePanelsSettings) {
  FMALENS_REQUIRE_GL();
  gui::AppState state;
  state.snapshot = std::make_shared<const Snapshot>(render::synthetic_export_snapshot(512));
  state.layer = 1;
  state.head = 0;
  state.query = 100;
  state.weights_level = 2;
  state.matrix.colormap = render::Colormap::magma;
  state.matrix.log_scale = false;
  state.matrix.level_mask = 0b101;
  const render::FigureSettings m = gui::figure_settings(state, gui::ViewId::matrix);
  EXPECT_EQ(m.layer, 1);
  EXPECT_EQ(m.head, 0);
  EXPECT_EQ(m.query, 100);
  EXPECT_EQ(m.level, -1);
  EXPECT_EQ(m.level_mask, 0b101u);
  EXPECT_EQ(m.colormap, render::Colormap::magma);
  EXPECT_FALSE(m.log_scale);
  EXPECT_EQ(gui::figure_settings(state, gui::ViewId::weights).level, 2);
  EXPECT_EQ(gui::figure_settings(state, gui::ViewId::compare).level, -1);

  render::ExportRequest req;
  req.views = {&gui::view_row(gui::ViewId::matrix).figure};
  req.format = render::FigureFormat::png;
  req.out = path("gui.png");
  req.size.width = 500;
  req.size.height = 400;
  req.settings = m;
  render::FigureSource src;
  src.snapshot = state.snapshot.get();
  ASSERT_EQ(render::export_figures(src, req), std::vector<std::string>{path("gui.png")});
  const Png png = load_png(path("gui.png"));
  EXPECT_EQ(png.w, 500);
  EXPECT_EQ(png.h, 400);
  req.settings.layer = 9;  // errors reach the GUI's error dialog as one line
  EXPECT_THROW(render::export_figures(src, req), Error);
}

TEST_F(Export, BundledTextModelWithoutADisplay) {
  const std::string model = std::string(FMALENS_ASSETS_DIR) + "/models/text_fma.safetensors";
  if (!fs::exists(model)) GTEST_SKIP() << "no bundled text model";
  const Result r = export_cmd("--checkpoint " + model + " --text 'Fast Multipole Attention, one level per doubling.' --view text"
                              " --format pdf --out " + path("t.pdf"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Result text = shell("pdftotext " + path("t.pdf") + " -");
  EXPECT_NE(text.out.find("text_fma"), std::string::npos) << "the title names the model: " << text.out;
}

}  // namespace

namespace fmalens {
namespace {

// The window after File > Export: the export draws with its own RenderContext in the window's
// GL context; afterwards the window's next run must upload and draw as before (seen: "OpenGL
// error 0x0501 in make_float_texture" on the run after an export).
TEST_F(Export, ExportLeavesTheWindowsGlStateAsItWas) {
  FMALENS_REQUIRE_GL();
  const Snapshot snap = render::synthetic_export_snapshot(512);
  render::RenderContext& ctx = test::GlTestContext::get().render();
  const int W = 300, H = 300;
  // The window's matrix picture before the export.
  auto draw_matrix = [&] {
    render::BandTextures textures;
    textures.upload(render::make_band_data(snap, 0, -1));  // what a new run uploads
    render::MatrixFigure fig;
    fig.font_px = 12;
    const render::PixelRect body{0, 0, W, H};
    const render::MatrixFigureLayout lay = render::matrix_figure_layout(body, 12);
    fig.view = render::MatrixView::fit(snap.tokens, lay.matrix.w, lay.matrix.h);
    render::OffscreenTarget target;
    target.resize(W, H);
    target.bind();
    glClearColor(0, 0, 0, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    render::MatrixRenderer renderer;
    render::Canvas canvas;
    render::draw_matrix_figure(ctx, renderer, textures, fig, body, W, H, 0, &canvas);
    glFinish();
    std::vector<uint8_t> px = target.read_rgba8();
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    return px;
  };
  ASSERT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR));
  const std::vector<uint8_t> before = draw_matrix();
  ASSERT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR));
  // The window's program is current when the export dialog runs (a view drew with it).
  const GLuint window_program = ctx.shaders().program("quad.vert.glsl", "colorbar.frag.glsl");
  glUseProgram(window_program);
  render::FigureSource src;
  src.snapshot = &snap;
  render::ExportRequest req;
  bool all = false;
  req.views = gui::parse_view_list("all", &all);
  req.skip_unavailable = all;
  req.out = path("figures");
  for (render::FigureFormat format : {render::FigureFormat::png, render::FigureFormat::svg}) {
    req.format = format;
    ASSERT_FALSE(render::export_figures(src, req).empty());
    EXPECT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR)) << "the export left a GL error behind";
    GLint current = 0;
    glGetIntegerv(GL_CURRENT_PROGRAM, &current);
    EXPECT_EQ(static_cast<GLuint>(current), window_program) << "the export changed the current program";
    // What ImGui's OpenGL backend does at the end of the frame: save the current program,
    // draw with its own, restore the saved one. A program the export deleted while it was
    // current is gone by then, and restoring it is GL_INVALID_VALUE (the error seen).
    const GLuint other = ctx.shaders().program("canvas.vert.glsl", "canvas.frag.glsl");
    glUseProgram(other);
    glUseProgram(static_cast<GLuint>(current));
    EXPECT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR)) << "restoring the program current after the export failed";
  }
  std::vector<uint8_t> after;
  ASSERT_NO_THROW(after = draw_matrix());
  EXPECT_EQ(glGetError(), static_cast<GLenum>(GL_NO_ERROR));
  EXPECT_EQ(after, before) << "the window draws differently after an export";
}

}  // namespace
}  // namespace fmalens
