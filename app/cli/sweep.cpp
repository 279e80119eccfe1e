// fmalens sweep: one model per cell of a grid of training options (the paper's m x p ablation,
// seeds, downsampling, attention kinds), each trained for the same number of steps and
// evaluated on the held-out data; resumable cell by cell; results as JSON and SVG heat maps.
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

extern char** environ;

#include "cli/train_options.h"
#include "fmalens/atomic_file.h"
#include "fmalens/layout.h"
#include "fmalens/model.h"
#include "fmalens/quote.h"

namespace fmalens::cli {
namespace {

namespace fs = std::filesystem;

struct Axis {
  std::string name;
  std::vector<std::string> values;
};

// The options a grid may vary (what the paper's ablations vary, and seeds to measure noise).
const char* const kAxes[] = {"m",  "p",          "seed", "data-seed", "downsampling", "positions", "attention",
                             "lr", "block-size", "embd", "layers",    "heads"};

// "m, p, seed, ..." for the messages and the help.
std::string axis_names() {
  std::string names;
  for (const char* a : kAxes) names += std::string(names.empty() ? "" : ", ") + a;
  return names;
}

Axis parse_axis(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= spec.size())
    throw Error("sweep: --grid " + quote(spec) + " must be NAME=v1,v2,... (names: " + axis_names() + ")");
  Axis a{spec.substr(0, eq), {}};
  if (std::find(std::begin(kAxes), std::end(kAxes), a.name) == std::end(kAxes))
    throw Error("sweep: --grid cannot vary " + quote(a.name) + " (names: " + axis_names() + ")");
  std::stringstream list(spec.substr(eq + 1));
  for (std::string v; std::getline(list, v, ',');)
    if (!v.empty()) {
      if (std::find(a.values.begin(), a.values.end(), v) != a.values.end()) throw Error("sweep: " + a.name + "=" + v + " is given twice");
      a.values.push_back(v);
    }
  if (a.values.empty()) throw Error("sweep: --grid " + quote(spec) + " has no values");
  return a;
}

int64_t whole(const std::string& axis, const std::string& v) {
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || x < 1) throw Error("sweep: " + axis + "=" + quote(v) + " must be a whole number >= 1");
  return x;
}

// The command line's options with one cell's values put in.
void apply_value(TrainCommandLine& t, const std::string& axis, const std::string& v) {
  ModelConfig& m = t.options.model;
  if (axis == "m") m.attention.m = whole(axis, v);
  else if (axis == "p") m.attention.p = whole(axis, v);
  else if (axis == "seed") t.options.seed = static_cast<uint64_t>(whole(axis, v));
  else if (axis == "data-seed") t.options.data_seed = whole(axis, v);
  else if (axis == "downsampling") t.downsampling = v;
  else if (axis == "positions") t.positions = v;
  else if (axis == "attention") t.attention = v;
  else if (axis == "block-size") m.block_size = whole(axis, v);
  else if (axis == "embd") m.n_embd = whole(axis, v);
  else if (axis == "layers") m.n_layer = whole(axis, v);
  else if (axis == "heads") m.n_head = whole(axis, v);
  else if (axis == "lr") {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || !(x > 0)) throw Error("sweep: lr=" + quote(v) + " must be a positive number");
    t.options.lr = x;
  }
}

// Bytes one layer stores for its attention weights at the model's length: FMA and local, heads x
// every level's rows x slots (float32; with query downsampling a coarse level has a row per block); dense, heads x n^2; elu_linear, its running state
// heads x d x (d + 1).
double attention_bytes_per_layer(const ModelConfig& c) {
  const double heads = static_cast<double>(c.n_head), n = static_cast<double>(c.sequence_length());
  if (uses_fma_bands(c.attention_kind)) {
    return 4.0 * heads * static_cast<double>(Layout(c.attention_config()).stored_weights());
  }
  if (c.attention_kind == AttentionKind::elu_linear) {
    const double d = static_cast<double>(c.n_embd / std::max<int64_t>(c.n_head, 1));
    return 4.0 * heads * d * (d + 1);
  }
  return 4.0 * heads * n * n;
}

