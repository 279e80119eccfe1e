// The input options shared by the commands that run a model (inspect, export): which
// checkpoint, and which text or image to run it on.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "fmalens/model.h"

namespace fmalens::cli {

struct InputOptions {
  std::string checkpoint;
  std::string text, text_file, image;
  int64_t window_start = -1;  // text files longer than the context: where the window starts
  std::string device = "auto";
};

void add_input_options(CLI::App* cmd, InputOptions& in);

// Runs `model` on the text or image the options name (exactly one of them).
Snapshot run_input(Model& model, const InputOptions& in, const RunOptions& options);

}  // namespace fmalens::cli
