// Training loop (AdamW, warm-up + cosine, clipping, resumable) and evaluation.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "fmalens/image_folder.h"
#include "fmalens/quote.h"
#include "fmalens/train.h"
#include "device.h"
#include "model/model_io.h"
#include "threads.h"
#include "train/adamw.h"
#include "train/datasets.h"

namespace fmalens {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }


void set_threads(int threads) { configure_threads(threads); }

// The training history kept in a checkpoint's or resume state's metadata ("training"), checked
// field by field: a damaged or hand-edited file fails here with its name and the field, not
// later inside nlohmann with neither. `text` absent (no history) gives an empty one.
nlohmann::json read_training_history(const std::string& path, const std::string* text) {
  if (text == nullptr) return nlohmann::json::object();
  const std::string where = shown_path(path) + ": training history";
  nlohmann::json h = nlohmann::json::parse(*text, nullptr, false);
  if (h.is_discarded()) throw Error(where + " (metadata \"training\") is not valid JSON");
  if (!h.is_object()) throw Error(where + " must be a JSON object");
  auto field_error = [&](const std::string& name, const char* rule) {
    return Error(where + ": field '" + name + "' must be " + rule + " (it is " + h[name].dump() + ")");
  };
  for (const char* name : {"steps_done", "sitting_step0", "phase_index", "phase_start_step"})
    if (h.contains(name) && !(h[name].is_number_integer() && h[name].get<int64_t>() >= 0))
      throw field_error(name, "a non-negative integer");
  for (const char* name : {"wall_s", "sitting_time0"})
    if (h.contains(name) && !(h[name].is_number() && h[name].get<double>() >= 0))
      throw field_error(name, "a non-negative number");
  for (const char* name : {"loss_curve", "previous_sittings"})
    if (h.contains(name) && !h[name].is_array()) throw field_error(name, "an array");
  if (h.contains("loss_curve"))
    for (const auto& point : h["loss_curve"])
      if (!point.is_object() || (point.contains("val") && !point["val"].is_number()))
        throw field_error("loss_curve", "an array of objects whose 'val' is a number");
  return h;
}

// One share of a step's batch: `batch` windows of `seq_len` tokens.
struct BatchPart {
  int64_t seq_len, batch;
  bool operator==(const BatchPart& o) const { return seq_len == o.seq_len && batch == o.batch; }
};

// A phase of a text curriculum, from `from` (a fraction of the schedule): each step trains on
// every part (usually one; "256:28+4096:1" mixes short windows with one of full length, so
// that the widest levels take part from the first step).
struct Phase {
  std::vector<BatchPart> parts;
  double from;
  // The longest part: what validation, the progress line and the loss curve report.
  const BatchPart& longest() const {
    return *std::max_element(parts.begin(), parts.end(), [](const BatchPart& a, const BatchPart& b) { return a.seq_len < b.seq_len; });
  }
};

std::vector<Phase> parse_schedule(const TrainOptions& o) {
  std::vector<Phase> out;
  if (o.seq_schedule.empty()) return {{{{o.model.block_size, o.batch_size}}, 0.0}};
  std::stringstream ss(o.seq_schedule);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Phase ph{{}, 0.0};
    const auto at = item.find('@');
    std::stringstream parts(item.substr(0, at));
    std::string part;
    try {
      while (std::getline(parts, part, '+')) {
        BatchPart bp{0, o.batch_size};
        const auto colon = part.find(':');
        size_t used = 0;
        bp.seq_len = std::stoll(part.substr(0, colon), &used);
        if (used != part.substr(0, colon).size()) throw std::invalid_argument(part);
        if (colon != std::string::npos) bp.batch = std::stoll(part.substr(colon + 1));
        if (bp.seq_len < 2 || bp.seq_len > o.model.block_size || bp.batch < 1)
          throw Error("seq schedule: length " + std::to_string(bp.seq_len) + " must be in [2, block_size " +
                      std::to_string(o.model.block_size) + "] with a positive batch");
        ph.parts.push_back(bp);
      }
      if (at != std::string::npos) ph.from = std::stod(item.substr(at + 1));
    } catch (const Error&) {
      throw;
    } catch (const std::exception&) {
      throw Error("seq schedule: cannot read " + quote(item) + " (expected len[:batch][+len:batch...]@fraction)");
    }
    const std::string spec = item.substr(0, at);
    if (ph.parts.empty() || ph.parts.size() != static_cast<size_t>(std::count(spec.begin(), spec.end(), '+')) + 1)
      throw Error("seq schedule: cannot read " + quote(item) + " (expected len[:batch][+len:batch...]@fraction)");
    out.push_back(ph);
  }
  if (out.empty()) throw Error("seq schedule is empty");
  return out;
}

const Phase& phase_at(const std::vector<Phase>& phases, double progress) {
  const Phase* cur = &phases.front();
  for (const auto& p : phases)
    if (progress >= p.from) cur = &p;
  return *cur;
}

double learning_rate(const TrainOptions& o, int64_t step, double progress) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  const double pi = 3.14159265358979323846;
  const double p = std::clamp(progress, 0.0, 1.0);
  return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + std::cos(pi * p));
}

