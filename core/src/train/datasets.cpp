#include "train/datasets.h"
#include "fmalens/quote.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmalens/config.h"
#include "base/io/idx.h"

namespace fmalens {
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Text, not binary: no NUL bytes in the first 4 KB (fortune's .dat index files have them).
bool looks_like_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char buf[4096];
  in.read(buf, sizeof(buf));
  const auto got = in.gcount();
  if (got == 0) return false;
  return std::find(buf, buf + got, '\0') == buf + got;
}

}  // namespace

TextCorpus load_text_corpus(const std::string& path, int every, int offset) {
  TextCorpus corpus;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(shown_path(path) + ": no such file or folder");
  if (fs::is_regular_file(path, ec)) {
    const std::string all = read_all(path);
    if (all.size() < 64) throw Error(shown_path(path) + ": too little text to train on (" + std::to_string(all.size()) + " bytes)");
    const size_t cut = all.size() * 9 / 10;
    corpus.train = all.substr(0, cut);
    corpus.val = all.substr(cut);
    corpus.train_files = corpus.val_files = {path};
    corpus.train_starts = corpus.val_starts = {0};
    return corpus;
  }
  auto text_files = [&](const fs::path& folder) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const fs::path& p = it->path();
      if (it->is_symlink(ec)) continue;  // fortunes' *.u8 are links to the same files
      if (!it->is_regular_file(ec)) continue;
      const auto ext = p.extension().string();
      if (ext == ".dat" || ext == ".gz" || ext == ".zip") continue;
      if (looks_like_text(p)) files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    return files;
  };
  auto append = [](const fs::path& f, std::vector<std::string>& names, std::string& text, std::vector<int64_t>& starts) {
    names.push_back(f.string());
    starts.push_back(static_cast<int64_t>(text.size()));
    text += read_all(f) + "\n";
  };
  const fs::path root(path);
  const fs::path held = fs::is_directory(root / "heldout", ec) ? root / "heldout" : root / "val";
  if (fs::is_directory(root / "train", ec) && fs::is_directory(held, ec)) {  // split by folder
    for (const auto& f : text_files(root / "train")) append(f, corpus.train_files, corpus.train, corpus.train_starts);
    for (const auto& f : text_files(held)) append(f, corpus.val_files, corpus.val, corpus.val_starts);
    if (corpus.val.empty()) throw Error(shown_path(held.string()) + ": no held-out text files");
  } else {
    const std::vector<fs::path> files = text_files(root);
    if (files.empty()) throw Error(shown_path(path) + ": no text files found");
    // Fewer files than `every`: the last one is held out.
    const bool few = static_cast<int>(files.size()) <= offset % every;
    for (size_t i = 0; i < files.size(); ++i) {
      const bool held_out = files.size() > 1 && (few ? i + 1 == files.size() : static_cast<int>(i % static_cast<size_t>(every)) == offset % every);
      if (held_out) append(files[i], corpus.val_files, corpus.val, corpus.val_starts);
      else append(files[i], corpus.train_files, corpus.train, corpus.train_starts);
    }
    if (corpus.val.empty()) {  // a single file in a folder: 90/10 by position
      corpus.val = corpus.train.substr(corpus.train.size() * 9 / 10);
      corpus.train.resize(corpus.train.size() * 9 / 10);
      corpus.val_files = corpus.train_files;
      corpus.val_starts = {0};
    }
  }
  if (corpus.train.size() < 64) throw Error(shown_path(path) + ": too little training text");
  return corpus;
}

torch::Tensor sample_text_windows(const std::string& text, int64_t batch, int64_t T, std::mt19937_64& rng,
                                  const std::vector<int64_t>* file_starts) {
  const int64_t n = static_cast<int64_t>(text.size());
  TORCH_CHECK(n > T + 1, "text of ", n, " bytes is too short for windows of ", T + 1);
  auto out = torch::empty({batch, T + 1}, torch::kLong);
  auto* o = out.data_ptr<int64_t>();
  // The starts a window may take: anywhere, or within one file (cumulative counts per file).
  std::vector<int64_t> first, cumulative;
  if (file_starts && !file_starts->empty()) {
    int64_t total = 0;
    for (size_t f = 0; f < file_starts->size(); ++f) {
      const int64_t begin = (*file_starts)[f], end = f + 1 < file_starts->size() ? (*file_starts)[f + 1] - 1 : n - 1;  // '\n' joins files
      const int64_t windows = end - begin - T;  // bytes [begin, end): starts begin .. end - T - 1
      if (windows <= 0) continue;
      first.push_back(begin);
      total += windows;
      cumulative.push_back(total);
    }
    TORCH_CHECK(!cumulative.empty(), "no file holds a window of ", T + 1, " bytes");
  }
  std::uniform_int_distribution<int64_t> start(0, (cumulative.empty() ? n - T : cumulative.back()) - 1);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t at = start(rng);
    if (!cumulative.empty()) {
      const size_t f = static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), at) - cumulative.begin());
      at = first[f] + at - (f == 0 ? 0 : cumulative[f - 1]);
    }
    const auto* s = reinterpret_cast<const uint8_t*>(text.data()) + at;
    for (int64_t t = 0; t <= T; ++t) *o++ = s[t];
  }
  return out;
}

