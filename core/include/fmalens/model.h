// A loaded model, ready to run with capture. Plain C++ API over the LibTorch core (pimpl).
// (Images and text windows, which it takes, are the torch-free base's: image.h, text_window.h.)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fmalens/config.h"
#include "fmalens/image.h"
#include "fmalens/snapshot.h"
#include "fmalens/text_window.h"
#include "fmalens/tokenizer.h"

namespace fmalens {

struct ParameterGroup {
  std::string name;  // "embeddings", "attention projections", "fma downsampling", "mlp", ...
  int64_t count = 0;
};

struct ModelInfo {
  std::string path, format;  // "safetensors" / "torch_zip"
  ModelConfig config;
  int64_t parameters = 0;
  std::vector<ParameterGroup> groups;
  std::string training_json;  // the checkpoint's training metadata ("" when none)
  // Text models: Tokenizer::describe() of the tokenizer ("bytes", "char map of 65 from ...",
  // "GPT-2 BPE, ..."); "" when none was found (text is refused).
  std::string tokenizer;
  std::map<std::string, std::string> metadata;
};

struct RunOptions {
  std::string device = "auto";  // auto | cpu | cuda
  // Weights and activations: float32 | bfloat16 | float16. The attention's softmax and the FMA
  // downsampling stay float32; captured arrays are float32 either way.
  std::string dtype = "float32";
  bool capture = true;
  // Masked LMs: byte ranges [start, end) of the window run (Snapshot::text) given to the model
  // as mask tokens; it fills them in (Snapshot::filled). Refused for other models.
  std::vector<std::pair<int64_t, int64_t>> mask_spans;
  // Masked LMs: every '_' of the text run is a mask too (the window's way to mask: type _ runs).
  // Other models read '_' as the byte it is.
  bool mask_underscores = false;
  // Called with progress in [0, 1] between layers; return false to cancel (throws Cancelled).
  std::function<bool(double)> progress;
};

class Model {
 public:
  // Loads a checkpoint (safetensors or a reference / nanoGPT torch.save file) and, for text
  // models, its tokenizer: the one at `tokenizer_path` when given, else bytes for a byte
  // vocabulary, else a nanoGPT meta.pkl found as sample.py finds it (find_nanogpt_meta), else
  // none (run_text then refuses). Throws Error.
  static std::shared_ptr<Model> load(const std::string& path, const std::string& tokenizer_path = "");
  ~Model();

  const ModelConfig& config() const;
  const ModelInfo& info() const;
  // Human-readable summary (config, FMA levels, parameters, training), for `fmalens info`.
  std::string describe() const;
  // The libraries this build runs on, for --version: "LibTorch 1.13.1, devices: cpu".
  static std::string build_description();
  // Devices this build can run on: "cpu", and "cuda" when LibTorch has a CUDA device.
  static std::vector<std::string> devices();
  // A device name of devices() (or "auto") in words for menus: "cuda:0 (NVIDIA H200)",
  // "auto: cpu"; the name itself when this build cannot run on it.
  static std::string describe_device(const std::string& name);

  // The tokenizer text runs through (null: none found; the model cannot run text).
  std::shared_ptr<const Tokenizer> tokenizer() const;
  // Throws Error when `tokenizer` has more ids than the model's vocabulary.
  void set_tokenizer(std::shared_ptr<const Tokenizer> tokenizer);
  // Why text cannot run without a tokenizer: one line naming the vocabulary and --tokenizer.
  std::string missing_tokenizer_message() const;

  // Text models: runs the tokens of `text` (for byte models, its bytes). Longer than the context: the last block_size tokens
  // (Snapshot::dropped says how many were left out). Empty text is refused. A bidirectional
  // FMA model takes power-of-two multiples of 2m tokens: shorter text is run right-padded with
  // spaces (Snapshot::tokens counts the text; the attention rows and columns beyond are padding).
  Snapshot run_text(const std::string& text, const RunOptions& options = {});
  // Image models: the image converted to the model's resolution and channels.
  Snapshot run_image(const Image& image, const RunOptions& options = {});

 private:
  Model();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fmalens
