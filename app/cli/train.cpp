// fmalens train: trains a text GPT or an image ViT (FMA or dense) and writes a checkpoint.
#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/train_options.h"
#include "fmalens/image_folder.h"

namespace fmalens::cli {

std::shared_ptr<TrainCommandLine> add_train_options(CLI::App* cmd, bool with_out) {
  auto t = std::make_shared<TrainCommandLine>();
  TrainOptions* o = &t->options;
  std::string* kind = &t->kind;
  std::string* attention = &t->attention;
  std::string* variant = &t->variant;
  std::string* downsampling = &t->downsampling;
  std::string* boundary = &t->boundary;
  bool* quiet = &t->quiet;
  ModelConfig& m = o->model;
  if (with_out) cmd->add_option("--out", o->out, "Checkpoint to write (.safetensors); resume state goes to OUT.state")->required();
  cmd->add_option("--kind", *kind, "text or image")->check(CLI::IsMember({"text", "image"}));
  cmd->add_option("--attention", *attention,
                  "fma; or a baseline twin: dense (exact softmax), local (FMA's fine band alone, no coarse levels), elu_linear "
                  "(linear attention with the elu+1 feature map)")
      ->check(CLI::IsMember({"fma", "dense", "local", "elu_linear"}));
  cmd->add_option("--data", o->data, "Text file or folder / Fashion-MNIST folder (default: Debian's fortunes / fashion-mnist)");
  cmd->add_option("--layers", m.n_layer, "Transformer layers");
  cmd->add_option("--heads", m.n_head, "Attention heads");
  cmd->add_option("--embd", m.n_embd, "Embedding width");
  cmd->add_option("--block-size", m.block_size, "Text: context length n (with --init: the warm start's new context)")
      ->each([o](const std::string& v) { o->init_block_size = std::stoll(v); });
  cmd->add_option("--image-size", m.image_size, "Image: input side in pixels");
  cmd->add_option("--patch-size", m.patch_size, "Image: patch side in pixels");
  cmd->add_option("--stem-channels", m.stem_channels,
                  "Image: a convolutional stem before the patches, 3x3 convolutions to this many channels (0: none)")
      ->check(CLI::Range(0, 256));
  int64_t* stem_layers = &t->stem_layers;
  cmd->add_option("--stem-layers", *stem_layers, "Image: the stem's 3x3 convolutions (default 1 with --stem-channels)")
      ->check(CLI::Range(1, 4));
  cmd->add_option("--m", m.attention.m, "FMA fine block size (2D: cell side r)");
  cmd->add_option("--p", m.attention.p, "FMA summaries per block");
  cmd->add_option("--variant", *variant, "causal, bidirectional or 2d (default: causal for text, 2d for images)");
  cmd->add_option("--downsampling", *downsampling, "groupedconv (the reference's), conv, avgpool, or nested (1D: level l from level l-1's summaries by a 2p -> p map per channel; weights that do not grow with n)");
  cmd->add_option("--boundary", *boundary, "mask or zero_pad");
  cmd->add_flag("--query-downsampling", m.attention.query_downsampling, "The linear O(n) variant (bidirectional, 2d)");
  cmd->add_option("--steps", o->steps, "Optimizer steps (the schedule's length)");
  cmd->add_option("--time-limit", o->time_limit_s, "Stop after this many seconds; the schedule follows time");
  cmd->add_option("--sitting-limit", o->sitting_limit_s,
                  "Stop this sitting after this many seconds, saving the resume state; --resume continues the same schedule "
                  "(Ctrl-C or SIGTERM do the same at any time)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-size", o->batch_size, "Sequences or images per step");
  cmd->add_option("--seq-schedule", o->seq_schedule, "Text curriculum 'len[:batch][+len:batch...]@fraction,...', e.g. 128:64@0,1024:8@0.6; '+' mixes lengths in each step, e.g. 256:28+4096:1@0; the parts run one graph at a time, so 4096:1+4096:1 is a batch of two in one window's memory");
  cmd->add_option("--lr", o->lr, "Peak learning rate");
  cmd->add_option("--min-lr", o->min_lr, "Final learning rate of the cosine schedule");
  cmd->add_option("--weight-decay", o->weight_decay, "AdamW weight decay");
  cmd->add_option("--grad-clip", o->grad_clip, "Gradient norm clip (0: off)");
  cmd->add_option("--warmup", o->warmup, "Warm-up steps");
  cmd->add_option("--switch-warmup", o->switch_warmup,
                  "Text curricula: ramp the learning rate up again over this many steps after each length switch (0: off)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-interval", o->eval_interval, "Steps between evaluations and checkpoints");
  cmd->add_option("--eval-batches", o->eval_batches, "Batches per evaluation");
  cmd->add_option("--seed", o->seed, "Random seed (the initialisation, and the data order unless --data-seed)");
  cmd->add_option("--data-seed", o->data_seed,
                  "The data order (windows, offsets, masks, image batches) from this seed instead of --seed: seeds of one recipe "
                  "then tell the initialisation's share of their spread from the data order's")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)");
  cmd->add_option("--device", o->device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_flag("--resume", o->resume, "Continue the schedule from OUT.state when it exists; without it, from OUT's weights and history (fresh optimizer moments, ramped in over --warmup steps)");
  cmd->add_option("--init", o->init, "Warm start from this checkpoint's weights with a new schedule");
  cmd->add_option("--init-weights", o->init_weights,
                  "A new model from these options, starting from the tensors of this checkpoint that match by name and shape")
      ->excludes("--init");
  cmd->add_flag("--position-offsets", o->position_offsets, "Text: train short windows at random positions of the context");
  cmd->add_flag("--windows-within-files", o->windows_within_files,
                "Text folders: every training and validation window lies within one file (long contexts on source files)");
  cmd->add_flag("--masked", m.masked_lm,
                "Text: a masked byte LM (bidirectional; 15% of bytes masked in spans of 1-8, the loss on those)");
  cmd->add_option("--positions", t->positions,
                  "Text: learned (a block_size x width table, nanoGPT's) or none (causal attention infers positions; nothing "
                  "grows with the context)")
      ->check(CLI::IsMember({"learned", "none"}));
  int64_t* local_mixing = &t->local_mixing;
  cmd->add_option("--local-mixing", *local_mixing,
                  "Text, bidirectional: width of a depthwise convolution over the embeddings (0: none; default 9 for --masked)");
  cmd->add_flag("--no-augment", [o](int64_t) { o->augment = false; }, "Images: no random shifts and flips");
  int64_t* channels = &t->channels;
  cmd->add_option("--channels", *channels, "Images: 1 (gray) or 3 (colour); default 1 for Fashion-MNIST, 3 for an image folder")
      ->check(CLI::IsMember({1, 3}));
  cmd->add_option("--val-fraction", o->folder.val_fraction,
                  "Image folders without train/ and val/: the share of each class held out (default 0.1)");
  cmd->add_flag("--skip-bad-images", o->folder.skip_bad_images, "Image folders: leave out (and list) images that cannot be decoded");
  cmd->add_flag("--quiet", *quiet, "No progress bar");
  return t;
}

TrainOptions TrainCommandLine::resolved() const {
  TrainOptions opts = options;
  ModelConfig& mc = opts.model;
  mc.kind = kind == "text" ? ModelKind::text : ModelKind::image;
  mc.attention_kind = attention_kind_from_string(attention);
  if (mc.kind == ModelKind::image) {
    if (mc.image_size == 0) mc.image_size = 32;
    if (mc.patch_size == 0) mc.patch_size = 2;
    const bool folder = !opts.data.empty() && is_image_folder(opts.data);
    mc.channels = channels ? channels : folder ? 3 : 1;
    // An image folder's classes are its subfolders (the trainer reads them); else Fashion-MNIST's.
    mc.num_classes = 10;
    mc.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  }
  if (stem_layers >= 0) mc.stem_layers = stem_layers;
  else if (mc.stem_channels > 0 && mc.stem_layers == 0) mc.stem_layers = 1;
  if (mc.masked_lm) mc.vocab_size = kMaskToken + 1;
  mc.local_mixing = local_mixing >= 0 ? local_mixing : (mc.masked_lm ? 9 : 0);
  const char* default_variant = mc.kind == ModelKind::image ? "2d" : mc.masked_lm ? "bidirectional" : "causal";
  mc.attention.variant = variant_from_string(variant.empty() ? default_variant : variant);
  mc.attention.downsampling = downsampling_from_string(downsampling);
  if (positions != "learned" && positions != "none") throw ConfigError("--positions must be learned or none, got " + positions);
  mc.learned_positions = positions == "learned";
  mc.attention.boundary = boundary_from_string(boundary);
  return opts;
}

namespace {

// SIGINT / SIGTERM during a training: the sitting ends after the current step and writes its
// checkpoint and resume state (a second signal ends the program at once).
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_training_stop(int sig) {
  if (g_stop_signal != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
}

}  // namespace

StopSignals::StopSignals() {
  g_stop_signal = 0;
  previous_int_ = std::signal(SIGINT, request_training_stop);
  previous_term_ = std::signal(SIGTERM, request_training_stop);
}

StopSignals::~StopSignals() {
  std::signal(SIGINT, previous_int_);
  std::signal(SIGTERM, previous_term_);
}

int StopSignals::received() const { return g_stop_signal; }

int training_stop_signal() { return g_stop_signal; }

TrainResult run_training(const TrainOptions& opts, bool quiet) {
  const bool q = quiet;
  double last_print = -1;
  StopSignals signals;
  auto result = train(opts, [q, &last_print, &signals](const TrainProgress& p) {
    if (signals.received() != 0) return false;
    // At most twice a second (and the last step): the bar is for people, logs stay small.
    if (q || (p.elapsed_s - last_print < 0.5 && p.step < p.total_steps)) return true;
    last_print = p.elapsed_s;
    const double frac = p.fraction;
    const std::string length = p.seq_len ? " len " + std::to_string(p.seq_len) : "";
    char line[256];
    std::snprintf(line, sizeof(line), "\r%s step %lld/%lld loss %.4f val %s %.0f %s/s%s ETA %s   ",
                  progress_bar(frac).c_str(), static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.loss,
                  p.val_loss < 0 ? "-" : std::to_string(p.val_loss).substr(0, 6).c_str(), p.items_per_s,
                  p.seq_len ? "tok" : "img", length.c_str(), format_duration(p.eta_s).c_str());
    std::fputs(line, stderr);
    std::fflush(stderr);
    return true;
  });
  if (!q) std::fprintf(stderr, "\n");  // ends the progress bar's line
  if (result.stopped_early) {
    const char* why = signals.received() == SIGINT ? "interrupted (SIGINT)"
                      : signals.received() == SIGTERM ? "terminated (SIGTERM)"
                                                      : "stopped at the sitting limit";
    std::printf("%s at step %lld after %s in all; latest validation loss %.4f; wrote %s and its resume state; "
                "--resume continues the schedule\n",
                why, static_cast<long long>(result.steps), format_duration(result.wall_s).c_str(), result.val_loss,
                opts.out.c_str());
    return result;
  }
  std::printf("trained %lld steps in %s; final train loss %.4f, validation loss %.4f; wrote %s\n",
              static_cast<long long>(result.steps), format_duration(result.wall_s).c_str(), result.final_loss,
              result.val_loss, opts.out.c_str());
  return result;
}

void add_train(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("train", "Train a model (text: byte-level GPT; image: ViT) and save it as safetensors");
  auto t = add_train_options(cmd, true);
  cmd->callback([t, &action] {
    action = [t]() -> int {
      // 130 after an interrupt, as a shell reports a command ended by Ctrl-C (scripts see that the
      // schedule is not done); a sitting limit is a planned stop.
      const TrainResult r = run_training(t->resolved(), t->quiet);
      return r.stopped_early && training_stop_signal() != 0 ? 130 : 0;
    };
  });
}

}  // namespace fmalens::cli