// Augmented image batch: (b, 1, 28, 28) uint8 -> (b, 1, S, S) float.
torch::Tensor augment_images(const torch::Tensor& u8, int64_t size, std::mt19937_64& rng) {
  const int64_t b = u8.size(0);
  auto padded = torch::constant_pad_nd(u8, {2, 2, 2, 2});
  auto out = torch::empty_like(u8);
  std::uniform_int_distribution<int> shift(0, 4), coin(0, 1);
  for (int64_t i = 0; i < b; ++i) {
    auto crop = padded[i].narrow(1, shift(rng), u8.size(2)).narrow(2, shift(rng), u8.size(3));
    out[i].copy_(coin(rng) ? crop.flip({2}) : crop);
  }
  return resize_images(out, size);
}

struct Data {
  TextCorpus text;
  ImageDataset train_images, test_images;
  std::string description;
};

Data load_data(const ModelConfig& config, const std::string& path, bool need_train, const ImageFolderOptions& folder_options) {
  Data d;
  if (config.kind == ModelKind::text) {
    const std::string p = path.empty() ? kDefaultTextCorpus : path;
    d.text = load_text_corpus(p);
    d.description = p + " (" + std::to_string(d.text.train.size()) + " training bytes in " +
                    std::to_string(d.text.train_files.size()) + " files; " + std::to_string(d.text.val.size()) +
                    " held-out bytes in " + std::to_string(d.text.val_files.size()) + " files)";
  } else if (!path.empty() && is_image_folder(path)) {
    const ImageFolder folder = scan_image_folder(path, folder_options.val_fraction);
    if (folder.classes != config.class_names) {
      std::string mine, theirs;
      for (const auto& c : folder.classes) mine += (mine.empty() ? "" : ", ") + c;
      for (const auto& c : config.class_names) theirs += (theirs.empty() ? "" : ", ") + c;
      throw Error(shown_path(path) + ": its classes (" + mine + ") are not the model's (" + theirs + ")");
    }
    std::vector<std::string> skipped;
    if (need_train) d.train_images = load_image_folder(folder, true, config.channels, config.image_size, folder_options.skip_bad_images, &skipped);
    d.test_images = load_image_folder(folder, false, config.channels, config.image_size, folder_options.skip_bad_images, &skipped);
    for (const auto& why : skipped) std::fprintf(stderr, "skipped: %s\n", why.c_str());
    if (d.test_images.labels.size(0) == 0)
      throw Error(shown_path(path) + ": no held-out images (add a val/ folder beside train/, or raise --val-fraction)");
    d.description = path + " (image folder, " + std::to_string(folder.classes.size()) + " classes" +
                    (need_train ? ", train " + std::to_string(d.train_images.labels.size(0)) : "") + ", held out " +
                    std::to_string(d.test_images.labels.size(0)) +
                    (folder.split_by_folders ? " from val/" : "") +
                    (skipped.empty() ? "" : ", " + std::to_string(skipped.size()) + " unreadable skipped") + ")";
  } else {
    const std::string p = path.empty() ? kDefaultImageData : path;
    if (need_train) d.train_images = load_fashion_mnist(p, true);
    d.test_images = load_fashion_mnist(p, false);
    d.description = p + " (Fashion-MNIST" + (need_train ? ", train " + std::to_string(d.train_images.labels.size(0)) : "") +
                    ", test " + std::to_string(d.test_images.labels.size(0)) + ")";
  }
  return d;
}

// Mean cross-entropy of a text model on windows (b, T + 1) of bytes: next-byte prediction on
// [:, :T] -> [:, 1:], or for a masked LM the bytes behind spans masked in [:, :T].
torch::Tensor text_loss(Network& net, const torch::Tensor& windows, std::mt19937_64& rng, const torch::Device& device,
                        int64_t position_offset = 0) {
  const int64_t T = windows.size(1) - 1;
  if (net.config().masked_lm) {
    const MaskedBatch mb = mask_spans(windows.narrow(1, 0, T), rng);
    auto logits = net.forward(mb.inputs.to(device), nullptr, nullptr, position_offset);
    return torch::cross_entropy_loss(logits.reshape({-1, logits.size(2)}), mb.targets.to(device).reshape({-1}));
  }
  const auto w = windows.to(device);
  auto logits = net.forward(w.narrow(1, 0, T), nullptr, nullptr, position_offset);
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(2)}), w.narrow(1, 1, T).reshape({-1}));
}

// Images per evaluation batch: `wanted`, or fewer where one layer's attention scores at dense
// size (heads x tokens^2 floats an image) would pass 24 MB: at 250 images the 256-token dense
// model held 262 MB of scores three times a layer (1.8 GB peak; 24 images a batch: 0.34 GB).
int64_t image_eval_batch(const ModelConfig& config, int64_t wanted) {
  const int64_t tokens = config.sequence_length();
  const int64_t bytes_per_image = config.n_head * tokens * tokens * static_cast<int64_t>(sizeof(float));
  return std::clamp<int64_t>((24 << 20) / std::max<int64_t>(1, bytes_per_image), 1, wanted);
}

