#include "front_end.h"

#include <cstdio>
#include <exception>

#include "fmalens/config.h"
#include "fmalens/quote.h"

namespace fmalens {

int refuse(const char* message, ExitCode code) {
  std::fprintf(stderr, "error: %s\n", message);
  return code;
}

int run_front_end(const std::function<int()>& work) {
  try {
    return work();
  } catch (const Error& e) {
    return refuse(error_line(e).c_str(), kExitBadInput);
  } catch (const std::exception& e) {
    return refuse(error_line(e).c_str(), kExitFailure);
  }
}

}  // namespace fmalens
