#include "render/matrix_tiles.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace fmalens::render {

int64_t axis_of_token(const AttentionConfig& a, bool z_order, int64_t token) {
  if (a.variant != Variant::grid2d || !z_order) return token;
  return Layout::morton(token / a.grid_side, token % a.grid_side);
}

int64_t token_of_axis(const AttentionConfig& a, bool z_order, int64_t axis) {
  if (a.variant != Variant::grid2d || !z_order) return axis;
  int64_t y, x;
  Layout::unmorton(axis, &y, &x);
  return y * a.grid_side + x;
}

namespace {

// Appends the single key at axis position `at`, merged into the last run when it continues it.
void push_key(std::vector<KeyRun>* runs, int64_t at, float per_key, int level) {
  if (!runs->empty()) {
    KeyRun& last = runs->back();
    if (last.b == at && last.per_key == per_key && last.level == level) {
      ++last.b;
      return;
    }
  }
  runs->push_back({at, at + 1, per_key, level});
}

// The query rows pixel row `y` covers, with weights: every row weighted by how much of it the
// pixel row covers, or `max_rows` rows evenly spread (weight 1 each) when it covers more.
void pixel_row_samples(const MatrixView& v, int y, int64_t rows, int max_rows, std::vector<std::pair<int64_t, double>>* out) {
  out->clear();
  const double lo = std::max(0.0, v.i0 + y * v.cells_per_pixel);
  const double hi = std::min(static_cast<double>(rows), v.i0 + (y + 1) * v.cells_per_pixel);
  if (!(hi > lo)) return;
  const int64_t r0 = static_cast<int64_t>(std::floor(lo)), r1 = static_cast<int64_t>(std::ceil(hi));
  if (r1 - r0 <= std::max(1, max_rows)) {
    for (int64_t r = r0; r < r1; ++r) {
      const double cover = std::min(hi, static_cast<double>(r + 1)) - std::max(lo, static_cast<double>(r));
      if (cover > 0) out->emplace_back(r, cover);
    }
    return;
  }
  for (int k = 0; k < max_rows; ++k) {
    const double at = lo + (k + 0.5) * (hi - lo) / max_rows;
    out->emplace_back(std::clamp<int64_t>(static_cast<int64_t>(std::floor(at)), r0, r1 - 1), 1.0);
  }
}

}  // namespace

void row_key_runs(const BandData& b, const Layout& layout, int64_t row, bool z_order, uint32_t level_mask, std::vector<KeyRun>* runs) {
  runs->clear();
  const AttentionConfig& a = b.attention;
  const bool grid = a.variant == Variant::grid2d;
  const int64_t i = token_of_axis(a, z_order, row), n = b.tokens;
  for (int l = 0; l < layout.num_levels(); ++l) {
    if (!((level_mask >> l) & 1u)) continue;
    const LevelGeometry& g = layout.level(l);
    const int64_t group = l == 0 ? 1 : g.summaries;
    const int64_t columns = g.slots / group;
    for (int64_t c = 0; c < columns; ++c) {
      const SlotRef r = layout.slot(l, i, c * group);
      if (!r.valid || r.phantom) continue;
      const float v = b.value(l, i, c);
      if (l == 0) {
        if (r.block < n) push_key(runs, axis_of_token(a, z_order, r.block), v, 0);
      } else if (!grid) {
        const int64_t t0 = r.block * g.width, t1 = std::min(t0 + g.width, n);
        if (t0 < t1) runs->push_back({t0, t1, v, l});
      } else {
        std::vector<int64_t> keys;
        for (int64_t t : layout.block_tokens(l, r.block))
          if (t < n) keys.push_back(axis_of_token(a, z_order, t));
        std::sort(keys.begin(), keys.end());
        for (int64_t k : keys) push_key(runs, k, v, l);
      }
    }
  }
}

