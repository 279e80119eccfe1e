#include "fmalens/image_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "fmalens/config.h"
#include "fmalens/quote.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxImages = 2'000'000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Class folders of `dir` (sorted) and each one's images (sorted, found at any depth).
std::map<std::string, std::vector<std::string>> classes_of(const fs::path& dir) {
  std::map<std::string, std::vector<std::string>> out;
  std::error_code ec;
  size_t total = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code e2;
    if (name.empty() || name[0] == '.' || !it->is_directory(e2)) continue;
    std::vector<std::string>& files = out[name];
    for (fs::recursive_directory_iterator f(it->path(), fs::directory_options::skip_permission_denied, e2), fend; !e2 && f != fend;
         f.increment(e2)) {
      std::error_code e3;
      if (f->is_regular_file(e3) && has_image_extension(f->path().filename().string())) {
        files.push_back(f->path().string());
        if (++total > kMaxImages)
          throw Error(shown_path(dir.string()) + ": more than " + std::to_string(kMaxImages) + " images");
      }
    }
    std::sort(files.begin(), files.end());
  }
  if (ec) throw Error(shown_path(dir.string()) + ": cannot list (" + ec.message() + ")");
  return out;
}

void check_classes(const fs::path& dir, const std::map<std::string, std::vector<std::string>>& classes) {
  if (classes.empty())
    throw Error(shown_path(dir.string()) + ": no class folders (an image folder holds one subfolder of images per class)");
  if (classes.size() == 1)
    throw Error(shown_path(dir.string()) + ": only one class folder (" + quote(classes.begin()->first) +
                "): a classifier needs two or more");
  for (const auto& [name, files] : classes)
    if (files.empty())
      throw Error(shown_path(dir.string()) + ": class folder " + quote(name) + " holds no images (.png .jpg .jpeg .bmp .gif)");
}

}  // namespace

bool has_image_extension(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string ext = lower(name.substr(dot));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

bool is_image_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  return !fs::exists(fs::path(path) / "train-images-idx3-ubyte.gz", ec) && !fs::exists(fs::path(path) / "t10k-images-idx3-ubyte.gz", ec);
}

ImageFolder scan_image_folder(const std::string& dir, double val_fraction) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(shown_path(dir) + ": not a folder");
  if (!(val_fraction >= 0 && val_fraction < 1))
    throw Error(shown_path(dir) + ": the held-out fraction must be at least 0 and below 1 (got " + std::to_string(val_fraction) + ")");
  ImageFolder f;
  f.root = dir;
  const fs::path root(dir);
  if (fs::is_directory(root / "train", ec) && fs::is_directory(root / "val", ec)) {
    f.split_by_folders = true;
    const auto train = classes_of(root / "train");
    const auto val = classes_of(root / "val");
    check_classes(root / "train", train);
    for (const auto& [name, files] : train) f.classes.push_back(name);
    for (const auto& [name, files] : val)
      if (!train.count(name))
        throw Error(shown_path((root / "val").string()) + ": class " + quote(name) + " is not among train/'s classes");
    for (size_t c = 0; c < f.classes.size(); ++c) {
      for (const auto& p : train.at(f.classes[c])) f.train.push_back({p, static_cast<int64_t>(c)});
      const auto v = val.find(f.classes[c]);
      if (v != val.end())
        for (const auto& p : v->second) f.val.push_back({p, static_cast<int64_t>(c)});
    }
    return f;
  }
  const auto classes = classes_of(root);
  check_classes(root, classes);
  int64_t label = 0;
  for (const auto& [name, files] : classes) {
    f.classes.push_back(name);
    // Every image whose running share of the fraction crosses an integer is held out: spread
    // evenly, the same split on every run.
    for (size_t i = 0; i < files.size(); ++i) {
      const bool held_out = std::floor(static_cast<double>(i + 1) * val_fraction) > std::floor(static_cast<double>(i) * val_fraction);
      (held_out ? f.val : f.train).push_back({files[i], label});
    }
    ++label;
  }
  return f;
}

}  // namespace fmalens
