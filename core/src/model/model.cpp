// fmalens::Model: load a checkpoint, run it with capture, turn tensors into a Snapshot.
#include "fmalens/model.h"

#include "fmalens/blas_kernels.h"

#include "device.h"

#include <torch/version.h>
#include "fmalens/quote.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "model/model_io.h"
#include "threads.h"
#include "model/image_input.h"

namespace fmalens {
namespace {

Array to_array(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Array a;
  a.shape.assign(c.sizes().begin(), c.sizes().end());
  a.data.resize(static_cast<size_t>(c.numel()));
  if (!a.data.empty()) std::memcpy(a.data.data(), c.data_ptr<float>(), a.data.size() * sizeof(float));
  return a;
}

// Device tensors into Arrays with one transfer: on a GPU each .to(kCPU) is a copy and a wait,
// and a run captures dozens of arrays (layers x levels). Each tensor is flattened to float32 on
// its device, all are joined, copied to the host once, and cut back into the arrays. On the CPU
// each tensor is copied into its array and let go at once (the caller hands over the only
// references): the capture is never held twice, which at 65,536 tokens is a gigabyte.
void copy_to_arrays(std::vector<std::pair<torch::Tensor, Array*>>& items) {
  if (items.empty()) return;
  if (items.front().first.device().is_cpu()) {
    for (auto& [t, array] : items) {
      array->shape.assign(t.sizes().begin(), t.sizes().end());
      const auto c = t.detach().to(torch::kFloat).contiguous();
      array->data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
      t = torch::Tensor();
    }
    return;
  }
  std::vector<torch::Tensor> flat;
  const torch::Device device = items.front().first.device();  // the run's (avgpool bases are made on the CPU)
  for (const auto& [t, array] : items) {
    array->shape.assign(t.sizes().begin(), t.sizes().end());
    flat.push_back(t.detach().to(device, torch::kFloat).reshape({-1}));
  }
  const auto host = torch::cat(flat).to(torch::kCPU).contiguous();  // the one transfer
  const float* p = host.data_ptr<float>();
  for (size_t i = 0; i < items.size(); ++i) {
    const auto count = static_cast<size_t>(flat[i].numel());
    items[i].second->data.assign(p, p + count);
    p += count;
  }
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kHalf;
  throw Error("dtype must be float32, bfloat16 or float16 (got " + quote(name) + ")");
}

std::string group_of(const std::string& name) {
  if (name.find(".attn.attn.") != std::string::npos) return "fma downsampling";
  if (name.find(".attn.c_") != std::string::npos) return "attention projections";
  if (name.find(".mlp.") != std::string::npos) return "mlp";
  if (name.find("ln_") != std::string::npos) return "layer norms";
  if (name.find("wte") != std::string::npos || name.find("wpe") != std::string::npos ||
      name.find("pos_embed") != std::string::npos || name.find("patch_embed") != std::string::npos)
    return "embeddings";
  if (name.rfind("head", 0) == 0) return "classifier head";
  if (name.find("local_mix") != std::string::npos) return "local mixing";
  if (name.rfind("stem.", 0) == 0) return "convolutional stem";
  return "other";
}


}  // namespace

struct Model::Impl {
  std::unique_ptr<Network> net;
  ModelInfo info;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::mutex run_mutex;  // one run at a time per model (modules move between devices)
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat;

  void ensure_threads() {
    static std::once_flag once;
    std::call_once(once, [] { configure_threads(0); });
  }