// viridis at t in [0, 1], from five of its stops (enough for a heat map's cells).
std::string viridis_hex(double t) {
  static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4.0;
  const int k = std::min(3, static_cast<int>(t));
  const double f = t - k;
  char hex[8];
  std::snprintf(hex, sizeof(hex), "#%02x%02x%02x", static_cast<int>(stops[k][0] + f * (stops[k + 1][0] - stops[k][0])),
                static_cast<int>(stops[k][1] + f * (stops[k + 1][1] - stops[k][1])),
                static_cast<int>(stops[k][2] + f * (stops[k + 1][2] - stops[k][2])));
  return hex;
}

std::string format_value(double v) {
  char buf[32];
  if (std::fabs(v) >= 1e6) std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
  else if (std::fabs(v) >= 1e3) std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  else if (std::fabs(v) >= 100) std::snprintf(buf, sizeof(buf), "%.1f", v);
  else if (std::fabs(v) >= 10) std::snprintf(buf, sizeof(buf), "%.2f", v);
  else if (std::fabs(v) >= 1) std::snprintf(buf, sizeof(buf), "%.3f", v);  // bits/byte as the tables give them: 2.260
  else std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

// A heat map of `metric` over the first two axes (the first across, the second down; one row when
// there is one axis). Cells of further axes (seeds) are averaged, their range written under the mean.
std::string heat_map_svg(const std::vector<Axis>& axes, const nlohmann::json& cells, const std::string& metric, const std::string& title,
                         bool lower_is_better) {
  const Axis& x = axes[0];
  const Axis none{"", {""}};
  const Axis& y = axes.size() > 1 ? axes[1] : none;
  const double cw = 110, ch = 56, left = 110, top = 70;
  const double width = std::max(560.0, left + cw * static_cast<double>(x.values.size()) + 40), height = top + ch * static_cast<double>(y.values.size()) + 60;
  struct Cell {
    double mean = NAN, lo = NAN, hi = NAN;
    int count = 0;
  };
  std::vector<Cell> grid(x.values.size() * y.values.size());
  double vmin = INFINITY, vmax = -INFINITY;
  for (size_t i = 0; i < x.values.size(); ++i)
    for (size_t j = 0; j < y.values.size(); ++j) {
      std::vector<double> vals;
      for (const auto& c : cells)
        if (c["values"].value(x.name, "") == x.values[i] && (y.name.empty() || c["values"].value(y.name, "") == y.values[j]) &&
            c.contains(metric) && c[metric].is_number())
          vals.push_back(c[metric].get<double>());
      Cell& g = grid[i * y.values.size() + j];
      if (vals.empty()) continue;
      g.count = static_cast<int>(vals.size());
      double sum = 0;
      for (double v : vals) sum += v;
      g.mean = sum / static_cast<double>(vals.size());
      g.lo = *std::min_element(vals.begin(), vals.end());
      g.hi = *std::max_element(vals.begin(), vals.end());
      vmin = std::min(vmin, g.mean);
      vmax = std::max(vmax, g.mean);
    }
  std::ostringstream svg;
  svg << "<?xml version='1.0' encoding='UTF-8'?>\n<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' viewBox='0 0 " << width << " " << height << "' font-family='DejaVu Sans, sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << left << "' y='28' font-size='15' font-weight='bold'>" << title << "</text>\n"
      << "<text x='" << left << "' y='48' font-size='12' fill='#555'>" << (lower_is_better ? "lower is better; " : "")
      << "the mean over the other axes' cells, their range below</text>\n";
  for (size_t i = 0; i < x.values.size(); ++i)
    svg << "<text x='" << left + cw * (static_cast<double>(i) + 0.5) << "' y='" << top + ch * static_cast<double>(y.values.size()) + 20
        << "' text-anchor='middle' font-size='13'>" << x.name << " " << x.values[i] << "</text>\n";
  for (size_t j = 0; j < y.values.size(); ++j)
    if (!y.name.empty())
      svg << "<text x='" << left - 8 << "' y='" << top + ch * (static_cast<double>(j) + 0.5) + 4 << "' text-anchor='end' font-size='13'>"
          << y.name << " " << y.values[j] << "</text>\n";
  for (size_t i = 0; i < x.values.size(); ++i)
    for (size_t j = 0; j < y.values.size(); ++j) {
      const Cell& g = grid[i * y.values.size() + j];
      const double cx = left + cw * static_cast<double>(i), cy = top + ch * static_cast<double>(j);
      if (g.count == 0) {
        svg << "<rect x='" << cx << "' y='" << cy << "' width='" << cw << "' height='" << ch << "' fill='#eee' stroke='white'/>"
            << "<text x='" << cx + cw / 2 << "' y='" << cy + ch / 2 + 4 << "' text-anchor='middle' font-size='12' fill='#888'>not run</text>\n";
        continue;
      }
      double t = vmax > vmin ? (g.mean - vmin) / (vmax - vmin) : 0.5;
      if (lower_is_better) t = 1 - t;  // bright is good
      const char* ink = t > 0.6 ? "#111" : "#fff";
      svg << "<rect x='" << cx << "' y='" << cy << "' width='" << cw << "' height='" << ch << "' fill='" << viridis_hex(t) << "' stroke='white'/>"
          << "<text x='" << cx + cw / 2 << "' y='" << cy + ch / 2 + (g.count > 1 ? 0 : 5) << "' text-anchor='middle' font-size='14' fill='" << ink
          << "'>" << format_value(g.mean) << "</text>\n";
      if (g.count > 1)
        svg << "<text x='" << cx + cw / 2 << "' y='" << cy + ch / 2 + 17 << "' text-anchor='middle' font-size='11' fill='" << ink << "'>"
            << format_value(g.lo) << " .. " << format_value(g.hi) << " (" << g.count << ")</text>\n";
    }
  svg << "</svg>\n";
  return svg.str();
}

nlohmann::json read_results(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nlohmann::json::object();
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) throw Error("sweep: " + shown_path(path) + " is not a sweep's results (not a JSON object); move it away to start over");
  return j;
}


