// What every front end (the CLI's subcommands, the window) shares at its edge: the exit codes,
// and one boundary that turns whatever the work throws into one line on stderr and a code.
#pragma once

#include <functional>

namespace fmalens {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,   // the machine: no display, no OpenGL, an internal error
  kExitBadInput = 2,  // the input: a file, an option, a configuration (fmalens::Error)
};

// Runs `work` and returns its exit code; an fmalens::Error becomes "error: <one line>" and
// kExitBadInput, an EnvironmentError or any other exception the same line and kExitFailure
// (error_line() of fmalens/quote.h: one line whatever the message held).
int run_front_end(const std::function<int()>& work);

// Prints "error: <message>" as one line on stderr and returns `code` (for refusals made before
// any work runs, such as an option that cannot be parsed).
int refuse(const char* message, ExitCode code = kExitBadInput);

}  // namespace fmalens