MaskedBatch mask_spans(const torch::Tensor& bytes, std::mt19937_64& rng, double rate, int64_t max_span) {
  const auto src = bytes.to(torch::kLong).contiguous();
  const int64_t b = src.size(0), T = src.size(1);
  MaskedBatch out;
  out.inputs = src.clone();
  out.targets = torch::full({b, T}, int64_t{-100}, torch::kLong);
  auto* in = out.inputs.data_ptr<int64_t>();
  auto* tg = out.targets.data_ptr<int64_t>();
  const auto* by = src.data_ptr<int64_t>();
  const int64_t want = std::max<int64_t>(1, static_cast<int64_t>(std::llround(rate * static_cast<double>(T))));
  std::uniform_int_distribution<int64_t> span_len(1, std::max<int64_t>(1, std::min(max_span, T)));
  for (int64_t r = 0; r < b; ++r) {
    int64_t masked = 0;
    while (masked < want) {
      const int64_t len = span_len(rng);
      const int64_t start = std::uniform_int_distribution<int64_t>(0, T - len)(rng);
      for (int64_t t = start; t < start + len; ++t) {
        const int64_t at = r * T + t;
        if (tg[at] >= 0) continue;  // overlapping spans: count each place once
        tg[at] = by[at];
        in[at] = kMaskToken;
        ++masked;
      }
    }
    out.masked += masked;
  }
  return out;
}

ImageDataset load_image_folder(const ImageFolder& folder, bool train, int64_t channels, int64_t size, bool skip_bad,
                               std::vector<std::string>* skipped) {
  const std::vector<ImageFolderItem>& items = train ? folder.train : folder.val;
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  images.reserve(items.size());
  for (const ImageFolderItem& item : items) {
    try {
      const Image image = load_image(item.path);
      images.push_back((image_to_input(image, channels, size) * 255.0).round().to(torch::kUInt8));  // (1, ch, S, S)
      labels.push_back(item.label);
    } catch (const Error& e) {
      if (!skip_bad) throw Error(std::string(e.what()) + " (--skip-bad-images leaves such files out)");
      if (skipped) skipped->push_back(e.what());
    }
  }
  ImageDataset ds;
  ds.images = images.empty() ? torch::empty({0, channels, size, size}, torch::kUInt8) : torch::cat(images);
  ds.labels = torch::tensor(labels, torch::kLong);
  return ds;
}

ImageDataset load_fashion_mnist(const std::string& dir, bool train) {
  const std::string prefix = dir + (train ? "/train" : "/t10k");
  const IdxArray images = read_idx(prefix + "-images-idx3-ubyte.gz");
  const IdxArray labels = read_idx(prefix + "-labels-idx1-ubyte.gz");
  if (images.shape.size() != 3 || labels.shape.size() != 1 || images.shape[0] != labels.shape[0])
    throw Error(prefix + "-images-idx3-ubyte.gz: expected (N, H, W) images and N labels");
  ImageDataset ds;
  ds.images = torch::from_blob(const_cast<uint8_t*>(images.data.data()),
                               {images.shape[0], 1, images.shape[1], images.shape[2]}, torch::kUInt8)
                  .clone();
  ds.labels = torch::from_blob(const_cast<uint8_t*>(labels.data.data()), {labels.shape[0]}, torch::kUInt8)
                  .to(torch::kLong);
  if (ds.labels.numel() > 0 && ds.labels.max().item<int64_t>() >= 10)
    throw Error(prefix + "-labels-idx1-ubyte.gz: labels must be 0..9");
  return ds;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace fmalens
