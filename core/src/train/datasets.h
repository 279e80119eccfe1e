// Training and evaluation data: text corpora (bytes) and Fashion-MNIST (IDX files).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "fmalens/image_folder.h"
#include "fmalens/train.h"
#include "model/image_input.h"
#include "torch_pch.h"

namespace fmalens {

// The default text corpus: the English fortunes of Debian's `fortunes` package.
constexpr const char* kDefaultTextCorpus = "/usr/share/games/fortunes";
constexpr const char* kDefaultImageData = "/usr/share/datasets/fashion-mnist";

struct TextCorpus {
  std::vector<std::string> train_files, val_files;
  std::string train, val;  // concatenated bytes (files joined with '\n')
  // Where each file starts in `train` / `val` (a single file split 90/10: one start each).
  std::vector<int64_t> train_starts, val_starts;
};

// `path`: a text file or a folder (recursively; binary and index files such as fortune's
// .dat are skipped). Held out by file: a folder with train/ and heldout/ (or val/) subfolders
// is split by them (tools/make_kernel_corpus.py writes such folders); otherwise every
// `every`-th file in sorted order (from `offset`) goes to validation; a single file is split
// 90/10 by position instead.
TextCorpus load_text_corpus(const std::string& path, int every = 10, int offset = 3);

// (b, T + 1) int64 windows starting at random positions of `text`: inputs are [:, :T],
// targets [:, 1:].
// With `file_starts` (TextCorpus's), every window lies within one file: a file is picked with
// probability proportional to the windows it holds (files shorter than T + 1 bytes hold none).
torch::Tensor sample_text_windows(const std::string& text, int64_t batch, int64_t T, std::mt19937_64& rng,
                                  const std::vector<int64_t>* file_starts = nullptr);

// Masked-LM inputs and targets from byte windows (b, T): spans of 1..max_span bytes at random
// places, until at least `rate` of each window is masked. Masked bytes become kMaskToken in
// `inputs`; `targets` holds the byte at a masked place and -100 (ignored) elsewhere.
struct MaskedBatch {
  torch::Tensor inputs, targets;  // (b, T) int64
  int64_t masked = 0;             // masked places in all
};
MaskedBatch mask_spans(const torch::Tensor& bytes, std::mt19937_64& rng, double rate = kTrainingMaskRate,
                       int64_t max_span = kTrainingMaskSpan);

struct ImageDataset {
  torch::Tensor images;  // (N, 1, 28, 28) uint8
  torch::Tensor labels;  // (N) int64
};

// The train or held-out images of an image folder (fmalens/image_folder.h), decoded and
// converted to `channels` at `size` x `size`. An image that cannot be decoded throws its
// loader's Error, or with `skip_bad` is left out and its one-line reason added to `skipped`.
ImageDataset load_image_folder(const ImageFolder& folder, bool train, int64_t channels, int64_t size, bool skip_bad,
                               std::vector<std::string>* skipped);

// Reads `<dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`.
ImageDataset load_fashion_mnist(const std::string& dir, bool train);
const std::vector<std::string>& fashion_mnist_classes();


}  // namespace fmalens
