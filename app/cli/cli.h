// The command-line face of FMA Lens: one function per subcommand registers its options and
// sets the action to run once the command line is parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace fmalens::cli {

using Action = std::function<int()>;

void add_train(CLI::App& app, Action& action);
void add_eval(CLI::App& app, Action& action);
void add_info(CLI::App& app, Action& action);
void add_inspect(CLI::App& app, Action& action);
void add_bench(CLI::App& app, Action& action);
void add_sweep(CLI::App& app, Action& action);  // a grid of trainings (cli/sweep.cpp)
void add_export(CLI::App& app, Action& action);  // figures; needs the GUI build's renderer

// The command line this process was started with (argv, kept by main): what a sweep's --jobs
// starts again in each cell's process.
void remember_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// "[#######.......]  45%" of `width` cells.
std::string progress_bar(double fraction, int width = 24);
// "1h02m", "3m12s", "42s"
std::string format_duration(double seconds);

}  // namespace fmalens::cli