// Mean loss over `batches` fixed batches of held-out data.
double validation_loss(Network& net, const Data& data, int64_t seq_len, int64_t batch, int64_t batches,
                       const torch::Device& device, bool within_files) {
  torch::NoGradGuard no_grad;
  net.module().eval();
  std::mt19937_64 rng(12345);
  double total = 0;
  for (int64_t i = 0; i < batches; ++i) {
    torch::Tensor loss;
    if (net.config().kind == ModelKind::text) {
      loss = text_loss(net, sample_text_windows(data.text.val, batch, seq_len, rng, within_files ? &data.text.val_starts : nullptr), rng,
                       device);
    } else {
      // A held-out set smaller than a batch (a small image folder) is one batch.
      const int64_t n = data.test_images.labels.size(0), b = std::min(batch, n);
      const int64_t start = (i * b) % std::max<int64_t>(1, n - b + 1);
      // The same b images whatever the chunks: the mean of their losses.
      const int64_t chunk = image_eval_batch(net.config(), b);
      loss = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble));
      for (int64_t c = start; c < start + b; c += chunk) {
        const int64_t cb = std::min(chunk, start + b - c);
        auto x = resize_images(data.test_images.images.narrow(0, c, cb), net.config().image_size).to(device);
        loss += torch::cross_entropy_loss(net.forward(x), data.test_images.labels.narrow(0, c, cb).to(device),
                                          {}, torch::Reduction::Sum).to(torch::kCPU, torch::kDouble) / static_cast<double>(b);
      }
    }
    total += loss.item<double>();
  }
  net.module().train();
  return total / static_cast<double>(batches);
}

nlohmann::json options_json(const TrainOptions& o) {
  return {{"steps", o.steps},        {"time_limit_s", o.time_limit_s}, {"batch_size", o.batch_size},
          {"seq_schedule", o.seq_schedule}, {"lr", o.lr},             {"min_lr", o.min_lr},
          {"weight_decay", o.weight_decay}, {"grad_clip", o.grad_clip}, {"beta1", o.beta1},
          {"beta2", o.beta2},        {"warmup", o.warmup},             {"switch_warmup", o.switch_warmup},             {"eval_interval", o.eval_interval},
          {"eval_batches", o.eval_batches}, {"seed", o.seed},          {"data_seed", o.data_seed}, {"augment", o.augment},
          {"val_fraction", o.folder.val_fraction}, {"skip_bad_images", o.folder.skip_bad_images},
          {"init", o.init},          {"init_weights", o.init_weights},          {"position_offsets", o.position_offsets},
          {"windows_within_files", o.windows_within_files},
          {"data", o.data}};
}


// The data order's generators in the resume state, so that a training in sittings is the same
// training as one uninterrupted: the std generator (text windows, offsets, masks, augmentation)
// as its text form, LibTorch's CPU generator (image batches) as its state bytes; both U8.
constexpr const char* kDataRngKey = "optim.rng.data_order";
constexpr const char* kTorchRngKey = "optim.rng.torch_cpu";

TensorData byte_tensor(const uint8_t* bytes, size_t size) {
  TensorData d;
  d.dtype = DType::U8;
  d.shape = {static_cast<int64_t>(size)};
  d.bytes.assign(bytes, bytes + size);
  return d;
}

void save_generators(TensorMap& state, const std::mt19937_64& rng) {
  std::ostringstream text;
  text << rng;
  const std::string s = text.str();
  state[kDataRngKey] = byte_tensor(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  torch::Tensor bytes;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    bytes = gen.get_state().contiguous();
  }
  state[kTorchRngKey] = byte_tensor(bytes.data_ptr<uint8_t>(), static_cast<size_t>(bytes.numel()));
}

// False for a state written before the generators were saved (the caller reseeds by the step).
bool load_generators(const TensorMap& state, std::mt19937_64& rng, const std::string& path) {
  auto data = state.find(kDataRngKey), torch_cpu = state.find(kTorchRngKey);
  if (data == state.end() || torch_cpu == state.end()) return false;
  std::istringstream text(std::string(data->second.bytes.begin(), data->second.bytes.end()));
  text >> rng;
  if (text.fail()) throw Error(shown_path(path) + ": the saved data-order generator " + quote(kDataRngKey) + " does not parse");
  try {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(from_tensor_data(torch_cpu->second));
  } catch (const c10::Error&) {
    throw Error(shown_path(path) + ": the saved LibTorch generator state " + quote(kTorchRngKey) + " is not one");
  }
  return true;
}

}  // namespace

