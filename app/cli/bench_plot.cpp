#include "cli/bench_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace fmalens::cli {
namespace {

struct Series {
  const char* label;
  const char* variant;
  const char* impl;
  const char* colour;
  const char* dash;  // SVG stroke-dasharray, "" for solid
};

// Forward pass only: the figure the targets speak of.
const Series kSeries[] = {
    {"FMA Lens, causal", "causal", "fma", "#1f77b4", ""},
    {"FMA Lens, linear (bidirectional)", "linear", "fma", "#2ca02c", ""},
    {"FMA in LibTorch ops, causal", "causal", "fma_ops", "#7f7f7f", "6,4"},
    {"peer (PyTorch FMA), causal", "causal", "peer", "#ff7f0e", ""},
    {"dense softmax, causal", "causal", "dense", "#d62728", ""},
};

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
void panel(std::ostringstream& svg, const std::vector<BenchRecord>& records, double x0, double y0, double w, double h,
           const char* title, const char* y_title, double (*value)(const BenchRecord&)) {
  double n_lo = 1e18, n_hi = 0, v_lo = 1e18, v_hi = 0;
  std::map<int, std::vector<std::pair<double, double>>> lines;
  for (size_t s = 0; s < std::size(kSeries); ++s)
    for (const auto& r : records)
      if (r.c.pass == "forward" && r.c.variant == kSeries[s].variant && r.c.impl == kSeries[s].impl && value(r) > 0) {
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
    svg << "<polyline fill='none' stroke-width='2.2' stroke='" << kSeries[s].colour << "'"
        << (*kSeries[s].dash ? std::string(" stroke-dasharray='") + kSeries[s].dash + "'" : "") << " points='";
    for (auto [n, v] : pts) svg << px(n) << "," << py(v) << " ";
    svg << "'/>\n";
    for (auto [n, v] : pts) svg << "<circle cx='" << px(n) << "' cy='" << py(v) << "' r='3.2' fill='" << kSeries[s].colour << "'/>\n";
  }
}

}  // namespace

std::string bench_plot_svg(const std::vector<BenchRecord>& records) {
  const double width = 1000, height = 470;
  std::ostringstream svg;
  svg << "<?xml version='1.0' encoding='UTF-8'?>\n"
      << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height << "' viewBox='0 0 " << width << " "
      << height << "' font-family='DejaVu Sans, sans-serif'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n";
  std::string device = "cpu";
  for (const auto& r : records)
    if (!r.device.empty()) device = r.device;
  panel(svg, records, 80, 50, 380, 300, ("Forward time (" + device + ", 4 heads, d 64, m 64, p 4)").c_str(), "median time (ms)",
        [](const BenchRecord& r) { return r.ms; });
  panel(svg, records, 580, 50, 380, 300, "Peak memory of one forward", "peak memory above inputs (MB)",
        [](const BenchRecord& r) { return r.peak_mb; });
  // The legend, under both panels.
  double lx = 80;
  double ly = 420;
  for (size_t s = 0; s < std::size(kSeries); ++s) {
    if (s == 3) lx = 80, ly += 22;
    svg << "<line x1='" << lx << "' y1='" << ly << "' x2='" << lx + 28 << "' y2='" << ly << "' stroke-width='2.2' stroke='"
        << kSeries[s].colour << "'" << (*kSeries[s].dash ? std::string(" stroke-dasharray='") + kSeries[s].dash + "'" : "")
        << "/><text x='" << lx + 34 << "' y='" << ly + 4 << "' font-size='13'>" << kSeries[s].label << "</text>\n";
    lx += 300;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace fmalens::cli
