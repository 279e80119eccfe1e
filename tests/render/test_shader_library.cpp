// Shader loading: the embedded copies with their includes expanded once, and hot reload from
// disk (a changed file rebuilds its programs; a broken one keeps the old program and says why).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fmalens/config.h"
#include "gl_test_context.h"
#include "render/shader_library.h"

namespace fmalens::render {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ShaderLibrary, EmbeddedSourcesWithIncludesExpandedOnce) {
  ShaderLibrary lib("");
  EXPECT_FALSE(lib.hot_reload());
  const std::string sample = lib.expanded_source("matrix_sample.frag.glsl");
  EXPECT_EQ(count(sample, "int locate("), 1u);  // bands.glsl includes locate.glsl too
  EXPECT_EQ(count(sample, "#include"), 0u);
  EXPECT_EQ(sample.rfind("#version 330 core", 0), 0u);
  EXPECT_THROW(lib.expanded_source("missing.glsl"), EnvironmentError);
}

TEST(ShaderLibrary, HotReloadFromDisk) {
  FMALENS_REQUIRE_GL();
  const fs::path dir = fs::temp_directory_path() / ("fmalens_shaders_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ShaderLibrary embedded("");
  for (const char* name : {"quad.vert.glsl", "colorbar.frag.glsl", "colormap.glsl"})
    std::ofstream(dir / name) << embedded.expanded_source(name);
  ShaderLibrary lib(dir.string());
  const GLuint first = lib.program("quad.vert.glsl", "colorbar.frag.glsl");
  ASSERT_NE(first, 0u);
  EXPECT_FALSE(lib.reload_if_changed());
  auto rewrite = [&](const std::string& text) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the check runs at most twice a second
    std::ofstream(dir / "colorbar.frag.glsl") << text;
    fs::last_write_time(dir / "colorbar.frag.glsl", fs::last_write_time(dir / "colorbar.frag.glsl") + std::chrono::seconds(1));
  };
  rewrite("#version 330 core\nout vec4 o_color;\nvoid main() { o_color = vec4(1.0); }\n");
  EXPECT_TRUE(lib.reload_if_changed());
  EXPECT_TRUE(lib.last_error().empty());
  const GLuint second = lib.program("quad.vert.glsl", "colorbar.frag.glsl");
  rewrite("#version 330 core\nthis is not GLSL\n");
  EXPECT_FALSE(lib.reload_if_changed());
  EXPECT_NE(lib.last_error().find("colorbar.frag.glsl"), std::string::npos) << lib.last_error();
  EXPECT_EQ(lib.program("quad.vert.glsl", "colorbar.frag.glsl"), second);  // the last good program stays
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fmalens::render