TrainResult train(const TrainOptions& options, const TrainCallback& callback) {
  if (options.out.empty()) throw Error("train: --out is required");
  set_threads(options.threads);
  const torch::Device device = select_device(options.device);
  const std::string state_path = options.out + ".state";

  // Model, optimizer and history: fresh, or from the resume state.
  std::unique_ptr<Network> net;
  nlohmann::json history = nlohmann::json::object();
  TensorMap resume_state;
  int64_t start_step = 0;
  double prior_wall = 0;
  // --resume without the state file (lost with a machine, say) but with the checkpoint: the same
  // schedule goes on from the checkpoint's weights and history, with fresh optimizer moments
  // (the checkpoint has none), ramped in over the warm-up's steps. Starting afresh instead would
  // overwrite that checkpoint with a new training.
  int64_t fresh_moments_ramp = 0;  // > 0: the learning rate ramps over this many steps from start_step
  const bool from_state = options.resume && std::filesystem::exists(state_path);
  const bool from_checkpoint = options.resume && !from_state && std::filesystem::exists(options.out);
  const bool resuming = from_state || from_checkpoint;
  if (resuming) {
    const std::string& source = from_state ? state_path : options.out;
    LoadedNetwork loaded = load_network(source);
    net = std::move(loaded.network);
    const auto it = loaded.metadata.find("training");
    if (it == loaded.metadata.end())
      throw Error(shown_path(source) + (from_state ? ": resume state" : ": checkpoint to resume") +
                  " without its training history (metadata \"training\")");
    history = read_training_history(source, &it->second);
    start_step = history.value("steps_done", int64_t{0});
    prior_wall = history.value("wall_s", 0.0);
    if (from_state) {
      resume_state = read_safetensors(state_path).tensors;
    } else {
      fresh_moments_ramp = std::max<int64_t>(1, options.warmup);
      std::fprintf(stderr,
                   "resume: %s not found; continuing the schedule from %s (step %lld) with fresh optimizer moments, "
                   "the learning rate ramped over %lld steps\n",
                   shown_path(state_path).c_str(), shown_path(options.out).c_str(), static_cast<long long>(start_step),
                   static_cast<long long>(fresh_moments_ramp));
    }
  } else if (!options.init.empty()) {
    // Warm start: the weights (and the history) of an earlier run, a fresh schedule.
    LoadedNetwork loaded = load_network(options.init);
    net = std::move(loaded.network);
    if (options.init_block_size > 0 && options.init_block_size != net->config().block_size) {
      if (net->config().kind != ModelKind::text) throw Error("--init with a new --block-size is for text models");
      ModelConfig grown = net->config();
      grown.block_size = options.init_block_size;
      validate(grown);
      torch::manual_seed(options.seed);
      auto rebuilt = std::make_unique<Network>(grown);
      const TransplantReport r = transplant_tensors(rebuilt->module(), net->module());
      std::fprintf(stderr, "init from %s at block size %lld (was %lld): %zu tensors copied, %zu partly (leading rows), %zu new\n",
                   shown_path(options.init).c_str(), static_cast<long long>(grown.block_size),
                   static_cast<long long>(net->config().block_size), r.copied.size(), r.partly_copied.size(), r.kept.size());
      for (const auto& k : r.partly_copied) std::fprintf(stderr, "  partly: %s\n", k.c_str());
      for (const auto& k : r.kept) std::fprintf(stderr, "  new:    %s\n", k.c_str());
      net = std::move(rebuilt);
    }
    const auto it = loaded.metadata.find("training");
    history = read_training_history(options.init, it != loaded.metadata.end() ? &it->second : nullptr);
    if (!history.contains("loss_curve")) history["loss_curve"] = nlohmann::json::array();
    prior_wall = history.value("wall_s", 0.0);
    start_step = history.value("steps_done", int64_t{0});
    history["previous_sittings"].push_back(history.value("options", nlohmann::json::object()));
    history["sitting_step0"] = start_step;
    history["sitting_time0"] = prior_wall;
    history.erase("phase_index");  // a new schedule: its phases start afresh
    history.erase("phase_start_step");
  } else {
    ModelConfig model = options.model;
    // An image folder names the classes (the model's head has one output per class folder).
    if (model.kind == ModelKind::image && !options.data.empty() && is_image_folder(options.data)) {
      const ImageFolder folder = scan_image_folder(options.data, options.folder.val_fraction);
      model.class_names = folder.classes;
      model.num_classes = static_cast<int64_t>(folder.classes.size());
    }
    validate(model);
    torch::manual_seed(options.seed);
    net = std::make_unique<Network>(model);
    history["loss_curve"] = nlohmann::json::array();
    if (!options.init_weights.empty()) {
      LoadedNetwork donor = load_network(options.init_weights);
      const TransplantReport r = transplant_tensors(net->module(), donor.network->module());
      if (r.copied.empty() && r.partly_copied.empty())
        throw Error(shown_path(options.init_weights) + ": no tensor matches this model's names and shapes");
      std::fprintf(stderr, "init weights from %s: %zu tensors copied, %zu partly (leading rows), %zu kept their initialisation\n",
                   shown_path(options.init_weights).c_str(), r.copied.size(), r.partly_copied.size(), r.kept.size());
      for (const auto& k : r.partly_copied) std::fprintf(stderr, "  partly: %s\n", k.c_str());
      for (const auto& k : r.kept) std::fprintf(stderr, "  kept:   %s\n", k.c_str());
    }
  }
  TrainOptions o = options;
  o.model = net->config();
  const ModelConfig& config = net->config();
  history["options"] = options_json(o);
  // This sitting's schedule starts here (a warm start continues the step count and clock).
  const int64_t sitting_step0 = history.value("sitting_step0", int64_t{0});
  const double sitting_time0 = history.value("sitting_time0", 0.0);

  Data data = load_data(config, o.data, true, o.folder);
  history["data"] = data.description;
  const auto phases = parse_schedule(o);

  net->to(device);
  net->module().train();
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (auto& p : net->module().named_parameters()) params.emplace_back(p.key(), p.value());
  AdamW opt(params, o.beta1, o.beta2, o.weight_decay);
  if (!resume_state.empty()) opt.load(resume_state, start_step, state_path);
  std::vector<torch::Tensor> param_list;
  for (auto& p : params) param_list.push_back(p.second);

  const uint64_t data_seed = o.data_seed >= 0 ? static_cast<uint64_t>(o.data_seed) : o.seed;
  std::mt19937_64 rng(data_seed);
  // Image batches are drawn with LibTorch's generator: from the data seed when it is set apart.
  if (o.data_seed >= 0) torch::manual_seed(data_seed);
  // A resumed sitting continues both generators where the stopped one left them; a state from
  // before they were saved (or a warm start, a new schedule) reseeds them by the step.
  if (!(!resume_state.empty() && load_generators(resume_state, rng, state_path)) && start_step > 0) {
    rng.seed(data_seed + static_cast<uint64_t>(start_step) * 7919);
    if (o.data_seed >= 0) torch::manual_seed(data_seed + static_cast<uint64_t>(start_step) * 7919);
  }
  const auto t0 = Clock::now();
  double ema = 0, smooth = 0, last_val = -1;
  // A resumed schedule's latest validation is the previous sitting's last one (until this one measures).
  if (resuming)
    for (auto it = history["loss_curve"].rbegin(); it != history["loss_curve"].rend(); ++it)
      if (it->contains("val")) {
        last_val = (*it)["val"].get<double>();
        break;
      }
  int64_t ema_count = 0;
  int64_t step = start_step;
  const Phase* phase_now = nullptr;  // the current phase of the curriculum
  int64_t phase_start_step = start_step;  // and where it began
  // A resumed sitting continues inside the phase the stopped one was in (a --switch-warmup ramp
  // goes on where it stopped, and a switch at the first step is seen as one).
  if (resuming && history.contains("phase_index")) {
    const auto index = history["phase_index"].get<size_t>();
    if (index < phases.size()) {
      phase_now = &phases[index];
      phase_start_step = history.value("phase_start_step", start_step);
    }
  }
  double items_per_s = 0;

  auto save = [&](bool final_save) {
    history["steps_done"] = step;
    history["wall_s"] = prior_wall + seconds_since(t0);
    if (phase_now != nullptr) {
      history["phase_index"] = static_cast<size_t>(phase_now - phases.data());
      history["phase_start_step"] = phase_start_step;
    }
    history["device"] = device.str();
    std::map<std::string, std::string> meta{{"training", history.dump()}};
    // The resume state (model + optimizer), then the shipped checkpoint (model only).
    TensorMap state = opt.state();
    save_generators(state, rng);
    save_network(state_path, *net, meta, state);
    save_network(o.out, *net, meta);
    (void)final_save;
  };

  bool stop = false;
  while (!stop && step - sitting_step0 < o.steps) {
    if (o.sitting_limit_s > 0 && seconds_since(t0) >= o.sitting_limit_s) {
      stop = true;
      break;
    }
    const double elapsed = prior_wall + seconds_since(t0) - sitting_time0;
    const int64_t sitting_step = step - sitting_step0;
    double progress = static_cast<double>(sitting_step) / static_cast<double>(o.steps);
    if (o.time_limit_s > 0) progress = std::max(progress, elapsed / o.time_limit_s);
    if (progress >= 1.0) break;
    const Phase& ph = phase_at(phases, progress);
    if (phase_now != nullptr && ph.parts != phase_now->parts) phase_start_step = step;
    phase_now = &ph;
    double lr = learning_rate(o, sitting_step, progress);
    if (o.switch_warmup > 0 && phase_start_step > sitting_step0 && step - phase_start_step < o.switch_warmup)
      lr *= static_cast<double>(step - phase_start_step + 1) / static_cast<double>(o.switch_warmup);
    if (step - start_step < fresh_moments_ramp)
      lr *= static_cast<double>(step - start_step + 1) / static_cast<double>(fresh_moments_ramp);
    const auto ts = Clock::now();

    for (auto& p : param_list) p.mutable_grad() = torch::Tensor();
    double lv = 0;  // this step's loss, mean over its tokens
    int64_t items = 0;
    if (config.kind == ModelKind::text) {
      for (const auto& part : ph.parts) items += part.batch * part.seq_len;
      for (const auto& part : ph.parts) {
        auto w = sample_text_windows(data.text.train, part.batch, part.seq_len, rng,
                                     o.windows_within_files ? &data.text.train_starts : nullptr);
        // Short windows placed at random positions of the context (multiples of their length,
        // so the FMA blocks keep their alignment): every position embedding gets trained.
        int64_t offset = 0;
        if (o.position_offsets && part.seq_len < config.block_size) {
          std::uniform_int_distribution<int64_t> slot(0, config.block_size / part.seq_len - 1);
          offset = slot(rng) * part.seq_len;
        }
        // Each part weighs by its tokens; gradients add up over the parts (one graph at a time).
        const double share = static_cast<double>(part.batch * part.seq_len) / static_cast<double>(items);
        auto loss = text_loss(*net, w, rng, device, offset);
        (loss * share).backward();  // share 1 for a single part: exactly the plain loss
        lv += share * loss.item<double>();
      }
    } else {
      const int64_t n = data.train_images.labels.size(0);
      auto idx = torch::randint(n, {o.batch_size}, torch::TensorOptions().dtype(torch::kLong));
      auto u8 = data.train_images.images.index_select(0, idx);
      auto x = o.augment ? augment_images(u8, config.image_size, rng) : resize_images(u8, config.image_size);
      auto loss = torch::cross_entropy_loss(net->forward(x.to(device)), data.train_images.labels.index_select(0, idx).to(device));
      loss.backward();
      lv = loss.item<double>();
      items = o.batch_size;
    }
    if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(param_list, o.grad_clip);
    opt.step(lr);
    ++step;

    if (!std::isfinite(lv)) throw Error("training diverged at step " + std::to_string(step) + " (loss is not finite); lower --lr");
    // Bias-corrected moving average (an unbiased start, like Adam's moments).
    ema = 0.98 * ema + 0.02 * lv;
    smooth = ema / (1 - std::pow(0.98, static_cast<double>(++ema_count)));
    const double dt = seconds_since(ts);
    items_per_s = items_per_s == 0 ? items / dt : 0.9 * items_per_s + 0.1 * items / dt;

    const bool eval_now = step % o.eval_interval == 0 || step - sitting_step0 == o.steps;
    if (eval_now) {
      const int64_t vlen = config.kind == ModelKind::text ? ph.longest().seq_len : 0;
      last_val = validation_loss(*net, data, vlen, config.kind == ModelKind::text ? ph.longest().batch : 256, o.eval_batches, device,
                                 o.windows_within_files);
    }
    if (step % 10 == 0 || eval_now) {
      nlohmann::json point = {{"step", step}, {"time", prior_wall + seconds_since(t0)}, {"train", smooth},
                              {"lr", lr}};
      if (eval_now) point["val"] = last_val;
      if (config.kind == ModelKind::text) point["seq_len"] = ph.longest().seq_len;
      history["loss_curve"].push_back(point);
    }
    if (eval_now) save(false);

    TrainProgress pr;
    pr.step = step - sitting_step0;
    pr.total_steps = o.steps;
    pr.loss = smooth;
    pr.val_loss = last_val;
    pr.items_per_s = items_per_s;
    pr.elapsed_s = prior_wall + seconds_since(t0) - sitting_time0;
    const double frac = o.time_limit_s > 0 ? std::max(static_cast<double>(pr.step) / o.steps, pr.elapsed_s / o.time_limit_s)
                                           : static_cast<double>(pr.step) / o.steps;
    pr.fraction = frac;
    pr.eta_s = frac > 0 ? pr.elapsed_s * (1 - frac) / frac : 0;
    pr.seq_len = config.kind == ModelKind::text ? ph.longest().seq_len : 0;
    if (callback && !callback(pr)) stop = true;
  }
  if (!stop) {
    const int64_t final_len = config.kind == ModelKind::text ? phases.back().longest().seq_len : 0;
    last_val = validation_loss(*net, data, final_len, config.kind == ModelKind::text ? phases.back().longest().batch : 256,
                               o.eval_batches, device, o.windows_within_files);
    history["final_val_loss"] = last_val;
  }
  save(true);
  TrainResult r;
  r.stopped_early = stop;
  r.steps = step;
  r.final_loss = smooth;
  r.val_loss = last_val;
  r.wall_s = prior_wall + seconds_since(t0);
  return r;
}