MassTiles mass_tiles(const BandData& b, const Layout& layout, const MatrixView& v, int w, int h, int max_rows_per_pixel) {
  MassTiles t;
  t.w = std::max(0, w);
  t.h = std::max(0, h);
  t.mass.assign(static_cast<size_t>(t.w) * t.h, -1.0f);
  t.centre_level.assign(t.mass.size(), -1);
  t.row_max.assign(static_cast<size_t>(t.h), 0.0f);
  const AttentionConfig& a = b.attention;
  const int64_t n = b.tokens;
  const double cpp = v.cells_per_pixel;
  // The pixel column holding key 0 (axis 0 in every order), whose share leaves the range with sink_strip.
  const int x_sink = v.sink_strip ? static_cast<int>(std::floor(-v.t0 / cpp)) : -1;
  std::vector<double> acc(static_cast<size_t>(t.w));
  std::vector<KeyRun> runs;
  std::vector<std::pair<int64_t, double>> samples;
  for (int y = 0; y < t.h; ++y) {
    pixel_row_samples(v, y, n, max_rows_per_pixel, &samples);
    std::fill(acc.begin(), acc.end(), 0.0);
    double total = 0, sink = 0;
    for (const auto& [row, weight] : samples) {
      total += weight;
      row_key_runs(b, layout, row, v.z_order, v.level_mask, &runs);
      for (const KeyRun& run : runs) {
        const double fa = (static_cast<double>(run.a) - v.t0) / cpp, fb = (static_cast<double>(run.b) - v.t0) / cpp;
        const int xa = std::max(0, static_cast<int>(std::floor(fa))), xb = std::min(t.w - 1, static_cast<int>(std::ceil(fb)) - 1);
        for (int x = xa; x <= xb; ++x) {
          const double lo = std::max(static_cast<double>(run.a), v.t0 + x * cpp);
          const double hi = std::min(static_cast<double>(run.b), v.t0 + (x + 1) * cpp);
          if (hi > lo) acc[static_cast<size_t>(x)] += weight * run.per_key * (hi - lo);
        }
        if (x_sink >= 0 && x_sink < t.w && run.a == 0) {
          const double lo = std::max(0.0, v.t0 + x_sink * cpp), hi = std::min(1.0, v.t0 + (x_sink + 1) * cpp);
          if (hi > lo) sink += weight * run.per_key * (hi - lo);
        }
      }
    }
    // The level at each pixel's centre cell: outlines, tints, and what an empty pixel means.
    const double ci = v.i0 + (y + 0.5) * cpp;
    const int64_t row = static_cast<int64_t>(std::floor(ci));
    float row_max = 0;
    for (int x = 0; x < t.w; ++x) {
      const int64_t col = static_cast<int64_t>(std::floor(v.t0 + (x + 0.5) * cpp));
      int level = -1;
      if (row >= 0 && row < n && col >= 0 && col < n) {
        int64_t slot = 0;
        level = layout.locate(token_of_axis(a, v.z_order, row), token_of_axis(a, v.z_order, col), &slot);
      }
      const size_t at = static_cast<size_t>(y) * t.w + x;
      t.centre_level[at] = static_cast<int8_t>(level);
      const double mass = total > 0 ? acc[static_cast<size_t>(x)] / total : 0.0;
      if (mass > 0) t.mass[at] = static_cast<float>(mass);
      else if (level < 0) t.mass[at] = -1.0f;
      else t.mass[at] = ((v.level_mask >> level) & 1u) ? 0.0f : -0.5f;
      const double ranged = x == x_sink && total > 0 ? mass - sink / total : mass;
      row_max = std::max(row_max, static_cast<float>(ranged));
    }
    t.row_max[static_cast<size_t>(y)] = row_max;
    t.max_mass = std::max(t.max_mass, row_max);
  }
  return t;
}

RowSummary row_summary(const BandData& b, const Layout& layout, bool z_order, uint32_t level_mask, bool without_first_key) {
  RowSummary s;
  const int64_t n = b.tokens;
  s.row_max.assign(static_cast<size_t>(n), 0.0f);
  s.first_key.assign(static_cast<size_t>(n), 0.0f);
  const bool phantoms = b.attention.boundary == Boundary::zero_pad && b.attention.variant == Variant::causal;
  if (phantoms) s.phantom.assign(static_cast<size_t>(n), 0.0f);
  std::vector<KeyRun> runs;
  for (int64_t r = 0; r < n; ++r) {
    row_key_runs(b, layout, r, z_order, 0xFFFFFFFFu, &runs);
    float top = 0;
    double total = 0;
    for (const KeyRun& run : runs) {
      total += static_cast<double>(run.per_key) * static_cast<double>(run.b - run.a);
      if (run.a == 0) s.first_key[static_cast<size_t>(r)] = run.per_key;
      if (!((level_mask >> run.level) & 1u)) continue;
      if (without_first_key && run.a == 0 && run.b == 1) continue;
      top = std::max(top, run.per_key);
    }
    s.row_max[static_cast<size_t>(r)] = top;
    s.max_weight = std::max(s.max_weight, top);
    if (phantoms) s.phantom[static_cast<size_t>(r)] = static_cast<float>(std::max(0.0, 1.0 - total));
  }
  return s;
}

std::vector<float> pixel_rows_max(const std::vector<float>& per_row, const MatrixView& v, int h, int max_rows_per_pixel) {
  std::vector<float> out(static_cast<size_t>(std::max(0, h)), 0.0f);
  std::vector<std::pair<int64_t, double>> samples;
  for (int y = 0; y < h; ++y) {
    pixel_row_samples(v, y, static_cast<int64_t>(per_row.size()), max_rows_per_pixel, &samples);
    for (const auto& [row, weight] : samples) out[static_cast<size_t>(y)] = std::max(out[static_cast<size_t>(y)], per_row[static_cast<size_t>(row)]);
  }
  return out;
}

std::vector<float> pixel_rows_mean(const std::vector<float>& per_row, const MatrixView& v, int h, int max_rows_per_pixel) {
  std::vector<float> out(static_cast<size_t>(std::max(0, h)), 0.0f);
  std::vector<std::pair<int64_t, double>> samples;
  for (int y = 0; y < h; ++y) {
    pixel_row_samples(v, y, static_cast<int64_t>(per_row.size()), max_rows_per_pixel, &samples);
    double sum = 0, total = 0;
    for (const auto& [row, weight] : samples) {
      sum += weight * per_row[static_cast<size_t>(row)];
      total += weight;
    }
    out[static_cast<size_t>(y)] = total > 0 ? static_cast<float>(sum / total) : 0.0f;
  }
  return out;
}

}  // namespace fmalens::render
