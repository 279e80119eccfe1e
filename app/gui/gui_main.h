// The GUI's entry point: `fmalens` without a subcommand opens the window (or, with
// --screenshot, renders headless and saves a PNG). app/main.cpp dispatches here.
#pragma once

#include <cstdint>
#include <string>

#include "cli/input.h"

namespace fmalens::gui {

struct GuiOptions {
  cli::InputOptions input;  // checkpoint (default: the bundled text model), text / image, device
  std::string view;        // show this view alone
  int layer = -1, head = -2;
  int64_t query = -1;
  std::string screenshot;  // headless: render, save the window as PNG, exit
  std::string view_rects;  // with --screenshot: where each view's picture is, as JSON (tests)
  int frames = 3;
  int width = 1280, height = 800;
  bool size_given = false;  // --size given: else the size saved at the last close
  int64_t synthetic = 0;   // development: a synthetic snapshot of this many tokens instead of a model
  std::string synthetic_variant = "causal";
  int bench_frames = 0;    // development: measure the matrix view's frame rate while panning
  bool no_settings = false;
  float ui_scale = 0;      // > 0: scale of the interface on top of the monitor's (saved in the settings)
  std::string workspace;   // a *.workspace.json to open (its model, input and views)
  std::string partner;     // a second checkpoint run beside the first (the pair view)
};

// Parses the GUI options and runs. Exit codes (front_end.h): 0 success, 2 bad input (one
// line on stderr, no file written), 1 the machine (no display, no OpenGL 3.3).
int gui_main(int argc, char** argv);

// Runs the GUI with parsed options; throws what it cannot handle (gui_main's boundary turns
// it into a line and an exit code).
int run_gui(const GuiOptions& options);

}  // namespace fmalens::gui
