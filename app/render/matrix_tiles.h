// What the matrix view draws besides its sampled peaks, computed on the CPU from the bands
// (never an n x n matrix), without GL so that the tests check it against implied rows:
//   - mass-true tiles: each pixel the attention mass on the keys it covers, averaged over the
//     query rows it covers, so a row of pixels sums to the mass of its rows inside the view
//     (1 across the whole matrix, phantom mass aside) at any zoom;
//   - per-row maxima, for colouring each query row against its own largest weight;
//   - the first key's weight and the phantom zero keys' mass per row, for their own strips.
// Rows are sampled like the peaks are: a pixel row covering more than `max_rows_per_pixel`
// query rows averages that many, evenly spread (each still sums exactly over its keys).
#pragma once

#include <cstdint>
#include <vector>

#include "fmalens/layout.h"
#include "render/band_data.h"
#include "render/matrix_style.h"

namespace fmalens::render {

// Axis position of a token and back: 2D models in Z order put each cell's tokens side by side.
int64_t axis_of_token(const AttentionConfig& attention, bool z_order, int64_t token);
int64_t token_of_axis(const AttentionConfig& attention, bool z_order, int64_t axis);

// Keys [a, b) along the key axis that one level serves with one weight per key.
struct KeyRun {
  int64_t a = 0, b = 0;
  float per_key = 0;
  int level = 0;
};

// The keys query row `row` (an axis position) attends to, as runs along the key axis, levels
// of `level_mask` only, phantom keys left out. Fine keys are runs of one; a 1D coarse block is
// one run; a 2D cell is one run per stretch of consecutive axis positions.
void row_key_runs(const BandData& bands, const Layout& layout, int64_t row, bool z_order, uint32_t level_mask,
                  std::vector<KeyRun>* runs);

struct MassTiles {
  int w = 0, h = 0;
  // [h, w], rows from the top: the mass, or -1 where nothing is attended (the causal future),
  // -0.5 where only hidden levels are.
  std::vector<float> mass;
  std::vector<int8_t> centre_level;  // [h, w]: level serving the pixel's centre cell (-1: none)
  std::vector<float> row_max;        // [h]: largest mass of each pixel row (first key's left out with sink_strip)
  float max_mass = 0;                // largest of row_max
};
MassTiles mass_tiles(const BandData& bands, const Layout& layout, const MatrixView& view, int w, int h, int max_rows_per_pixel = 16);

// Per query row (axis order), over all rows of the bands.
struct RowSummary {
  std::vector<float> row_max;    // largest weight of the levels in `level_mask` (first key left out when asked)
  std::vector<float> first_key;  // the implied weight on token 0 (fine: its own; coarse: its block's per key)
  std::vector<float> phantom;    // mass on phantom zero keys (zero_pad models; else empty)
  float max_weight = 0;          // largest of row_max
};
RowSummary row_summary(const BandData& bands, const Layout& layout, bool z_order, uint32_t level_mask, bool without_first_key);

// One value per pixel row from per-row values (axis order): the largest, or the mean weighted
// by how much of each row the pixel row covers. 0 where a pixel row covers no row.
std::vector<float> pixel_rows_max(const std::vector<float>& per_row, const MatrixView& view, int h, int max_rows_per_pixel = 16);
std::vector<float> pixel_rows_mean(const std::vector<float>& per_row, const MatrixView& view, int h, int max_rows_per_pixel = 16);

}  // namespace fmalens::render
