// fmalens export: figures of every view as PNG, SVG or PDF without a display (EGL), through
// the same function as the GUI's File > Export... (render/figure_export.h).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "cli/cli.h"
#include "cli/input.h"
#include "fmalens/model.h"
#include "fmalens/quote.h"

#ifdef FMALENS_WITH_GUI
#include "gui/views.h"
#include "render/figure_export.h"
#include "render/gl.h"
#include "render/headless_gl.h"
#include "render/workspace.h"
#endif

namespace fmalens::cli {

#ifndef FMALENS_WITH_GUI

void add_export(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("export", "Figures of the views (needs a build with the GUI: -DFMALENS_GUI=ON)");
  cmd->allow_extras();
  cmd->callback([&action] {
    action = [] () -> int {
      throw Error("fmalens export needs a build with the GUI's renderer (configure with -DFMALENS_GUI=ON)");
    };
  });
}

#else

namespace {

struct ExportOptions {
  InputOptions in;
  int64_t synthetic = 0;
  std::string views, format, out, colormap = "viridis", scale = "log", title;
  int layer = 0, head = -1, level = -1;
  int64_t query = -1;
  double width = 0, height = 0, dpi = 300, font = 0;
  float decades = 4, gamma = 0.5f;
  std::string cells = "peak";
  bool no_colorbar = false, no_title = false, no_outlines = false, quiet = false, row_normalise = false, sink_strip = false;
  std::string partner;             // the pair view: a second checkpoint run on the same input
  std::string workspace;           // a *.workspace.json: its model, input and settings
  std::set<std::string> given;     // the options on the command line (they win over the workspace's)
};

// Fails before any model runs when the output cannot be written.
void check_output(const ExportOptions& o, size_t views) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path out(o.out);
  if (views > 1 || fs::is_directory(out, ec)) {
    fs::path existing = out;
    while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
    if (existing.empty()) existing = ".";
    if (!fs::is_directory(existing, ec) || ::access(existing.c_str(), W_OK) != 0)
      throw Error("cannot write figures into " + shown_path(o.out) + ": " + shown_path(existing.string()) + " is not a writable folder");
    return;
  }
  fs::path dir = out.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) throw Error("cannot write " + shown_path(o.out) + ": folder " + shown_path(dir.string()) + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw Error("cannot write " + shown_path(o.out) + ": folder " + shown_path(dir.string()) + " is not writable");
}

int run_export(ExportOptions o) {
  const auto t_start = std::chrono::steady_clock::now();
  render::ExportRequest req;
  bool all = false;
  req.views = gui::parse_view_list(o.views, &all);
  req.skip_unavailable = all;
  if (o.format.empty()) {  // from the file's extension, else PNG
    const std::string ext = std::filesystem::path(o.out).extension().string();
    o.format = ext == ".svg" ? "svg" : ext == ".pdf" ? "pdf" : "png";
  }
  req.format = render::figure_format_from_name(o.format);
  req.out = o.out;
  req.size = {o.width, o.height, o.dpi, o.font};
  render::FigureSettings& st = req.settings;
  // A workspace gives the model, input and settings; what the command line names wins.
  auto given = [&](const char* option) { return o.given.count(option) > 0; };
  if (!o.workspace.empty()) {
    const render::Workspace w = render::load_workspace(o.workspace);
    st = w.settings;
    if (!given("--checkpoint")) o.in.checkpoint = w.checkpoint;
    if (!given("--tokenizer")) o.in.tokenizer = w.tokenizer;
    if (!given("--device")) o.in.device = w.device;
    if (!given("--partner")) o.partner = w.partner;
    if (!given("--text") && !given("--text-file") && !given("--image")) {
      o.in.text = w.text;
      o.in.text_file = w.text_file;
      o.in.image = w.image;
    }
    if (req.views.size() == 1 && req.views[0]->all_heads) st.level = w.weights_level;  // the weights view: its coarse level
  }
  if (o.workspace.empty() || given("--layer")) st.layer = o.layer;
  if (o.workspace.empty() || given("--head")) st.head = o.head;
  if (o.workspace.empty() || given("--query")) st.query = o.query;
  if (o.workspace.empty() || given("--level")) st.level = o.level;
  if (o.workspace.empty() || given("--colormap")) st.colormap = render::colormap_from_name(o.colormap);
  if (o.workspace.empty() || given("--scale")) {
    st.log_scale = o.scale == "log";
    st.gamma = o.scale == "gamma" ? o.gamma : 1.0f;
  } else if (given("--gamma")) {
    st.gamma = o.gamma;
  }
  if (o.workspace.empty() || given("--cells")) st.mass = o.cells == "mass";
  if (o.workspace.empty() || given("--row-normalise")) st.row_normalise = o.row_normalise;
  if (o.workspace.empty() || given("--sink-strip")) st.sink_strip = o.sink_strip;
  if (o.workspace.empty() || given("--decades")) st.decades = o.decades;
  if (o.workspace.empty() || given("--no-outlines")) st.outlines = !o.no_outlines;
  st.title = o.title;
  st.show_title = !o.no_title;
  st.colorbar = !o.no_colorbar;
  check_output(o, req.skip_unavailable ? 2 : req.views.size());

  // The input: the model and what it runs (the bundled samples when none is given).
  Snapshot snapshot, partner_snapshot;
  std::shared_ptr<Model> model;
  render::FigureSource src;
  if (o.synthetic > 0) {
    snapshot = render::synthetic_export_snapshot(o.synthetic);
    src.model_name = "synthetic n=" + std::to_string(snapshot.tokens);
  } else {
    InputOptions in = o.in;
    resolve_checkpoint(in);
    model = Model::load(in.checkpoint, in.tokenizer);
    resolve_sample_input(in, model->config());
    RunOptions ro;
    ro.device = in.device;
    snapshot = run_input(*model, in, ro);
    src.model = &model->info();
    src.model_name = std::filesystem::path(in.checkpoint).stem().string();
    if (!o.partner.empty()) {  // the same input through the second model (its own tokenizer)
      const std::shared_ptr<Model> partner = Model::load(o.partner, "");
      partner_snapshot = run_input(*partner, in, ro);
      src.partner = &partner_snapshot;
      src.partner_name = std::filesystem::path(o.partner).stem().string();
    }
  }
  src.snapshot = &snapshot;
  const auto t_run = std::chrono::steady_clock::now();

  const std::unique_ptr<render::HeadlessGL> gl = render::HeadlessGL::create();  // EnvironmentError: exit 1
  const std::vector<std::string> written = render::export_figures(src, req);
  const auto t_end = std::chrono::steady_clock::now();
  if (!o.quiet) {
    const double run_s = std::chrono::duration<double>(t_run - t_start).count();
    const double draw_s = std::chrono::duration<double>(t_end - t_run).count();
    for (const auto& p : written) std::printf("wrote %s\n", p.c_str());
    std::printf("%lld tokens; model %.2f s, figures %.2f s (%s, %s)\n", static_cast<long long>(snapshot.tokens), run_s, draw_s,
                gl->platform().c_str(), render::gl_description().c_str());
  }
  return 0;
}

}  // namespace

