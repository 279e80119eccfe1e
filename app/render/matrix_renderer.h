// The hierarchical attention matrix: the implied n x n matrix drawn by fragment shaders from
// the band textures, never from a dense texture. Two stages:
//   sampling (shaders/matrix_sample.frag.glsl): each pass samples every pixel at one sub-pixel
//     position, mapping the sample's (query i, key t) to its level and band column with the
//     GLSL twin of Layout::locate; GL_MAX blending keeps the largest weight of all passes, so a
//     pixel that covers many cells ends as the max over a k x k grid of samples inside it. That
//     keeps the thin fine band visible when zoomed out; passes spread over frames keep panning
//     fast, and the picture refines when the view holds still.
//   resolve (shaders/matrix_resolve.frag.glsl): colormap, scale, tints, outlines, selected row.
// Only sampling depends on the view's position and the levels shown; colormap, scale and
// highlights redraw from the accumulated samples.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "render/band_textures.h"
#include "render/matrix_style.h"
#include "render/matrix_tiles.h"
#include "render/offscreen_target.h"
#include "render/render_context.h"

namespace fmalens::render {

// Default tints of the levels (fine first), also used for level outlines in other views.
Rgb level_tint(int level);
// A dash pattern per level, so that levels differ by more than colour (where a level is drawn as
// a line: text underlines, the level strip, the legend bars): is pixel `x` of a line of level
// `level` drawn? Fine: solid; L1 long dashes; L2 short; L3 dots; L4 dash-dot; then repeating.
bool level_pattern(int level, int x);
// The drawn runs [a, b) of pixels from..to-1 of such a line: one rectangle per dash.
std::vector<std::pair<int, int>> level_dash_runs(int level, int from, int to);

// Colour range of the sampled peaks of `view` over `bands`: lo, hi (the views that follow the
// matrix's colours use it; the renderer's own range also knows mass tiles and row scales).
void matrix_color_range(const MatrixView& view, const BandTextures& bands, float* lo, float* hi);

class MatrixRenderer {
 public:
  // Draws `view` of `bands` into `rect` of the bound target (`target_height` pixels tall).
  // Runs at most `max_new_passes` sampling passes (0: all that remain) and returns true when
  // the image is complete; call again next frame while it returns false. A view that only
  // moved by whole pixels reuses what was sampled and coloured, and samples only the strips
  // that came into view, so panning costs little whatever n. `preview`: show the last picture,
  // scaled to the new view, instead of sampling (a wheel zoom under way, new bands this frame),
  // until a call without it.
  // `cpu`: the same bands on the CPU (the view's mass tiles, row scales and first-key strip
  // need them; without, the view shows sampled peaks on the bands' range).
  bool draw(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, const PixelRect& rect, int target_height,
            int max_new_passes = 0, bool preview = false, const BandData* cpu = nullptr);

  // The colour range of the last draw (what its colorbar shows): lo, hi. Row-normalised: the
  // fraction of each row's largest weight.
  void colour_range(float* lo, float* hi) const {
    *lo = range_lo_;
    *hi = range_hi_;
  }
  // The last draw's mass tiles (empty unless it showed mass), and its per-row summary (null
  // unless it needed one: row scales of sampled peaks, the first-key strip).
  const MassTiles& mass_tiles() const { return tiles_; }
  const RowSummary* row_summary() const { return summary_valid_ ? &summary_ : nullptr; }

  // Tests: writes (level, first slot, i, t) of each pixel's centre cell as RGBA32F into
  // `out`, which must be rect-sized. Level -1 where no level serves the cell.
  void draw_locate_debug(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, OffscreenTarget& out);

  // What the draws so far did, cumulative: sample passes over the whole view (a new view),
  // passes over strips that came into view (panning), draws that shifted or scaled the
  // previous picture. Tests and `fmalens bench` read what happened here instead of timing it.
  struct Work {
    int64_t full_passes = 0, strip_passes = 0, reprojections = 0, previews = 0;
  };
  const Work& work() const { return work_; }
  bool reprojected() const { return reprojected_; }  // the last draw shifted the previous picture
  bool previewed() const { return previewed_; }      // the last draw scaled the previous picture

  // A rectangle of the accumulation targets in GL pixels (origin at the bottom left).
  struct Region {
    int x = 0, y = 0, w = 0, h = 0;
  };

 private:
  void sample_pass(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, int pass, OffscreenTarget& dst, bool debug,
                   const Region* scissor = nullptr);
  void resolve(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, const Region* scissor);
  bool reproject(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, double dx, double dy);
  void scaled_preview(const MatrixView& view);
  void upload_mass(const MatrixView& view, const BandData& cpu, int w, int h);
  void update_summary(const BandTextures& bands, const BandData& cpu, const MatrixView& view);
  void update_range(const MatrixView& view, const BandTextures& bands);

  OffscreenTarget accum_{TargetFormat::rg32f}, accum_spare_{TargetFormat::rg32f};
  OffscreenTarget colour_, colour_spare_;  // the resolved picture, reused while nothing changes
  bool colour_valid_ = false;
  int passes_done_ = 0, passes_needed_ = 1;
  bool reprojected_ = false, previewed_ = false;
  Work work_;
  double colour_t0_ = 0, colour_i0_ = 0, colour_cpp_ = 1;  // the view colour_ shows
  // What the accumulated samples depend on: a change of anything but the corner restarts them.
  struct Key {
    double t0 = -1, i0 = -1, cells_per_pixel = -1;
    uint32_t level_mask = 0;
    bool z_order = false;
    int samples = 0, w = 0, h = 0;
    uint64_t bands_version = 0;
    bool mass = false, row_scales = false, sink_strip = false;  // mass tiles; a row-max texture; the first key out of range
    bool operator==(const Key& o) const { return same_frame(o) && t0 == o.t0 && i0 == o.i0; }
    bool same_frame(const Key& o) const {
      return cells_per_pixel == o.cells_per_pixel && level_mask == o.level_mask && z_order == o.z_order && samples == o.samples &&
             w == o.w && h == o.h && bands_version == o.bands_version && mass == o.mass && row_scales == o.row_scales &&
             sink_strip == o.sink_strip;
    }
  } key_;
  // What only the colours depend on.
  struct ColourKey {
    int colormap = -1;
    bool log_scale = false, outlines = false;
    float lo = 0, hi = 0, tint = 0, gamma = 1;
    int64_t selected_row = -2;
    bool operator==(const ColourKey& o) const {
      return colormap == o.colormap && log_scale == o.log_scale && outlines == o.outlines && lo == o.lo && hi == o.hi &&
             tint == o.tint && gamma == o.gamma && selected_row == o.selected_row;
    }
  } colour_key_;

  // CPU-side pieces: mass tiles of the current view, the per-row summary of the current bands
  // (for their version, level mask, axis order and first-key rule), each pixel row's scale.
  MassTiles tiles_;
  RowSummary summary_;
  bool summary_valid_ = false;
  struct SummaryKey {
    uint64_t bands_version = 0;
    uint32_t level_mask = 0;
    bool z_order = false, without_first_key = false;
    bool operator==(const SummaryKey& o) const {
      return bands_version == o.bands_version && level_mask == o.level_mask && z_order == o.z_order && without_first_key == o.without_first_key;
    }
  } summary_key_;
  Texture row_scale_;  // [h] R32F: each pixel row's largest value, when rows are normalised
  float range_lo_ = 0, range_hi_ = 1;

  // Samples and colours what `key` needs (reusing a shifted picture when it can).
  void update(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, const Key& key, int max_new_passes,
              const BandData* cpu);
};

}  // namespace fmalens::render
