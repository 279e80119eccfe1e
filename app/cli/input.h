// The input options of everything that runs a model on the user's input (inspect, export, the
// window): the checkpoint, the text / text file (with its window) / image, the device. One
// struct, declared once on the command line, resolved against the bundled defaults in one place.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "fmalens/model.h"

namespace fmalens::cli {

struct InputOptions {
  std::string checkpoint;
  std::string tokenizer;  // text models that are not byte models: meta.pkl, BPE files or tokenizer.json
  std::string text, text_file, image;
  int64_t window_start = -1;  // text files longer than the context: where the window starts
  std::string device = "auto";
};

enum class CheckpointOption { required, defaults_to_bundled };

// --checkpoint, --tokenizer, --text, --text-file, --image (at most one of the three), --window-start,
// --device and --assets (the data folder, fmalens/assets.h).
void add_input_options(CLI::App* cmd, InputOptions& in, CheckpointOption checkpoint);

// The bundled defaults: no checkpoint -> the bundled text model (the image model when an image
// is given). Throws Error when the bundled models cannot be found or the checkpoint is missing.
void resolve_checkpoint(InputOptions& in);
// No input -> the bundled sample the model takes (sample text, or sample image).
void resolve_sample_input(InputOptions& in, const ModelConfig& model);

// Runs `model` on the text or image the options name (exactly one of them).
Snapshot run_input(Model& model, const InputOptions& in, const RunOptions& options);

}  // namespace fmalens::cli