void add_export(CLI::App& app, Action& action) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "Figures of the views as PNG, SVG or PDF (no display needed)");
  add_input_options(cmd, o->in, CheckpointOption::defaults_to_bundled);
  cmd->add_option("--view", o->views, gui::view_names_help() + "; several with commas")->required();
  cmd->add_option("--format", o->format, "png, svg or pdf (default: the extension of --out, else png)")
      ->check(CLI::IsMember({"png", "svg", "pdf"}));
  cmd->add_option("--out", o->out, "Output file; with several views a folder (files named by view)")->required();
  cmd->add_option("--layer", o->layer, "Layer (default 0)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--head", o->head, "Head; -1: the mean of heads (default)")->check(CLI::Range(-1, 1 << 20));
  cmd->add_option("--query", o->query, "Query token or patch (default: the last byte, or the centre patch)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--level", o->level, "Show only this level (weights: the coarse level, default 1)")->check(CLI::Range(0, 15));
  cmd->add_option("--width", o->width, "Width: pixels (PNG, default 1200) or points (SVG, PDF, default 432)")->check(CLI::Range(32.0, 32768.0));
  cmd->add_option("--height", o->height, "Height: pixels (PNG, default 900) or points (SVG, PDF, default 324)")->check(CLI::Range(32.0, 32768.0));
  cmd->add_option("--dpi", o->dpi, "SVG, PDF: resolution of the embedded matrix and maps (default 300)")->check(CLI::Range(18.0, 2400.0));
  cmd->add_option("--font-size", o->font, "Label size: pixels (PNG) or points (SVG, PDF)")->check(CLI::Range(4.0, 200.0));
  cmd->add_option("--colormap", o->colormap, "viridis, magma, cividis or grey (default viridis)")
      ->check(CLI::IsMember({"viridis", "magma", "cividis", "grey"}));
  cmd->add_option("--scale", o->scale, "Colour scale: linear, log or gamma (linear to the power --gamma; default log)")
      ->check(CLI::IsMember({"linear", "log", "gamma"}));
  cmd->add_option("--gamma", o->gamma, "--scale gamma: colour position (v / max)^gamma (default 0.5)")->check(CLI::Range(0.05, 20.0));
  cmd->add_option("--cells", o->cells,
                  "Matrix pixels: peak (the largest weight sampled in the pixel, default) or mass (the attention mass on its "
                  "keys per query row: a row of pixels sums to 1)")
      ->check(CLI::IsMember({"peak", "mass"}));
  cmd->add_flag("--row-normalise", o->row_normalise, "Matrix: colour each query row against its own largest value");
  cmd->add_flag("--sink-strip", o->sink_strip,
                "Matrix: the first key's weight (and the phantom zero keys' mass) in strips of their own scale, left of the matrix");
  cmd->add_option("--decades", o->decades, "Log scale: decades the colours span (default 4)")->check(CLI::Range(1.0, 10.0));
  cmd->add_option("--title", o->title, "Title (default: model, layer, head, query, level)");
  cmd->add_flag("--no-title", o->no_title, "No title");
  cmd->add_flag("--no-colorbar", o->no_colorbar, "No colorbar");
  cmd->add_flag("--no-outlines", o->no_outlines, "Matrix: no outlines of the level blocks");
  cmd->add_flag("--quiet", o->quiet, "Print nothing on success");
  cmd->add_option("--synthetic", o->synthetic, "Development: a synthetic FMA snapshot of N tokens instead of a model")
      ->check(CLI::Range(16, 1 << 22));
  cmd->add_option("--partner", o->partner, "View pair: a second checkpoint, run on the same input, shown beside the first")
      ->check(CLI::ExistingFile);
  cmd->add_option("--workspace", o->workspace,
                  "A workspace the window saved (File > Save workspace): its model, input, selection and colours; options given here win");
  cmd->callback([o, &action, cmd] {
    for (const CLI::Option* opt : cmd->get_options())
      if (opt->count() > 0) o->given.insert(opt->get_name());
    action = [o] { return run_export(*o); };
  });
}

#endif

}  // namespace fmalens::cli
