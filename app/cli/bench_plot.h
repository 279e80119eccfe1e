// The performance plot of `fmalens bench --plot`: forward time and peak memory against n on
// log-log axes, one line per implementation (FMA Lens, its LibTorch-ops twin, the peer, dense).
#pragma once

#include <string>
#include <vector>

#include "fmalens/bench.h"

namespace fmalens::cli {

// A standalone SVG document (two panels side by side).
std::string bench_plot_svg(const std::vector<BenchRecord>& records);

}  // namespace fmalens::cli
