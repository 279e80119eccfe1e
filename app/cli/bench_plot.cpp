#include "cli/bench_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace fmalens::cli {
namespace {

// `fmalens bench`'s lines (forward pass only: the figure the performance targets speak of).
const std::vector<PlotSeries>& default_series() {
  static const std::vector<PlotSeries> series = {
      {"FMA Lens, causal", "causal", "fma", "", "#1f77b4", ""},
      {"FMA Lens, linear (bidirectional)", "linear", "fma", "", "#2ca02c", ""},
      {"FMA in LibTorch ops, causal", "causal", "fma_ops", "", "#7f7f7f", "6,4"},
      {"peer (PyTorch FMA), causal", "causal", "peer", "", "#ff7f0e", ""},
      {"dense softmax, causal", "causal", "dense", "", "#d62728", ""},
  };
  return series;
}

bool in_series(const BenchRecord& r, const PlotSeries& s, const std::string& pass) {
  return r.c.pass == pass && r.c.variant == s.variant && r.c.impl == s.impl && (s.downsampling.empty() || r.c.downsampling == s.downsampling);
}

std::string dash_attribute(const PlotSeries& s) { return s.dash.empty() ? "" : " stroke-dasharray='" + s.dash + "'"; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// "1", "10", "100", "1k", "10k": tick labels of a decade axis.
std::string decade_label(double v) {
  if (v >= 1e6) return num(v / 1e6).substr(0, num(v / 1e6).find('.')) + "M";
  if (v >= 1e3) return num(v / 1e3).substr(0, num(v / 1e3).find('.')) + "k";
  if (v >= 1) return num(v).substr(0, num(v).find('.'));
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// One log-log panel of `value` (ms or MB) against n.
void panel(std::ostringstream& svg, const std::vector<BenchRecord>& records, const std::vector<PlotSeries>& series,
           const std::string& pass, double x0, double y0, double w, double h, const std::string& title, const char* y_title,
           double (*value)(const BenchRecord&)) {
  double n_lo = 1e18, n_hi = 0, v_lo = 1e18, v_hi = 0;
  std::map<int, std::vector<std::pair<double, double>>> lines;
  for (size_t s = 0; s < series.size(); ++s)
    for (const auto& r : records)
      if (in_series(r, series[s], pass) && value(r) > 0) {
        lines[static_cast<int>(s)].push_back({static_cast<double>(r.c.n), value(r)});
        n_lo = std::min(n_lo, static_cast<double>(r.c.n));
        n_hi = std::max(n_hi, static_cast<double>(r.c.n));
        v_lo = std::min(v_lo, value(r));
        v_hi = std::max(v_hi, value(r));
      }
  svg << "<text x='" << x0 + w / 2 << "' y='" << y0 - 12 << "' text-anchor='middle' font-size='15' font-weight='bold'>" << title
      << "</text>\n";
  if (lines.empty()) return;
  const double lx0 = std::log2(n_lo), lx1 = std::max(std::log2(n_hi), lx0 + 1);
  const double ly0 = std::floor(std::log10(v_lo)), ly1 = std::max(std::ceil(std::log10(v_hi)), ly0 + 1);
  auto px = [&](double n) { return x0 + (std::log2(n) - lx0) / (lx1 - lx0) * w; };
  auto py = [&](double v) { return y0 + h - (std::log10(v) - ly0) / (ly1 - ly0) * h; };
  svg << "<rect x='" << x0 << "' y='" << y0 << "' width='" << w << "' height='" << h << "' fill='none' stroke='#444'/>\n";
  for (double d = ly0; d <= ly1 + 1e-9; d += 1) {
    const double y = py(std::pow(10.0, d));
    svg << "<line x1='" << x0 << "' y1='" << y << "' x2='" << x0 + w << "' y2='" << y << "' stroke='#ddd'/>"
        << "<text x='" << x0 - 6 << "' y='" << y + 4 << "' text-anchor='end' font-size='12'>" << decade_label(std::pow(10.0, d))
        << "</text>\n";
  }
  for (double l = std::ceil(lx0); l <= lx1 + 1e-9; l += 1) {
    const double x = px(std::pow(2.0, l));
    const int n = static_cast<int>(std::lround(std::pow(2.0, l)));
    if (static_cast<int>(l) % 2 == static_cast<int>(lx0) % 2)
      svg << "<line x1='" << x << "' y1='" << y0 << "' x2='" << x << "' y2='" << y0 + h << "' stroke='#ddd'/>"
          << "<text x='" << x << "' y='" << y0 + h + 16 << "' text-anchor='middle' font-size='12'>" << n << "</text>\n";
  }
  svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + h + 36 << "' text-anchor='middle' font-size='13'>sequence length n</text>\n"
      << "<text transform='translate(" << x0 - 48 << "," << y0 + h / 2 << ") rotate(-90)' text-anchor='middle' font-size='13'>"
      << y_title << "</text>\n";
  for (auto& [s, pts] : lines) {
    std::sort(pts.begin(), pts.end());
    const PlotSeries& line = series[static_cast<size_t>(s)];
    svg << "<polyline fill='none' stroke-width='2.2' stroke='" << line.colour << "'" << dash_attribute(line) << " points='";
    for (auto [n, v] : pts) svg << px(n) << "," << py(v) << " ";
    svg << "'/>\n";
    for (auto [n, v] : pts) svg << "<circle cx='" << px(n) << "' cy='" << py(v) << "' r='3.2' fill='" << line.colour << "'/>\n";
  }
}

}  // namespace

std::string bench_plot_svg(const std::vector<BenchRecord>& records, const std::vector<PlotSeries>& series,
                           const std::vector<std::string>& passes, const std::string& shape) {
  constexpr double kRowHeight = 400, kLegendRow = 22;
  const double legend_rows = std::ceil(static_cast<double>(series.size()) / 3.0);
  const double width = 1000, height = 50 + kRowHeight * static_cast<double>(passes.size()) + kLegendRow * legend_rows + 10;
  std::ostringstream svg;
  svg << "<?xml version='1.0' encoding='UTF-8'?>\n"
      << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height << "' viewBox='0 0 " << width << " "
      << height << "' font-family='DejaVu Sans, sans-serif'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n";
  for (size_t k = 0; k < passes.size(); ++k) {
    const std::string what = passes[k] == "forward" ? "one forward" : "forward + backward";
    const double y0 = 50 + kRowHeight * static_cast<double>(k);
    panel(svg, records, series, passes[k], 80, y0, 380, 300, "Time of " + what + " (" + shape + ")", "median time (ms)",
          [](const BenchRecord& r) { return r.ms; });
    panel(svg, records, series, passes[k], 580, y0, 380, 300, "Peak memory of " + what, "peak memory above inputs (MB)",
          [](const BenchRecord& r) { return r.peak_mb; });
  }
  // The legend, under the panels, three to a row.
  double ly = 50 + kRowHeight * static_cast<double>(passes.size()) - 30 - kLegendRow;
  for (size_t s = 0; s < series.size(); ++s) {
    if (s % 3 == 0) ly += kLegendRow;
    const double lx = 80 + 300 * static_cast<double>(s % 3);
    svg << "<line x1='" << lx << "' y1='" << ly << "' x2='" << lx + 28 << "' y2='" << ly << "' stroke-width='2.2' stroke='"
        << series[s].colour << "'" << dash_attribute(series[s]) << "/><text x='" << lx + 34 << "' y='" << ly + 4 << "' font-size='13'>"
        << series[s].label << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string bench_plot_svg(const std::vector<BenchRecord>& records) {
  std::string device = "cpu";
  for (const auto& r : records)
    if (!r.device.empty()) device = r.device;
  return bench_plot_svg(records, default_series(), {"forward"}, device + ", 4 heads, d 64, m 64, p 4");
}

}  // namespace fmalens::cli
