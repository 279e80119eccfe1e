// The options `fmalens train` and `fmalens sweep` share: one TrainOptions filled from the
// command line, and the training run with its progress bar.
#pragma once

#include <memory>
#include <string>

#include "cli/cli.h"
#include "fmalens/train.h"

namespace fmalens::cli {

struct TrainCommandLine {
  TrainOptions options;  // as parsed; the model's kind, attention and variant still as words
  std::string kind = "text", attention = "fma", variant, downsampling = "groupedconv", boundary = "mask", positions = "learned";
  int64_t local_mixing = -1, channels = 0, stem_layers = -1;
  bool quiet = false;
  // The options with the model config completed (kind, attention kind, variant, defaults of
  // image models and masked LMs). Throws ConfigError for a bad word.
  TrainOptions resolved() const;
};

// Registers the training options on `cmd` (with --out when `with_out`).
std::shared_ptr<TrainCommandLine> add_train_options(CLI::App* cmd, bool with_out);

// Trains with a progress bar on stderr (none when `quiet`) and a summary line on stdout.
TrainResult run_training(const TrainOptions& options, bool quiet);
// SIGINT / SIGTERM for as long as it lives: the first is recorded (a training ends after its
// current step and saves its state), a second ends the program at once. Puts the previous
// handlers back when it goes.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const;  // the signal, or 0

 private:
  void (*previous_int_)(int) = nullptr;
  void (*previous_term_)(int) = nullptr;
};

// The signal (SIGINT, SIGTERM) that stopped the last run_training, or 0.
int training_stop_signal();

}  // namespace fmalens::cli
