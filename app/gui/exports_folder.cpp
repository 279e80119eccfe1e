#include "gui/exports_folder.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fmalens::gui {
namespace {

namespace fs = std::filesystem;

bool is_folder(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_directory(path, ec);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// XDG_PICTURES_DIR="$HOME/Pictures" in user-dirs.dirs ("" when absent).
std::string pictures_from_user_dirs(const std::string& home) {
  const std::string config = env("XDG_CONFIG_HOME").empty() ? home + "/.config" : env("XDG_CONFIG_HOME");
  std::ifstream in(config + "/user-dirs.dirs");
  std::string line;
  while (std::getline(in, line)) {
    const std::string key = "XDG_PICTURES_DIR=\"";
    if (line.rfind(key, 0) != 0 || line.back() != '"') continue;
    std::string value = line.substr(key.size(), line.size() - key.size() - 1);
    if (value.rfind("$HOME", 0) == 0) value = home + value.substr(5);
    return value;
  }
  return "";
}

}  // namespace

std::string default_exports_dir() {
  if (is_folder(env("XDG_PICTURES_DIR"))) return env("XDG_PICTURES_DIR");
  const std::string home = env("HOME");
  if (!home.empty()) {
    const std::string listed = pictures_from_user_dirs(home);
    if (is_folder(listed)) return listed;
    if (is_folder(home + "/Pictures")) return home + "/Pictures";
  }
  std::error_code ec;
  return fs::current_path(ec).string();
}

std::string unused_path(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return path;
  const fs::path p(path);
  for (int k = 2; k < 100000; ++k) {
    const fs::path candidate = p.parent_path() / (p.stem().string() + "-" + std::to_string(k) + p.extension().string());
    if (!fs::exists(candidate, ec)) return candidate.string();
  }
  return path;  // 100,000 files of one name: the write's own refusal names it
}

}  // namespace fmalens::gui
