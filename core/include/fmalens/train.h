// Training and evaluation of the shipped model families (text GPT, image ViT).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fmalens/config.h"

namespace fmalens {

// Image folders (fmalens/image_folder.h): the held-out share of each class when there are no
// train/ and val/ folders, and whether images that cannot be decoded are left out (and listed
// on stderr) instead of refused.
struct ImageFolderOptions {
  double val_fraction = 0.1;
  bool skip_bad_images = false;
};

struct TrainOptions {
  std::string out;          // checkpoint to write (.safetensors); its resume state goes to out + ".state"
  ModelConfig model;        // the model to create (ignored when resuming)
  std::string data;         // text: file or folder; image: Fashion-MNIST folder. Empty: the default
  int64_t steps = 1000;     // optimizer steps (the schedule's length)
  double time_limit_s = 0;  // > 0: stop after this wall time; the schedule then follows time
  // > 0: this sitting stops after this many seconds of its own and saves the resume state; the
  // schedule (steps, time limit, curriculum) is the whole run's, so --resume continues it.
  double sitting_limit_s = 0;
  int64_t batch_size = 16;  // sequences or images per step
  // Text: sequence-length curriculum "len@fraction,...": e.g. "128@0,512@0.5" trains on 128
  // bytes, then 512 from half-way; batch sizes scale so that bytes per step stay constant.
  // Empty: block_size throughout.
  std::string seq_schedule;
  double lr = 1e-3, min_lr = 1e-4, weight_decay = 0.1, grad_clip = 1.0;
  double beta1 = 0.9, beta2 = 0.99;
  int64_t warmup = 100;
  // Text curricula: the learning rate ramps up again over this many steps after each length
  // switch (0: off), so that the levels and positions a longer window meets for the first time
  // are not hit at full rate (a resumed sitting does not repeat a ramp it stopped inside).
  int64_t switch_warmup = 0;
  int64_t eval_interval = 250;  // steps between evaluations (and checkpoints)
  int64_t eval_batches = 8;
  uint64_t seed = 1337;          // the initialisation (and, unless data_seed is set, the data order)
  // >= 0: the data order (windows, their offsets, masks, image batches and augmentation) from
  // this seed instead of `seed`, so that seeds of one recipe can tell the initialisation's share
  // of their spread from the data order's. -1: follows `seed`.
  int64_t data_seed = -1;
  int threads = 0;              // 0: all cores
  std::string device = "auto";  // auto | cpu | cuda
  bool resume = false;          // continue from out + ".state" when it exists, else from out (fresh moments)
  std::string init;             // warm start: weights (and history) of this checkpoint, a new schedule
  // --init with a new context (text; 0: the checkpoint's): the model is rebuilt at this
  // block_size and takes every tensor of the checkpoint that fits (a position table its
  // leading rows); the longer levels of groupedconv start as averaging.
  int64_t init_block_size = 0;
  // warm start across shapes: a fresh model from the options, then every tensor of this
  // checkpoint with a matching name and shape (e.g. a causal LM's into a masked LM)
  std::string init_weights;
  bool windows_within_files = false;  // text folders: no training or validation window spans two files
  bool position_offsets = false;  // text: place short windows at random positions of the context
  bool augment = true;          // images: random shifts and flips
  ImageFolderOptions folder;    // images: --data an image folder
};

struct TrainProgress {
  int64_t step = 0, total_steps = 0;
  double loss = 0;            // smoothed training loss (nats per token or per image)
  double val_loss = -1;       // latest evaluation, -1 before the first
  double items_per_s = 0;     // tokens/s (text) or images/s
  double elapsed_s = 0, eta_s = 0;
  double fraction = 0;        // of the schedule done (steps or time, whichever is further)
  int64_t seq_len = 0;
};

// Called after every step; return false to stop (the checkpoint is still written).
using TrainCallback = std::function<bool(const TrainProgress&)>;

struct TrainResult {
  int64_t steps = 0;
  double final_loss = 0, val_loss = 0, wall_s = 0;
  // The sitting ended before its schedule did (the callback asked, or the sitting limit): the
  // checkpoint and resume state are written, val_loss is the latest evaluation's.
  bool stopped_early = false;
};

// Trains and writes `options.out` atomically (at every evaluation and at the end). The
// checkpoint's metadata holds the loss curve and the full training configuration.
TrainResult train(const TrainOptions& options, const TrainCallback& callback);

// Bits per byte of the bytes whose offset in their file lies in [from, to) (--context).
struct OffsetBucket {
  std::string name;  // "0-1K", "1K-4K", "4K-16K", "16K-64K", "64K+"
  int64_t from = 0, to = 0;
  double bits_per_byte = 0;
  int64_t bytes = 0;
};

struct EvalResult {
  std::string metric;  // "bits_per_byte" or "accuracy"
  double value = 0;
  double loss = 0;     // mean cross-entropy, nats
  int64_t items = 0;   // bytes predicted or images classified
  std::string data;    // what was evaluated
  double wall_s = 0;
  int64_t mask_span = 0;               // masked LMs: the longest masked span
  int64_t context = 0;                 // --context: the window length
  std::vector<OffsetBucket> by_offset;  // --context: every scored byte in one bucket
  // Masked LMs: the masked bytes by how far they lie from the nearest byte the model sees,
  // every masked byte in one bucket: "alone" (a span of one, both neighbours seen), then the
  // bytes of longer runs at distance 1 (a run's edges), 2, 3 and 4+ ([from, to) distances).
  std::vector<OffsetBucket> by_mask_gap;
};

// Masked LMs train on kTrainingMaskRate of each window masked in spans of 1..kTrainingMaskSpan bytes.
constexpr double kTrainingMaskRate = 0.15;
constexpr int64_t kTrainingMaskSpan = 8;

// The first 128 KiB of a file are what --context scores of it.
constexpr int64_t kContextEvalFileBytes = 128 * 1024;

// Text: bits per byte on the held-out files (non-overlapping windows of block_size).
// Image: top-1 accuracy on the test split (an image folder's held-out images). `limit` > 0 caps the bytes or images evaluated.
// `context` > 0 (causal text models): every byte of the held-out files (data's heldout/ folder
// as it is, or the folder or file itself; the first 128 KiB of each file) scored once, by
// sliding windows of `context` bytes with stride context/2 inside its own file, so that each
// byte has up to `context` bytes of its file before it; the result also holds bits/byte by
// the byte's offset in its file.
// Masked LMs: bits per masked byte with kTrainingMaskRate of each window masked in spans of 1..`mask_span`
// bytes (a fixed seed; 0: kTrainingMaskSpan, as trained); mask_span 1 masks single bytes, each
// predicted from both sides. A non-zero mask_span is refused for models that are not masked LMs.
EvalResult evaluate(const std::string& checkpoint, const std::string& data, int64_t limit = 0,
                    const std::string& device = "auto",
                    const std::function<void(double)>& progress = nullptr, const ImageFolderOptions& folder = {},
                    int64_t context = 0, int64_t mask_span = 0);

}  // namespace fmalens
