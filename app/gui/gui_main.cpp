#include "gui/gui_main.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "fmalens/model.h"
#include "fmalens/quote.h"
#include "front_end.h"
#include "gui/app_state.h"
#include "gui/views.h"

namespace fmalens::gui {

int gui_main(int argc, char** argv) {
  GuiOptions o;
  CLI::App cli{"FMA Lens: look inside Fast Multipole Attention models.\n"
               "Without options: the window, on the bundled text model. Subcommands: fmalens train|eval|info|inspect ... "
               "(fmalens <command> --help)."};
  cli::add_input_options(&cli, o.input, cli::CheckpointOption::defaults_to_bundled);
  cli.add_option("--view", o.view, "Show one view alone")->check([](const std::string& v) {
    return view_from_name(v) ? std::string() : "unknown view " + quote(v) + " (views: " + view_names_help(false) + ")";
  });
  cli.add_option("--layer", o.layer, "Layer to show (default 0)")->check(CLI::NonNegativeNumber);
  cli.add_option("--head", o.head, "Head to show; -1: the average of heads (default)")->check(CLI::Range(-1, 1 << 20));
  cli.add_option("--query", o.query, "Query token or patch (default: the last byte, or the centre patch)")->check(CLI::NonNegativeNumber);
  cli.add_option("--partner", o.partner, "A second checkpoint, run on the same input beside the first (view pair)")
      ->check(CLI::ExistingFile);
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
  std::vector<std::string> files;
  cli.add_option("files", files,
                 "Files to open, as if dropped on the window: a checkpoint, a tokenizer, a text file or an image (what a file "
                 "manager passes)");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", cli.help().c_str());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return refuse((escaped(e.what()) + " (--help lists the options)").c_str());
  }
  // Files by kind, where the options leave room: the desktop entry's `fmalens %f`.
  for (const auto& f : files) {
    std::string* slot = nullptr;
    switch (file_kind(f)) {
      case FileKind::checkpoint: slot = &o.input.checkpoint; break;
      case FileKind::tokenizer: slot = &o.input.tokenizer; break;
      case FileKind::workspace: slot = &o.workspace; break;
      case FileKind::image: slot = o.input.text.empty() && o.input.text_file.empty() ? &o.input.image : nullptr; break;
      case FileKind::text: slot = o.input.text.empty() && o.input.image.empty() ? &o.input.text_file : nullptr; break;
    }
    if (!slot || !slot->empty()) return refuse((shown_path(f) + ": one checkpoint, tokenizer and input at most (this one is one too many)").c_str());
    *slot = f;
  }
  const bool text_given = cli.get_option("--text")->count() > 0;
  const bool size_given = cli.get_option("--size")->count() > 0;
  return run_front_end([&] {
    int w = 0, h = 0;
    char x = 0;
    if (std::sscanf(size.c_str(), "%d%c%d", &w, &x, &h) != 3 || (x != 'x' && x != 'X') || w < 64 || h < 64 || w > 16384 || h > 16384)
      throw Error("--size must be WxH with 64 <= W, H <= 16384 (got " + quote(size) + ")");
    o.width = w;
    o.height = h;
    o.size_given = size_given;
    // Inputs that can be checked before a window opens: fail fast, write nothing.
    if (o.synthetic == 0) cli::resolve_checkpoint(o.input);
    std::error_code ec;
    if (!o.input.text_file.empty() && !std::filesystem::is_regular_file(o.input.text_file, ec))
      throw Error("text file " + shown_path(o.input.text_file) + ": no such file");
    if (!o.input.image.empty()) (void)load_image(o.input.image);
    if (text_given && o.input.text.empty()) throw Error("--text is empty: there is nothing to run");
    if (!o.screenshot.empty()) {
      const auto dir = std::filesystem::path(o.screenshot).parent_path();
      if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
        throw Error("cannot write " + shown_path(o.screenshot) + ": folder " + shown_path(dir.string()) + " does not exist");
    }
    return run_gui(o);
  });
}

}  // namespace fmalens::gui