namespace {

// The held-out files of --context: data/heldout/ when there is one, else the folder's files,
// else the file; sorted by path, each cut to its first kContextEvalFileBytes.
std::vector<std::pair<std::string, std::string>> context_eval_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty()) throw Error("eval --context needs --data (a file, a folder, or a folder with heldout/)");
  fs::path root(path);
  if (fs::is_directory(root / "heldout", ec)) root /= "heldout";
  std::vector<std::string> paths;
  if (fs::is_directory(root, ec)) {
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec)) paths.push_back(it->path().string());
    std::sort(paths.begin(), paths.end());
  } else if (fs::is_regular_file(root, ec)) {
    paths.push_back(root.string());
  } else {
    throw Error("eval --context: " + shown_path(path) + " is neither a file nor a folder");
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& p : paths) {
    std::FILE* f = std::fopen(p.c_str(), "rb");
    if (!f) throw Error("eval --context: cannot read " + shown_path(p));
    std::string bytes(static_cast<size_t>(kContextEvalFileBytes), '\0');
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
    std::fclose(f);
    if (bytes.size() >= 2) files.emplace_back(p, std::move(bytes));
  }
  if (files.empty()) throw Error("eval --context: no file of 2 bytes or more in " + shown_path(root.string()));
  return files;
}