  Snapshot run(const torch::Tensor& input, const RunOptions& options, Snapshot snap) {
    std::lock_guard<std::mutex> lock(run_mutex);
    ensure_threads();
    const auto t0 = std::chrono::steady_clock::now();
    const torch::Device dev = select_device(options.device);
    const torch::Dtype want = parse_dtype(options.dtype);
    if (dev != device || want != dtype) {
      net->to(dev, want);
      device = dev;
      dtype = want;
    }
    c10::InferenceMode guard;
    std::vector<LayerCapture> captures;
    const size_t layers = static_cast<size_t>(net->config().n_layer);
    auto hook = [&](size_t layer) {
      if (options.progress && !options.progress(static_cast<double>(layer) / static_cast<double>(layers))) throw Cancelled();
    };
    const auto x = input.is_floating_point() ? input.to(dev, dtype) : input.to(dev);  // images: the weights' dtype
    auto logits = net->forward(x, options.capture ? &captures : nullptr, hook);
    if (options.progress && !options.progress(1.0)) throw Cancelled();
    snap.config = net->config();
    snap.attention = net->config().attention_config();
    // The layout as run: text may be padded past its tokens (token ids: (1, run length)).
    const int64_t run_tokens = input.is_floating_point() ? snap.tokens : input.size(1);
    if (auto* a = net->attention(0)) snap.attention = a->plan(run_tokens, dev).layout->config();
    // Everything the snapshot holds, copied to the host at the end in one transfer.
    // The captured tensors move into `pending` (its references are the only ones left).
    std::vector<std::pair<torch::Tensor, Array*>> pending{{logits[0], &snap.logits}};
    logits = torch::Tensor();
    snap.layers.resize(captures.size());
    for (size_t l = 0; l < captures.size(); ++l) {
      LayerSnapshot& ls = snap.layers[l];
      FmaCapture& fma = captures[l].fma;
      ls.bands.resize(fma.weights.size());
      for (size_t lev = 0; lev < fma.weights.size(); ++lev) pending.push_back({std::move(fma.weights[lev]), &ls.bands[lev]});
      if (fma.row_max.defined()) {
        pending.push_back({std::move(fma.row_max), &ls.row_max});
        pending.push_back({std::move(fma.row_norm), &ls.row_norm});
      }
      pending.push_back({captures[l].q[0], &ls.q});
      pending.push_back({captures[l].k[0], &ls.k});
      captures[l].q = torch::Tensor();
      captures[l].k = torch::Tensor();
    }
    snap.downsampling.resize(static_cast<size_t>(net->config().n_layer));
    for (int64_t l = 0; l < net->config().n_layer; ++l) {
      auto* a = net->attention(l);
      if (!a) continue;
      auto& levels = snap.downsampling[static_cast<size_t>(l)];
      levels.resize(static_cast<size_t>(coarse_levels(a->config())));
      for (size_t lev = 0; lev < levels.size(); ++lev) {
        pending.push_back({a->basis_functions(static_cast<int>(lev) + 1, 'k'), &levels[lev].keys});
        pending.push_back({a->basis_functions(static_cast<int>(lev) + 1, 'v'), &levels[lev].values});
      }
    }
    copy_to_arrays(pending);
    snap.device = dev.str();
    snap.run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return snap;
  }
};

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

namespace {

// A byte vocabulary (and a masked byte LM's mask token) needs no tokenizer.
bool byte_vocabulary(const ModelConfig& c) { return c.vocab_size == 256 || (c.masked_lm && c.vocab_size == kMaskToken + 1); }

// nanoGPT's config['dataset'] from a torch.save checkpoint's extras ("" when absent).
std::string nanogpt_dataset(const ModelInfo& info) {
  const auto it = info.metadata.find("reference_extras");
  if (it == info.metadata.end()) return "";
  try {
    const auto extras = nlohmann::json::parse(it->second);
    if (extras.contains("config") && extras["config"].is_object() && extras["config"].contains("dataset") &&
        extras["config"]["dataset"].is_string())
      return extras["config"]["dataset"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

}  // namespace

std::shared_ptr<const Tokenizer> Model::tokenizer() const { return impl_->tokenizer; }

void Model::set_tokenizer(std::shared_ptr<const Tokenizer> tokenizer) {
  const ModelConfig& c = config();
  if (tokenizer && c.kind == ModelKind::text && tokenizer->size() > c.vocab_size)
    throw Error(shown_path(tokenizer->source()) + ": this tokenizer has " + std::to_string(tokenizer->size()) +
                " ids, more than this model's vocabulary of " + std::to_string(c.vocab_size));
  if (tokenizer && c.masked_lm && tokenizer->kind() != Tokenizer::Kind::bytes)
    throw Error(shown_path(tokenizer->source()) + ": a masked byte LM reads bytes, not this tokenizer's ids");
  impl_->info.tokenizer = tokenizer ? tokenizer->describe() : "";
  impl_->tokenizer = std::move(tokenizer);
}

std::string Model::missing_tokenizer_message() const {
  const int64_t v = config().vocab_size;
  const std::string what = v == 50257 || v == 50304 ? "GPT-2 BPE vocabulary of " + std::to_string(v) +
                                                          ": give its encoder.json + vocab.bpe, vocab.json + merges.txt or tokenizer.json"
                                                    : "vocabulary of " + std::to_string(v) +
                                                          " is not bytes and no meta.pkl was found beside it or in data/<dataset>/: give its meta.pkl or BPE files";
  return shown_path(info().path) + ": this model's " + what + " with --tokenizer (File > Open tokenizer... in the window)";
}

std::shared_ptr<Model> Model::load(const std::string& path, const std::string& tokenizer_path) {
  LoadedNetwork loaded = load_network(path);
  std::shared_ptr<Model> m(new Model());
  m->impl_->net = std::move(loaded.network);
  m->impl_->net->module().eval();
  ModelInfo& info = m->impl_->info;
  info.path = path;
  info.format = loaded.format;
  info.config = m->impl_->net->config();
  info.metadata = loaded.metadata;
  auto it = loaded.metadata.find("training");
  if (it != loaded.metadata.end()) info.training_json = it->second;
  std::map<std::string, int64_t> groups;
  for (const auto& p : m->impl_->net->module().named_parameters()) {
    groups[group_of(p.key())] += p.value().numel();
    info.parameters += p.value().numel();
  }
  for (const auto& g : groups) info.groups.push_back({g.first, g.second});
  if (info.config.kind == ModelKind::text) {
    if (!tokenizer_path.empty()) {
      m->set_tokenizer(load_tokenizer(tokenizer_path));
    } else if (byte_vocabulary(info.config)) {
      m->set_tokenizer(byte_tokenizer());
    } else {
      const std::string meta = find_nanogpt_meta(path, nanogpt_dataset(info));
      if (!meta.empty()) m->set_tokenizer(load_tokenizer(meta));
    }
  }
  return m;
}

const ModelConfig& Model::config() const { return impl_->info.config; }
const ModelInfo& Model::info() const { return impl_->info; }

std::string Model::build_description() {
  std::string d;
  for (const auto& name : devices()) d += (d.empty() ? "" : ", ") + describe_device(name);
  const std::string blas = blas_kernels_description();
  return std::string("LibTorch ") + TORCH_VERSION + (blas.empty() ? "" : ", " + blas) + ", devices: " + d;
}

std::vector<std::string> Model::devices() {
  std::vector<std::string> d{"cpu"};
  if (torch::cuda::is_available()) d.push_back("cuda");
  return d;
}

std::string Model::describe_device(const std::string& name) {
  try {
    const std::string words = fmalens::describe_device(select_device(name));
    return name == "auto" ? "auto: " + words : words;
  } catch (const Error&) {
    return name;
  }
}

std::string Model::describe() const {
  const ModelInfo& i = impl_->info;
  const ModelConfig& c = i.config;
  std::ostringstream o;
  o << "file        " << i.path << " (" << i.format << ")\n";
  const bool bytes = i.tokenizer == "bytes";
  const char* family = c.kind == ModelKind::image ? "image ViT" : c.masked_lm ? "masked byte LM (encoder)" : bytes ? "text GPT (bytes)" : "text GPT";
  o << "model       " << family << ", " << attention_kind_name(c.attention_kind) << " attention"
    << (c.local_mixing ? ", local mixing of width " + std::to_string(c.local_mixing) : std::string()) << "\n";
  o << "shape       " << c.n_layer << " layers, " << c.n_head << " heads, width " << c.n_embd << ", head dim "
    << c.n_embd / c.n_head << (c.bias ? "" : ", no biases") << "\n";
  if (c.kind == ModelKind::text) {
    o << "context     " << c.block_size << (bytes ? " bytes" : " tokens") << ", vocabulary " << c.vocab_size
      << (c.learned_positions ? ", learned positions" : ", no position table") << "\n";
    o << "tokenizer   " << (i.tokenizer.empty() ? "none found: give one with --tokenizer (meta.pkl, BPE files or tokenizer.json)" : i.tokenizer) << "\n";
  }
  else
    o << "input       " << image_input_summary(c) << "\n";
  if (c.kind == ModelKind::image && !c.class_names.empty()) {
    o << "classes    ";
    for (size_t k = 0; k < c.class_names.size(); ++k) o << (k ? ", " : " ") << c.class_names[k];
    o << "\n";
  }
  if (uses_fma_bands(c.attention_kind)) {
    const AttentionConfig a = c.attention_config();
    Layout layout(a);
    o << "attention   " << to_string(a.variant) << ", n " << a.tokens() << (a.variant == Variant::grid2d ? ", r " : ", m ")
      << a.m << ", p " << a.p << ", " << to_string(a.downsampling) << ", boundary " << to_string(a.boundary)
      << (a.query_downsampling ? ", query downsampling (linear)" : "") << (a.scale_attn ? "" : ", alpha off") << "\n";
    o << "levels      level  width  summaries  alpha  slots/query\n";
    for (const auto& g : layout.levels()) {
      char line[128];
      std::snprintf(line, sizeof(line), "            %5d  %5lld  %9s  %5.0f  %11lld\n", g.level, static_cast<long long>(g.width),
                    g.level == 0 ? (a.variant == Variant::grid2d ? "tokens" : "tokens") : std::to_string(g.summaries).c_str(),
                    g.alpha, static_cast<long long>(g.slots));
      o << line;
    }
  }
  o << "parameters  " << i.parameters << "\n";
  for (const auto& g : i.groups) o << "            " << g.name << ": " << g.count << "\n";
  if (!i.training_json.empty()) {
    try {
      auto t = nlohmann::json::parse(i.training_json);
      o << "training    " << t.value("steps_done", int64_t{0}) << " steps in " << static_cast<int64_t>(t.value("wall_s", 0.0))
        << " s on " << t.value("device", std::string("?"));
      if (t.contains("final_val_loss")) o << ", final validation loss " << t["final_val_loss"].get<double>() << " nats";
      o << "\n";
      if (t.contains("data")) o << "data        " << t["data"].get<std::string>() << "\n";
    } catch (const nlohmann::json::exception&) {
      o << "training    (metadata unreadable)\n";
    }
  }
  auto src = i.metadata.find("model_args");
  if (src != i.metadata.end()) o << "model_args  " << src->second << "\n";
  return o.str();
}

Snapshot Model::run_text(const std::string& text, const RunOptions& options) {
  const ModelConfig& c = config();
  if (c.kind != ModelKind::text) throw Error("this is an image model: open an image, not text");
  if (text.empty()) throw Error("the text is empty: type or open some text to run");
  if (!options.mask_spans.empty() && !c.masked_lm)
    throw Error("only a masked LM fills in masked bytes: this model predicts the next byte");
  const std::shared_ptr<const Tokenizer>& tokenizer = impl_->tokenizer;
  if (!tokenizer) throw Error(missing_tokenizer_message());
  const bool bytes = tokenizer->kind() == Tokenizer::Kind::bytes;
  Snapshot snap;
  // Longer than the context: the last block_size tokens (a byte model's tokens are its bytes,
  // so only the last block_size bytes need encoding).
  const size_t encode_from = bytes && static_cast<int64_t>(text.size()) > c.block_size ? text.size() - static_cast<size_t>(c.block_size) : 0;
  std::vector<Token> all = tokenizer->encode(std::string_view(text).substr(encode_from));
  if (all.empty()) throw Error("the text is empty: type or open some text to run");
  const int64_t T = std::min(static_cast<int64_t>(all.size()), c.block_size);
  const auto first = all.end() - T;
  snap.text_offset = static_cast<int64_t>(encode_from) + first->begin;
  snap.dropped = snap.text_offset;
  snap.text = text.substr(static_cast<size_t>(snap.text_offset));
  snap.tokens = T;
  if (!bytes) {
    snap.tokenizer = tokenizer;
    for (auto t = first; t != all.end(); ++t) {
      snap.token_ids.push_back(t->id);
      snap.token_spans.emplace_back(t->begin - first->begin, t->end - first->begin);
    }
  }
  // A bidirectional FMA layout needs a power-of-two multiple of 2m tokens (padding is not
  // future there, unlike causal input): pad with spaces, the plainest byte of text.
  const int64_t run_length = uses_fma_bands(c.attention_kind) && c.attention.variant == Variant::bidirectional
                                 ? layout_length_at_least(c.attention.m, T)
                                 : T;
  const std::vector<Token> space = tokenizer->encode(" ");
  auto idx = torch::full({1, run_length}, space.size() == 1 ? space[0].id : int64_t{0}, torch::kLong);
  auto* p = idx.data_ptr<int64_t>();
  for (int64_t t = 0; t < T; ++t) {
    p[t] = first[t].id;
    if (p[t] >= c.vocab_size)
      throw Error("token " + std::to_string(p[t]) + " is outside this model's vocabulary of " + std::to_string(c.vocab_size));
  }
  std::vector<std::pair<int64_t, int64_t>> spans = options.mask_spans;
  if (options.mask_underscores && c.masked_lm)
    for (int64_t t = 0; t < T; ++t)
      if (snap.text[static_cast<size_t>(t)] == '_') spans.emplace_back(t, t + 1);
  if (!spans.empty()) {
    snap.masked.assign(static_cast<size_t>(T), 0);
    for (const auto& [start, end] : spans) {
      if (start < 0 || end > T || start >= end)
        throw Error("mask " + std::to_string(start) + ":" + std::to_string(end - start) + " is outside the " +
                    std::to_string(T) + " bytes run");
      for (int64_t t = start; t < end; ++t) {
        p[t] = kMaskToken;
        snap.masked[static_cast<size_t>(t)] = 1;
      }
    }
  }
  snap = impl_->run(idx, options, std::move(snap));
  if (run_length > T) {  // the padding's logits are no one's prediction
    snap.logits.shape[0] = T;
    snap.logits.data.resize(static_cast<size_t>(T * snap.logits.dim(1)));
  }
  if (!snap.masked.empty()) {
    snap.filled = snap.text;
    const int64_t V = snap.logits.dim(1);
    for (int64_t t = 0; t < T; ++t) {
      if (!snap.masked[static_cast<size_t>(t)]) continue;
      const float* row = &snap.logits.data[static_cast<size_t>(t * V)];
      // The most likely byte (the mask token itself is never an answer).
      snap.filled[static_cast<size_t>(t)] = static_cast<char>(std::max_element(row, row + std::min<int64_t>(V, 256)) - row);
    }
  }
  return snap;
}

Snapshot Model::run_image(const Image& image, const RunOptions& options) {
  const ModelConfig& c = config();
  if (c.kind != ModelKind::image) throw Error("this is a text model: type or open text, not an image");
  if (image.width < 1 || image.height < 1 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw Error("image is empty or malformed");
  auto input = image_to_input(image, c.channels, c.image_size);  // (1, ch, S, S)
  Snapshot snap;
  snap.tokens = c.grid_side() * c.grid_side();
  snap.image = to_array(input[0].permute({1, 2, 0}));
  return impl_->run(input, options, std::move(snap));
}

}  // namespace fmalens
