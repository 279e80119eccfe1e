#include "gui/gui_main.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "fmalens/model.h"
#include "fmalens/quote.h"
#include "gui/app_state.h"

namespace fmalens::gui {

bool wants_gui(int argc, char** argv) { return argc < 2 || std::strncmp(argv[1], "--", 2) == 0; }

int gui_main(int argc, char** argv) {
  GuiOptions o;
  CLI::App cli{"FMA Lens: look inside Fast Multipole Attention models.\n"
               "Without options: the window, on the bundled text model. Subcommands: fmalens train|eval|info|inspect ... "
               "(fmalens <command> --help)."};
  cli.add_option("--checkpoint", o.checkpoint, "Model file (.safetensors or reference ckpt.pt); default: the bundled text model");
  auto* text = cli.add_option("--text", o.text, "Text to run (text models)");
  auto* text_file = cli.add_option("--text-file", o.text_file, "Text file to run (text models)");
  auto* image = cli.add_option("--image", o.image, "Image to run (image models): PNG, JPEG, BMP, GIF");
  text->excludes(text_file)->excludes(image);
  text_file->excludes(image);
  cli.add_option("--device", o.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cli.add_option("--view", o.view, "Show one view alone: matrix, levels, weights, regions, text, model, compare")
      ->check(CLI::IsMember({"matrix", "levels", "weights", "regions", "text", "model", "compare"}));
  cli.add_option("--layer", o.layer, "Layer to show (default 0)")->check(CLI::NonNegativeNumber);
  cli.add_option("--head", o.head, "Head to show; -1: the average of heads (default)")->check(CLI::Range(-1, 1 << 20));
  cli.add_option("--query", o.query, "Query token or patch (default: the last byte, or the centre patch)")->check(CLI::NonNegativeNumber);
  cli.add_option("--screenshot", o.screenshot, "Render without showing a window, save it as this PNG and exit");
  cli.add_option("--view-rects", o.view_rects, "With --screenshot: write where each view's picture lies in it (JSON, for tests)");
  cli.add_option("--frames", o.frames, "Frames to render before the screenshot (default 3)")->check(CLI::Range(1, 10000));
  std::string size = "1280x800";
  cli.add_option("--size", size, "Window size WxH (default 1280x800)");
  cli.add_option("--synthetic", o.synthetic, "Development: show a synthetic FMA snapshot of N tokens (no model)")->check(CLI::Range(16, 1 << 22));
  cli.add_option("--synthetic-variant", o.synthetic_variant, "causal, bidirectional or grid2d")
      ->check(CLI::IsMember({"causal", "bidirectional", "grid2d"}));
  cli.add_option("--bench-frames", o.bench_frames, "Development: pan the matrix for N frames and print the frame rate")
      ->check(CLI::Range(1, 100000));
  cli.add_option("--ui-scale", o.ui_scale, "Interface scale on top of the monitor's content scale (HiDPI), e.g. 1.5")
      ->check(CLI::Range(0.5, 4.0));
  cli.add_flag("--no-settings", o.no_settings, "Neither read nor write the settings and window layout");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", cli.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (--help lists the options)\n", escaped(e.what()).c_str());
    return 2;
  }
  int w = 0, h = 0;
  char x = 0;
  if (std::sscanf(size.c_str(), "%d%c%d", &w, &x, &h) != 3 || (x != 'x' && x != 'X') || w < 64 || h < 64 || w > 16384 || h > 16384) {
    std::fprintf(stderr, "error: --size must be WxH with 64 <= W, H <= 16384 (got %s)\n", quote(size).c_str());
    return 2;
  }
  o.width = w;
  o.height = h;
  // Inputs that can be checked before a window opens: fail fast, write nothing.
  std::error_code ec;
  if (!o.checkpoint.empty() && !std::filesystem::is_regular_file(o.checkpoint, ec)) {
    std::fprintf(stderr, "error: checkpoint %s: no such file\n", shown_path(o.checkpoint).c_str());
    return 2;
  }
  if (!o.text_file.empty() && !std::filesystem::is_regular_file(o.text_file, ec)) {
    std::fprintf(stderr, "error: text file %s: no such file\n", shown_path(o.text_file).c_str());
    return 2;
  }
  if (!o.image.empty()) {
    try {
      (void)load_image(o.image);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", error_line(e).c_str());
      return 2;
    }
  }
  if (text->count() > 0 && o.text.empty()) {
    std::fprintf(stderr, "error: --text is empty: there is nothing to run\n");
    return 2;
  }
  if (!o.screenshot.empty()) {
    const auto dir = std::filesystem::path(o.screenshot).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      std::fprintf(stderr, "error: cannot write %s: folder %s does not exist\n", shown_path(o.screenshot).c_str(), shown_path(dir.string()).c_str());
      return 2;
    }
  }
  return run_gui(o);
}

}  // namespace fmalens::gui
