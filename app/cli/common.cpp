#include <cmath>
#include <cstdio>

#include "cli/cli.h"

namespace fmalens::cli {

namespace {
std::vector<std::string>& remembered_command_line() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void remember_command_line(int argc, char** argv) { remembered_command_line().assign(argv, argv + argc); }

const std::vector<std::string>& command_line() { return remembered_command_line(); }

std::string progress_bar(double fraction, int width) {
  fraction = std::min(1.0, std::max(0.0, fraction));
  const int full = static_cast<int>(std::lround(fraction * width));
  std::string bar = "[";
  for (int i = 0; i < width; ++i) bar += i < full ? "#" : ".";
  char pct[16];
  std::snprintf(pct, sizeof(pct), "] %3d%%", static_cast<int>(std::lround(fraction * 100)));
  return bar + pct;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600) std::snprintf(buf, sizeof(buf), "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof(buf), "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof(buf), "%lds", t);
  return buf;
}

}  // namespace fmalens::cli