// One cell of the grid: its name (cells/<name>.safetensors), its values and its training.
struct Cell {
  std::string name;
  nlohmann::json values;
  TrainOptions options;
  bool quiet = false;
};

std::string cell_file(const fs::path& root, const std::string& name, const char* suffix) {
  return (root / "cells" / (name + suffix)).string();
}

// Trains a cell (continuing its saved state) for `sitting` and evaluates it: its row of
// sweep.json, or nothing when the training stopped before its end (its state is saved).
std::optional<nlohmann::json> train_cell(const Cell& cell, const TrainOptions& sitting, int64_t eval_limit, TrainResult& tr) {
  tr = run_training(sitting, cell.quiet);
  if (tr.stopped_early) return std::nullopt;
  const TrainOptions& opts = cell.options;
  const EvalResult er = evaluate(opts.out, opts.data, eval_limit, opts.device, nullptr, opts.folder);
  const auto model = Model::load(opts.out);
  return nlohmann::json{{"cell", cell.name},
                        {"values", cell.values},
                        {"steps", opts.steps},
                        {"metric", er.metric},
                        {er.metric, er.value},
                        {"eval_loss", er.loss},
                        {"eval_items", er.items},
                        {"val_loss", tr.val_loss},
                        {"parameters", model->info().parameters},
                        {"attention_bytes_per_layer", attention_bytes_per_layer(opts.model)},
                        {"step_s", tr.steps > 0 ? tr.wall_s / static_cast<double>(tr.steps) : 0.0},
                        {"wall_s", tr.wall_s},
                        {"checkpoint", opts.out}};
}

// A finished cell's row into the results (replacing an older row of that cell), written at once.
void record_row(nlohmann::json& results, const std::string& results_path, const nlohmann::json& row) {
  const std::string name = row.value("cell", "");
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& c : results["cells"])
    if (c.value("cell", "") != name) kept.push_back(c);
  kept.push_back(row);
  results["cells"] = kept;
  write_file_atomically(results_path, results.dump(1) + "\n");
  const std::string metric = row.value("metric", "");
  std::printf("cell %s: %s %.4f, %lld parameters, %.3f s a step\n", name.c_str(), metric.c_str(), row.value(metric, 0.0),
              static_cast<long long>(row.value("parameters", int64_t{0})), row.value("step_s", 0.0));
  std::fflush(stdout);
}

