#include "fmalens/assets.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "fmalens/config.h"
#include "fmalens/quote.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTextModel = "models/text_fma.safetensors";

std::mutex g_mutex;
std::string g_explicit;  // set_assets_dir

// The running executable's folder (/proc/self/exe), or "" when it cannot be read.
fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool holds_bundled_model(const std::string& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(fs::path(dir) / kTextModel, ec);
}

}  // namespace

void set_assets_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_explicit = dir;
}

std::vector<std::string> asset_search_path() {
  std::vector<std::string> out;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_explicit.empty()) return {g_explicit};  // an explicit choice is the only one
  }
  if (const char* env = std::getenv("FMALENS_ASSETS"); env && *env) return {env};
  const fs::path exe_dir = executable_dir();
  if (!exe_dir.empty()) out.push_back((exe_dir.parent_path() / "share" / "fmalens").lexically_normal().string());
  const char* xdg = std::getenv("XDG_DATA_DIRS");
  const std::string dirs = xdg && *xdg ? xdg : "/usr/local/share:/usr/share";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    if (end > start) out.push_back((fs::path(dirs.substr(start, end - start)) / "fmalens").string());
    start = end + 1;
  }
  return out;
}

std::string assets_dir() {
  const std::vector<std::string> search = asset_search_path();
  for (const std::string& dir : search)
    if (holds_bundled_model(dir)) return dir;
  std::string tried;
  for (const std::string& dir : search) tried += (tried.empty() ? "" : ", ") + shown_path(dir);
  throw Error("the bundled models are not installed: no " + std::string(kTextModel) + " in " + tried +
              " (give the data folder with --assets or FMALENS_ASSETS)");
}

BundledFiles bundled_files() {
  const fs::path dir(assets_dir());
  return {(dir / kTextModel).string(), (dir / "models" / "image_fma.safetensors").string(),
          (dir / "samples" / "sample.txt").string(), (dir / "samples" / "fashion_mnist_sneaker.png").string()};
}

}  // namespace fmalens
