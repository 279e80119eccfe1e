// fmalens: the GUI when started bare (or with GUI options), the CLI with a subcommand.
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <cstring>

#include "cli/cli.h"
#include "fmalens/blas_kernels.h"
#include "fmalens/model.h"
#include "fmalens/quote.h"
#include "front_end.h"
#ifdef FMALENS_WITH_GUI
#include "gui/gui_main.h"
#endif

int main(int argc, char** argv) {
  // A full disk or `ulimit -f` must surface as a write error (EFBIG), not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  // Before anything else: a new CPU can leave OpenBLAS on its slowest kernels (see the header).
  fmalens::use_fast_blas(argv);

  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("fmalens %s (%s)\n", FMALENS_VERSION, fmalens::Model::build_description().c_str());
    return 0;
  }
  CLI::App app{"FMA Lens: look inside Fast Multipole Attention models"};
  app.require_subcommand(1);
  fmalens::cli::Action action;
  fmalens::cli::add_train(app, action);
  fmalens::cli::add_eval(app, action);
  fmalens::cli::add_info(app, action);
  fmalens::cli::add_inspect(app, action);
  fmalens::cli::add_bench(app, action);
  fmalens::cli::add_sweep(app, action);
  fmalens::cli::add_export(app, action);
  // No subcommand (nothing, or options first): the GUI, or its headless screenshot mode; a
  // file as the first argument (a file manager's `fmalens %f`) opens in the window too.
  bool command = false;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    command = command || (argc >= 2 && sub->get_name() == argv[1]);
  std::error_code ec;
  if (argc < 2 || std::strncmp(argv[1], "--", 2) == 0 || (!command && std::filesystem::exists(argv[1], ec))) {
#ifdef FMALENS_WITH_GUI
    return fmalens::gui::gui_main(argc, argv);
#else
    if (argc < 2 || std::strcmp(argv[1], "--help") != 0)
      return fmalens::refuse("this build has no GUI (configure with -DFMALENS_GUI=ON); run a subcommand, see --help");
#endif
  }

  fmalens::cli::remember_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    // One line, like every other refusal (CLI11's own print adds a second line).
    return fmalens::refuse((fmalens::escaped(e.what()) + " (--help lists the options)").c_str());
  }
  return fmalens::run_front_end([&] { return action ? action() : fmalens::kExitOk; });
}