// The last non-empty line of a log (a progress bar's \r-separated updates count as lines).
std::string last_line_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(text.begin(), text.end(), '\r', '\n');
  std::string last, line;
  std::stringstream lines(text);
  while (std::getline(lines, line))
    if (line.find_first_not_of(" \t") != std::string::npos) last = line;
  return last;
}

// The sweep's pid, in the environment of each cell's process.
constexpr const char* kSweepParentVariable = "FMALENS_SWEEP_PARENT";

// This program started again with `args`, in its own process group (a Ctrl-C reaches only the
// sweep, which stops its cells one by one), stdout and stderr appended to `log`.
pid_t start_process(const std::vector<std::string>& args, const std::string& log) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) exe = args.at(0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv[0] = const_cast<char*>(exe.c_str());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&files);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  // The cell checks that its parent is still this sweep (an orphan is adopted by some reaper,
  // not always pid 1).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, kSweepParentVariable, std::strlen(kSweepParentVariable)) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kSweepParentVariable) + "=" + std::to_string(getpid()));
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, exe.c_str(), &files, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (err != 0) throw Error("sweep: cannot start " + shown_path(exe.string()) + " for a cell: " + std::strerror(err));
  return pid;
}

// The cells trained `jobs` at a time, each in its own process (this command again with --cell),
// its output in cells/<name>.log; each row goes into the results as its cell ends. A signal to
// the sweep, the sitting limit or a failed cell stops every running cell after its current step
// (SIGTERM: each saves its state), and no more start. Returns the exit code.
int train_in_processes(const std::vector<const Cell*>& todo, size_t jobs, double sitting_limit_s, const fs::path& root,
                       nlohmann::json& results, const std::string& results_path) {
  const std::vector<std::string>& args = command_line();
  if (args.empty()) throw Error("sweep: --jobs needs the program's command line, which this build did not keep");
  StopSignals signals;
  struct Running {
    pid_t pid;
    const Cell* cell;
  };
  std::vector<Running> running;
  size_t next = 0;
  bool stopping = false;
  std::string failure;
  const auto start = std::chrono::steady_clock::now();
  const auto stop_all = [&] {
    if (stopping) return;
    stopping = true;
    for (const auto& r : running) kill(r.pid, SIGTERM);
  };
  while ((!stopping && next < todo.size()) || !running.empty()) {
    while (!stopping && next < todo.size() && running.size() < jobs) {
      const Cell& cell = *todo[next++];
      std::error_code ec;
      fs::remove(cell_file(root, cell.name, ".row.json"), ec);  // only this run's row counts
      std::vector<std::string> cell_args = args;
      cell_args.insert(cell_args.end(), {"--cell", cell.name});
      const std::string log = cell_file(root, cell.name, ".log");
      try {
        running.push_back({start_process(cell_args, log), &cell});
      } catch (const Error& e) {
        failure = e.what();
        stop_all();
        break;
      }
      std::printf("cell %s: training %lld steps in process %d (its output: %s)\n", cell.name.c_str(),
                  static_cast<long long>(cell.options.steps), static_cast<int>(running.back().pid), log.c_str());
      std::fflush(stdout);
    }
    if (signals.received() != 0) stop_all();
    if (!stopping && sitting_limit_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= sitting_limit_s) {
      std::printf("sweep: the sitting limit is reached; the running cells save their state; run the same command again to continue\n");
      stop_all();
    }
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      const pid_t r = waitpid(it->pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      const Cell& cell = *it->cell;
      const int code = r < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      const std::string row_file = cell_file(root, cell.name, ".row.json");
      std::ifstream row_in(row_file, std::ios::binary);
      const nlohmann::json row = row_in ? nlohmann::json::parse(row_in, nullptr, false) : nlohmann::json();
      if (code == 0 && row.is_object()) {
        record_row(results, results_path, row);
      } else if (code == 0 || (stopping && code == 130)) {
        std::printf("sweep: stopped in cell %s (its state is saved); run the same command again to continue\n", cell.name.c_str());
      } else if (failure.empty()) {
        std::string why = last_line_of(cell_file(root, cell.name, ".log"));
        if (why.rfind("error: ", 0) == 0) why.erase(0, 7);  // the cell's own refusal, without its prefix
        failure = "sweep: cell " + cell.name + " failed (exit " + std::to_string(code) + "): " + why;
        stop_all();
      }
      std::error_code ec;
      fs::remove(row_file, ec);
      it = running.erase(it);
    }
    if (!running.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!failure.empty()) throw Error(failure);
  return signals.received() != 0 ? 130 : 0;
}

}  // namespace