void evaluate_with_context(Network& net, const torch::Device& device, const std::string& data_path, int64_t N, int64_t limit,
                           const std::function<void(double)>& progress, EvalResult* r) {
  const ModelConfig& config = net.config();
  if (config.kind != ModelKind::text || config.masked_lm)
    throw Error("eval --context is for causal text models (this one is " + std::string(config.masked_lm ? "a masked LM" : "an image model") + ")");
  if (N < 2 || N % 2 != 0 || N > config.block_size)
    throw Error("eval --context " + std::to_string(N) + ": must be even, at least 2 and at most the model's context (" +
                std::to_string(config.block_size) + " bytes)");
  const auto files = context_eval_files(data_path);
  r->by_offset = {{"0-1K", 0, 1024}, {"1K-4K", 1024, 4096}, {"4K-16K", 4096, 16384}, {"16K-64K", 16384, 65536}, {"64K+", 65536, INT64_MAX}};
  std::vector<double> bucket_nll(r->by_offset.size(), 0.0);
  int64_t total = 0, done = 0;
  for (const auto& f : files) total += static_cast<int64_t>(f.second.size()) - 1;
  if (limit > 0) total = std::min(total, limit);
  double nll = 0;
  for (const auto& [path, text] : files) {
    const int64_t F = static_cast<int64_t>(text.size());
    int64_t scored_to = 0;  // targets 1..scored_to are scored
    for (int64_t s = 0; scored_to < F - 1 && done < total; s += N / 2) {
      const int64_t len = std::min(N, F - 1 - s);  // inputs s..s+len-1 predict targets s+1..s+len
      auto w = torch::empty({1, len + 1}, torch::kLong);
      auto* wp = w.data_ptr<int64_t>();
      for (int64_t t = 0; t <= len; ++t) wp[t] = static_cast<uint8_t>(text[static_cast<size_t>(s + t)]);
      const auto logits = net.forward(w.narrow(1, 0, len).to(device)).to(torch::kCPU).to(torch::kDouble);
      const auto losses = torch::cross_entropy_loss(logits.reshape({len, logits.size(2)}), w.narrow(1, 1, len).reshape({-1}), {},
                                                    torch::Reduction::None);  // (len): target s+1+j
      const auto* lp = losses.data_ptr<double>();
      for (int64_t j = std::max<int64_t>(0, scored_to - s); j < len && done < total; ++j, ++done) {
        const int64_t offset = s + 1 + j;
        nll += lp[j];
        for (size_t b = 0; b < r->by_offset.size(); ++b)
          if (offset >= r->by_offset[b].from && offset < r->by_offset[b].to) {
            bucket_nll[b] += lp[j];
            ++r->by_offset[b].bytes;
          }
      }
      scored_to = s + len;
      if (progress) progress(static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total, 1)));
    }
  }
  for (size_t b = 0; b < r->by_offset.size(); ++b)
    r->by_offset[b].bits_per_byte = r->by_offset[b].bytes > 0 ? bucket_nll[b] / static_cast<double>(r->by_offset[b].bytes) / std::log(2.0) : 0.0;
  r->items = done;
  r->loss = nll / static_cast<double>(std::max<int64_t>(1, done));
  r->metric = "bits_per_byte";
  r->value = r->loss / std::log(2.0);
  r->context = N;
  r->data = std::to_string(files.size()) + " held-out files of " + shown_path(data_path) + " (first 128 KiB each), windows of " +
            std::to_string(N) + " bytes, stride " + std::to_string(N / 2);
}

}  // namespace

