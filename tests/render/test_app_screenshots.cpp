// The real `fmalens` binary in its headless mode: every view's screenshot is a PNG with the
// view drawn (not blank) and the expected structure where the view's picture lies (the app
// reports it with --view-rects); real models trained here for a few steps run too; bad input
// exits with 2, one line on stderr, and writes no file.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "png_test_util.h"
#include "render/matrix_figure.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string err;
};

// Runs the binary with `args` (already quoted), capturing stderr.
Result run(const std::string& args) {
  static int counter = 0;
  const fs::path err = fs::temp_directory_path() / ("fmalens_app_test_err_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string cmd = std::string(FMALENS_BINARY) + " " + args + " > /dev/null 2> " + err.string();
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err);
  std::ostringstream s;
  s << in.rdbuf();
  r.err = s.str();
  fs::remove(err);
  return r;
}

using fmalens::render::test_png::load_png;
using fmalens::render::test_png::Png;

class AppScreenshots : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("fmalens_app_test_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  // Screenshot of one view; returns the picture and where the view's picture lies in it.
  static Png shoot(const std::string& args, const std::string& view, std::vector<int>* rect, float* font_px = nullptr) {
    const std::string png = path(view + ".png"), rects = path(view + ".json");
    const Result r = run(args + " --view " + view + " --size 960x640 --screenshot " + png + " --view-rects " + rects);
    EXPECT_EQ(r.code, 0) << r.err;
    std::ifstream in(rects);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j.contains(view)) *rect = j[view].get<std::vector<int>>();
    if (font_px && j.is_object() && j.contains("font_px")) *font_px = j["font_px"].get<float>();
    return load_png(png);
  }

  static fs::path* dir_;
};
fs::path* AppScreenshots::dir_ = nullptr;

// Not blank: a good part of the picture differs from the background, in several colours.
bool drawn(const Png& png, const std::vector<int>& r) {
  std::set<uint32_t> seen;
  int64_t lit = 0, total = 0;
  for (int y = r[1]; y < r[1] + r[3] && y < png.h; y += 2)
    for (int x = r[0]; x < r[0] + r[2] && x < png.w; x += 2) {
      const uint8_t* p = png.at(x, y);
      seen.insert(static_cast<uint32_t>(p[0]) << 16 | p[1] << 8 | p[2]);
      lit += !png.background(x, y);
      ++total;
    }
  return seen.size() >= 4 && lit * 50 > total;
}

TEST_F(AppScreenshots, EveryViewDrawsSomething) {
  for (const char* view : {"matrix", "levels", "weights", "text", "model", "compare", "heads", "distance", "error"}) {
    std::vector<int> rect;
    const Png png = shoot("--synthetic 256", view, &rect);
    ASSERT_EQ(png.w, 960) << view;
    ASSERT_EQ(rect.size(), 4u) << view << ": the view drew no picture";
    EXPECT_TRUE(drawn(png, rect)) << view << " looks blank";
  }
  std::vector<int> rect;
  const Png png = shoot("--synthetic 256 --synthetic-variant grid2d", "regions", &rect);
  ASSERT_EQ(rect.size(), 4u);
  EXPECT_TRUE(drawn(png, rect)) << "regions look blank";
}

TEST_F(AppScreenshots, CausalMatrixStructure) {
  std::vector<int> rect;
  float font_px = 0;
  const Png png = shoot("--synthetic 256 --query 10", "matrix", &rect, &font_px);
  ASSERT_EQ(rect.size(), 4u);
  ASSERT_GT(font_px, 0);
  // Where the cells are inside the picture, as the figure lays them out for the window's font.
  const auto lay = fmalens::render::matrix_figure_layout({rect[0], rect[1], rect[2], rect[3]}, font_px);
  const double cell = std::min(lay.matrix.w, lay.matrix.h) / 256.0;  // fitted: pixels per cell
  auto px = [&](double t, double i) {
    return std::pair<int, int>(lay.matrix.x + static_cast<int>(t * cell), lay.matrix.y + static_cast<int>(i * cell));
  };
  for (int i = 4; i < 256; i += 9) {
    for (int t = i + 3; t < 256; t += 5) {  // strictly above the diagonal: the causal future
      auto [x, y] = px(t + 0.5, i + 0.5);
      ASSERT_TRUE(png.background(x, y)) << "future cell (" << i << ", " << t << ") is drawn";
    }
    auto [x, y] = px(i + 0.5, i + 0.5);
    EXPECT_FALSE(png.background(x, y)) << "diagonal cell " << i << " is not lit";
  }
}

TEST_F(AppScreenshots, RealModelsTrainedForAFewSteps) {
  const std::string text_model = path("text.safetensors"), image_model = path("image.safetensors");
  Result r = run("train --kind text --out " + text_model +
                 " --layers 1 --embd 32 --heads 2 --block-size 256 --m 16 --p 2 --steps 3 --batch-size 2 --eval-interval 3 "
                 "--eval-batches 1 --threads 1 --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("train --kind image --out " + image_model +
          " --layers 1 --embd 32 --heads 2 --image-size 32 --patch-size 4 --m 1 --p 1 --steps 3 --batch-size 8 --eval-interval 3 "
          "--eval-batches 1 --threads 1 --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<int> rect;
  Png png = shoot("--checkpoint " + text_model + " --text 'Attention, please: the nearer the words, the sharper the view.'",
                  "matrix", &rect);
  ASSERT_EQ(rect.size(), 4u);
  EXPECT_TRUE(drawn(png, rect));
  png = shoot("--checkpoint " + text_model + " --text-file " + std::string(FMALENS_ASSETS_DIR) + "/samples/sample.txt --layer 0 --head 1",
              "text", &rect);
  EXPECT_TRUE(drawn(png, rect));
  png = shoot("--checkpoint " + image_model + " --image " + std::string(FMALENS_ASSETS_DIR) + "/samples/fashion_mnist_sneaker.png",
              "regions", &rect);
  ASSERT_EQ(rect.size(), 4u);
  EXPECT_TRUE(drawn(png, rect));

  // A text on an image model is bad input: exit 2, no file.
  const std::string out = path("never.png");
  r = run("--checkpoint " + image_model + " --text hello --screenshot " + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("image model"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run("--checkpoint " + text_model + " --text hello --query 99 --screenshot " + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--query 99 out of range"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(AppScreenshots, BadInputExitsWithTwoAndWritesNothing) {
  const std::string out = path("bad.png");
  const std::string garbage = path("garbage.png");
  std::ofstream(garbage) << "this is not a PNG";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--checkpoint /nonexistent/model.safetensors --text hi", "no such file"},
      {"--synthetic 64 --view nonsense", "--view"},
      {"--synthetic 64 --size 12x34000", "--size"},
      {"--image " + garbage, "garbage.png"},
      {"--synthetic 64 --layer 7", "--layer 7 out of range"},
      {"--text a --text-file b", "excludes"},
      {"--synthetic 64 --screenshot /nonexistent/folder/x.png", "does not exist"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = run(args + (args.find("--screenshot") == std::string::npos ? " --screenshot " + out : ""));
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

}  // namespace