void add_sweep(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("sweep",
                                 "Train and evaluate one model per cell of a grid of options (e.g. --grid m=8,16,32 --grid p=2,4,8), "
                                 "the same steps each; resumable; results as JSON and SVG heat maps");
  auto t = add_train_options(cmd, false);
  auto dir = std::make_shared<std::string>();
  auto grid = std::make_shared<std::vector<std::string>>();
  auto eval_limit = std::make_shared<int64_t>(0);
  auto jobs = std::make_shared<int>(1);
  auto only_cell = std::make_shared<std::string>();
  cmd->add_option("--dir", *dir, "Folder of the sweep: cells/<cell>.safetensors, sweep.json, sweep_<metric>.svg")->required();
  cmd->add_option("--grid", *grid, "An axis NAME=v1,v2,... (" + axis_names() + "); repeat for more axes; the first two are the heat maps' axes")
      ->required();
  cmd->add_option("--eval-limit", *eval_limit, "Held-out bytes (images) each cell is evaluated on (0: all)");
  cmd->add_option("--jobs", *jobs,
                  "Cells trained at once, each in its own process (output in cells/<cell>.log) with cores/jobs threads unless "
                  "--threads; on 2 cores, 2 one-thread cells make about 1.5x the steps of one two-thread cell")
      ->check(CLI::Range(1, 64));
  // What --jobs runs in each cell's process: the same command with this cell alone.
  cmd->add_option("--cell", *only_cell, "Train and evaluate only this cell (what --jobs runs in each process)")->group("");
  cmd->callback([=, &action] {
    action = [=]() -> int {
      std::vector<Axis> axes;
      for (const auto& spec : *grid) {
        Axis a = parse_axis(spec);
        for (const auto& other : axes)
          if (other.name == a.name) throw Error("sweep: the axis " + quote(a.name) + " is given twice");
        axes.push_back(a);
      }
      if (t->options.time_limit_s > 0) throw Error("sweep: --time-limit is refused: cells get the same steps (--steps), not the same time");
      // Every cell (the product of the axes, the first axis varying slowest), each checked before
      // anything is trained or written.
      std::vector<Cell> planned;
      size_t total = 1;
      for (const auto& a : axes) total *= a.values.size();
      const fs::path root(*dir);
      for (size_t index = 0; index < total; ++index) {
        TrainCommandLine cell = *t;
        nlohmann::json values = nlohmann::json::object();
        std::string name;
        size_t rest = index;
        for (size_t k = axes.size(); k-- > 0;) {
          const Axis& a = axes[k];
          const std::string& v = a.values[rest % a.values.size()];
          rest /= a.values.size();
          apply_value(cell, a.name, v);
          values[a.name] = v;
          name = a.name + v + (name.empty() ? "" : "_") + name;
        }
        for (char& ch : name)
          if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-') ch = '-';
        TrainOptions opts = cell.resolved();
        opts.out = (root / "cells" / (name + ".safetensors")).string();
        opts.resume = true;  // a cell stopped halfway continues from its state
        try {
          validate(opts.model);
        } catch (const ConfigError& e) {
          throw Error("sweep: cell " + name + ": " + e.what());
        }
        planned.push_back({name, values, opts, cell.quiet});
      }
      if (!only_cell->empty()) {
        // A cell's own process (--jobs): train it, write its row beside it for the sweep to collect.
        const auto cell = std::find_if(planned.begin(), planned.end(), [&](const Cell& c) { return c.name == *only_cell; });
        if (cell == planned.end()) throw Error("sweep: --cell " + quote(*only_cell) + " is not a cell of this grid");
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);  // the sweep gone (killed), the cell saves its state and stops
        const char* parent = std::getenv(kSweepParentVariable);
        if (parent != nullptr && std::to_string(getppid()) != parent) return 130;  // gone before that was set
#endif
        TrainOptions sitting = cell->options;
        if (t->options.threads == 0)
          sitting.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, *jobs));
        TrainResult tr;
        const auto row = train_cell(*cell, sitting, *eval_limit, tr);
        if (!row) return training_stop_signal() != 0 ? 130 : 0;
        write_file_atomically(cell_file(root, cell->name, ".row.json"), row->dump(1) + "\n");
        return 0;
      }
      std::error_code ec;
      fs::create_directories(root / "cells", ec);
      if (ec) throw Error("sweep: cannot create " + shown_path((root / "cells").string()) + ": " + ec.message());
      const std::string results_path = (root / "sweep.json").string();
      nlohmann::json results = read_results(results_path);
      if (!results.contains("cells") || !results["cells"].is_array()) results["cells"] = nlohmann::json::array();
      nlohmann::json grid_json = nlohmann::json::object();
      for (const auto& a : axes) grid_json[a.name] = a.values;
      results["grid"] = grid_json;
      results["steps"] = t->options.steps;
      std::vector<const Cell*> todo;
      for (size_t index = 0; index < planned.size(); ++index) {
        const Cell& cell = planned[index];
        bool done = false;
        for (const auto& c : results["cells"])
          done = done || (c.value("cell", "") == cell.name && c.value("steps", int64_t{0}) == cell.options.steps);
        if (done) std::printf("cell %zu/%zu %s: done before\n", index + 1, total, cell.name.c_str());
        else todo.push_back(&cell);
      }
      if (*jobs > 1 && !todo.empty()) {
        const int code = train_in_processes(todo, static_cast<size_t>(*jobs), t->options.sitting_limit_s, root, results, results_path);
        for (const Cell* cell : todo) {
          bool recorded = false;
          for (const auto& c : results["cells"]) recorded = recorded || c.value("cell", "") == cell->name;
          if (!recorded) return code;  // stopped before the grid's end: no maps of a half grid
        }
      }
      const auto sweep_start = std::chrono::steady_clock::now();
      for (size_t k = 0; *jobs == 1 && k < todo.size(); ++k) {
        const Cell& cell = *todo[k];
        const std::string& name = cell.name;
        std::printf("cell %zu/%zu %s: training %lld steps\n", static_cast<size_t>(&cell - planned.data()) + 1, total, name.c_str(),
                    static_cast<long long>(cell.options.steps));
        std::fflush(stdout);
        // A sitting limit is the sweep's: each cell gets what is left of it.
        TrainOptions sitting = cell.options;
        if (t->options.sitting_limit_s > 0) {
          sitting.sitting_limit_s = t->options.sitting_limit_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
          if (sitting.sitting_limit_s <= 0) {
            std::printf("sweep: the sitting limit is reached before cell %s; run the same command again to continue\n", name.c_str());
            return 0;
          }
        }
        TrainResult tr;
        const auto row = train_cell(cell, sitting, *eval_limit, tr);
        if (!row) {
          std::printf("sweep: stopped in cell %s at step %lld (its state is saved); run the same command again to continue\n",
                      name.c_str(), static_cast<long long>(tr.steps));
          return training_stop_signal() != 0 ? 130 : 0;
        }
        record_row(results, results_path, *row);
      }
      write_file_atomically(results_path, results.dump(1) + "\n");
      // Heat maps of every metric the cells have, over the first two axes.
      const std::pair<const char*, const char*> metrics[] = {{"bits_per_byte", "held-out bits per byte"},
                                                             {"bits_per_masked_byte", "held-out bits per masked byte"},
                                                             {"accuracy", "top-1 accuracy"},
                                                             {"parameters", "parameters"},
                                                             {"attention_bytes_per_layer", "attention bytes stored per layer"},
                                                             {"step_s", "seconds per optimizer step"}};
      for (const auto& [metric, title] : metrics) {
        bool any = false;
        for (const auto& c : results["cells"]) any = any || c.contains(metric);
        if (!any) continue;
        const std::string svg_path = (root / ("sweep_" + std::string(metric) + ".svg")).string();
        const bool lower_better = std::string(metric) != "accuracy";
        write_file_atomically(svg_path, heat_map_svg(axes, results["cells"], metric, title, lower_better));
        std::printf("wrote %s\n", svg_path.c_str());
      }
      std::printf("wrote %s\n", results_path.c_str());
      return 0;
    };
  });
}

}  // namespace fmalens::cli