EvalResult evaluate(const std::string& checkpoint, const std::string& data_path, int64_t limit,
                    const std::string& device_name, const std::function<void(double)>& progress, const ImageFolderOptions& folder,
                    int64_t context, int64_t mask_span) {
  const auto t0 = Clock::now();
  set_threads(0);
  const torch::Device device = select_device(device_name);
  LoadedNetwork loaded = load_network(checkpoint);
  Network& net = *loaded.network;
  net.to(device);
  net.module().eval();
  torch::NoGradGuard no_grad;
  const ModelConfig& config = net.config();
  if (context > 0) {
    EvalResult r;
    evaluate_with_context(net, device, data_path, context, limit, progress, &r);
    r.wall_s = seconds_since(t0);
    return r;
  }
  if (mask_span != 0 && !(config.kind == ModelKind::text && config.masked_lm))
    throw Error("eval: --mask-span applies to masked LMs; " + shown_path(checkpoint) + " is not one");
  if (mask_span == 0) mask_span = kTrainingMaskSpan;
  Data data = load_data(config, data_path, false, folder);
  EvalResult r;
  r.data = data.description;
  double nll = 0;
  if (config.kind == ModelKind::text && config.masked_lm) {
    // Bits per masked byte: windows of block_size over the held-out text (the last one ends
    // at the text's end and scores only bytes no earlier window scored), spans masked with a
    // fixed seed so that the figure repeats.
    const std::string& text = data.text.val;
    const int64_t total = limit > 0 ? std::min<int64_t>(limit, static_cast<int64_t>(text.size())) : static_cast<int64_t>(text.size());
    int64_t T = std::min<int64_t>(config.block_size, total);
    if (T < 2 * config.attention.m && uses_fma_bands(config.attention_kind))
      throw Error("eval: " + std::to_string(total) + " held-out bytes are too few for this model");
    // A bidirectional FMA layout runs m * 2^k bytes: held-out text shorter than the model's
    // window is read by the longest such windows it fills (the last one overlapping), not padded.
    if (T < config.block_size && uses_fma_bands(config.attention_kind) && config.attention.variant == Variant::bidirectional)
      T = layout_length_at_most(config.attention.m, T);
    if (mask_span < 1 || mask_span > T)
      throw Error("eval: --mask-span " + std::to_string(mask_span) + " is outside 1.." + std::to_string(T) + ", the windows " +
                  shown_path(checkpoint) + " reads of this data");
    r.mask_span = mask_span;
    std::mt19937_64 rng(20261204);
    int64_t scored_to = 0;
    r.by_mask_gap = {{"alone", 1, 2}, {"1", 1, 2}, {"2", 2, 3}, {"3", 3, 4}, {"4+", 4, INT64_MAX}};
    std::vector<double> gap_nll(r.by_mask_gap.size(), 0.0);
    for (int64_t s = 0; scored_to < total; s = std::min(s + T, total - T)) {
      auto w = torch::empty({1, T}, torch::kLong);
      auto* wp = w.data_ptr<int64_t>();
      for (int64_t t = 0; t < T; ++t) wp[t] = static_cast<uint8_t>(text[static_cast<size_t>(s + t)]);
      MaskedBatch mb = mask_spans(w, rng, kTrainingMaskRate, mask_span);
      if (scored_to > s) mb.targets.narrow(1, 0, scored_to - s).fill_(-100);
      auto logits = net.forward(mb.inputs.to(device));
      // (T) nats per place, 0 where nothing is scored.
      const auto per_byte = torch::cross_entropy_loss(logits.reshape({-1, logits.size(2)}), mb.targets.to(device).reshape({-1}), {},
                                                      torch::Reduction::None)
                                .to(torch::kCPU, torch::kDouble)
                                .contiguous();
      const double* place_nll = per_byte.data_ptr<double>();
      const int64_t* in = mb.inputs.data_ptr<int64_t>();
      const int64_t* tg = mb.targets.data_ptr<int64_t>();
      // Runs of masked places; a byte's gap is its distance to the nearest seen byte inside the window.
      for (int64_t a = 0; a < T;) {
        if (in[a] != kMaskToken) {
          ++a;
          continue;
        }
        int64_t b = a;
        while (b < T && in[b] == kMaskToken) ++b;
        for (int64_t t = a; t < b; ++t) {
          if (tg[t] < 0) continue;
          const int64_t left = a > 0 ? t - a + 1 : INT64_MAX, right = b < T ? b - t : INT64_MAX;
          const int64_t gap = std::min(left, right);
          size_t k = 0;
          if (b - a > 1 || a == 0 || b == T)
            for (k = 1; k + 1 < r.by_mask_gap.size() && gap >= r.by_mask_gap[k].to;) ++k;
          gap_nll[k] += place_nll[t];
          ++r.by_mask_gap[k].bytes;
          nll += place_nll[t];
          ++r.items;
        }
        a = b;
      }
      scored_to = s + T;
      if (progress) progress(static_cast<double>(scored_to) / static_cast<double>(total));
    }
    r.loss = nll / static_cast<double>(std::max<int64_t>(1, r.items));
    r.metric = "bits_per_masked_byte";
    r.value = r.loss / std::log(2.0);
    for (size_t k = 0; k < r.by_mask_gap.size(); ++k)
      r.by_mask_gap[k].bits_per_byte = gap_nll[k] / static_cast<double>(std::max<int64_t>(1, r.by_mask_gap[k].bytes)) / std::log(2.0);
  } else if (config.kind == ModelKind::text) {
    const std::string& text = data.text.val;
    const int64_t total = limit > 0 ? std::min<int64_t>(limit, static_cast<int64_t>(text.size())) : static_cast<int64_t>(text.size());
    const int64_t T = config.block_size, batch = 4;
    std::vector<int64_t> starts;
    for (int64_t s = 0; s + 1 < total; s += T) starts.push_back(s);
    auto window_len = [&](size_t j) { return std::min(T, total - 1 - starts[j]); };
    size_t i = 0;
    while (i < starts.size()) {
      // Up to `batch` windows of one length (all full but possibly the last one).
      const int64_t len = window_len(i);
      std::vector<torch::Tensor> rows;
      while (i < starts.size() && static_cast<int64_t>(rows.size()) < batch && window_len(i) == len) {
        auto w = torch::empty({len + 1}, torch::kLong);
        auto* wp = w.data_ptr<int64_t>();
        for (int64_t t = 0; t <= len; ++t) wp[t] = static_cast<uint8_t>(text[static_cast<size_t>(starts[i] + t)]);
        rows.push_back(w);
        ++i;
      }
      auto w = torch::stack(rows).to(device);
      auto logits = net.forward(w.narrow(1, 0, len));
      nll += torch::cross_entropy_loss(logits.reshape({-1, logits.size(2)}), w.narrow(1, 1, len).reshape({-1}),
                                       {}, torch::Reduction::Sum).item<double>();
      r.items += static_cast<int64_t>(rows.size()) * len;
      if (progress) progress(static_cast<double>(r.items) / static_cast<double>(total));
    }
    r.loss = nll / static_cast<double>(std::max<int64_t>(1, r.items));
    r.metric = "bits_per_byte";
    r.value = r.loss / std::log(2.0);
  } else {
    const auto& ds = data.test_images;
    const int64_t n = limit > 0 ? std::min<int64_t>(limit, ds.labels.size(0)) : ds.labels.size(0);
    int64_t correct = 0;
    const int64_t batch = image_eval_batch(config, 250);
    for (int64_t s = 0; s < n; s += batch) {
      const int64_t b = std::min<int64_t>(batch, n - s);
      auto logits = net.forward(resize_images(ds.images.narrow(0, s, b), config.image_size).to(device));
      auto labels = ds.labels.narrow(0, s, b).to(device);
      nll += torch::cross_entropy_loss(logits, labels, {}, torch::Reduction::Sum).item<double>();
      correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
      if (progress) progress(static_cast<double>(s + b) / static_cast<double>(n));
    }
    r.items = n;
    r.loss = nll / static_cast<double>(std::max<int64_t>(1, n));
    r.metric = "accuracy";
    r.value = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, n));
  }
  r.wall_s = seconds_since(t0);
  return r;
}

}  // namespace fmalens
