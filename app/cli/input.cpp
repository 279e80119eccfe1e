#include "cli/input.h"

#include <filesystem>

#include "fmalens/assets.h"
#include "fmalens/quote.h"

namespace fmalens::cli {

void add_input_options(CLI::App* cmd, InputOptions& in, CheckpointOption checkpoint) {
  auto* ck = cmd->add_option("--checkpoint", in.checkpoint,
                             checkpoint == CheckpointOption::required
                                 ? "Model file (.safetensors or reference ckpt.pt)"
                                 : "Model file (.safetensors or reference ckpt.pt); default: the bundled text model, or "
                                   "the image model with --image");
  if (checkpoint == CheckpointOption::required) ck->required();
  cmd->add_option("--tokenizer", in.tokenizer,
                  "Text models that do not read bytes: a nanoGPT meta.pkl, a tokenizer.json, encoder.json + vocab.bpe or "
                  "vocab.json + merges.txt (the file or its folder); default: meta.pkl found as nanoGPT's sample.py finds it");
  auto* text = cmd->add_option("--text", in.text, "Text to run (text models)");
  auto* file = cmd->add_option("--text-file", in.text_file, "Text file to run (a window of the context's size)");
  auto* image = cmd->add_option("--image", in.image, "Image to run (image models): PNG, JPEG, BMP, GIF");
  text->excludes(file)->excludes(image);
  file->excludes(image);
  cmd->add_option("--window-start", in.window_start, "Text files longer than the context: first byte of the window (default: the end)");
  cmd->add_option("--device", in.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option_function<std::string>("--assets", [](const std::string& dir) { set_assets_dir(dir); },
                                        "Folder of the bundled models and samples (default: found where installed)");
}

void resolve_checkpoint(InputOptions& in) {
  if (in.checkpoint.empty()) {
    const BundledFiles bundled = bundled_files();
    in.checkpoint = in.image.empty() ? bundled.text_model : bundled.image_model;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(in.checkpoint, ec)) throw Error("checkpoint " + shown_path(in.checkpoint) + ": no such file");
}

void resolve_sample_input(InputOptions& in, const ModelConfig& model) {
  if (!in.text.empty() || !in.text_file.empty() || !in.image.empty()) return;
  const BundledFiles bundled = bundled_files();
  if (model.kind == ModelKind::image) in.image = bundled.sample_image;
  else in.text_file = bundled.sample_text;
}

Snapshot run_input(Model& model, const InputOptions& in, const RunOptions& options) {
  const int given = !in.text.empty() + !in.text_file.empty() + !in.image.empty();
  if (given != 1) throw Error("give exactly one input: --text, --text-file or --image");
  if (!in.image.empty()) return model.run_image(load_image(in.image), options);
  if (!in.text_file.empty()) {
    // A window of the context's size in bytes; for other tokenizers, enough bytes for the
    // context's tokens (run_text keeps the last block_size of them).
    const auto tokenizer = model.tokenizer();
    const bool bytes = !tokenizer || tokenizer->kind() == Tokenizer::Kind::bytes;
    const int64_t context = model.config().kind == ModelKind::text ? model.config().block_size * (bytes ? 1 : 8) : 1;
    TextWindow w = read_text_window(in.text_file, context, in.window_start);
    if (!bytes) {  // a window may start inside a UTF-8 character: start at the next one
      size_t skip = 0;
      while (skip < 3 && skip < w.bytes.size() && (static_cast<unsigned char>(w.bytes[skip]) & 0xC0) == 0x80) ++skip;
      w.bytes.erase(0, skip);
      w.offset += static_cast<int64_t>(skip);
    }
    Snapshot s = model.run_text(w.bytes, options);
    s.text_offset += w.offset;
    s.dropped = w.file_size - static_cast<int64_t>(s.text.size());
    return s;
  }
  return model.run_text(in.text, options);
}

}  // namespace fmalens::cli
