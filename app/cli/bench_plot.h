// The performance plots of `fmalens bench --plot`: time and peak memory against n on log-log
// axes, one line per implementation (FMA Lens, its LibTorch-ops twin, the peer, dense; with
// --attention every attention kind).
#pragma once

#include <string>
#include <vector>

#include "fmalens/bench.h"

namespace fmalens::cli {

// One line of a plot: the records of this variant and impl (and FMA downsampling, "" any).
struct PlotSeries {
  std::string label, variant, impl, downsampling, colour;
  std::string dash;  // SVG stroke-dasharray, "" for solid
};

// A standalone SVG document: per pass in `passes`, time and peak memory side by side on log-log
// axes, one line per series. `shape` names the benchmark's shapes in the titles.
std::string bench_plot_svg(const std::vector<BenchRecord>& records, const std::vector<PlotSeries>& series,
                           const std::vector<std::string>& passes, const std::string& shape);
// `fmalens bench`'s figure: forward time and memory of FMA Lens, its LibTorch-ops twin, the
// peer and dense.
std::string bench_plot_svg(const std::vector<BenchRecord>& records);

}  // namespace fmalens::cli
