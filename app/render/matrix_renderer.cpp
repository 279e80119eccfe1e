#include "render/matrix_renderer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace fmalens::render {
namespace {

// Sub-pixel position of pass `pass` (pass 0: the centre; then a k x k grid).
void jitter(int pass, int k, float* x, float* y) {
  if (pass == 0 || k <= 1) {
    *x = *y = 0.5f;
    return;
  }
  const int s = pass - 1;
  *x = (static_cast<float>(s % k) + 0.5f) / static_cast<float>(k);
  *y = (static_cast<float>(s / k) + 0.5f) / static_cast<float>(k);
}

int samples_per_axis(const MatrixView& view) {
  return std::clamp(static_cast<int>(std::ceil(view.cells_per_pixel - 1e-9)), 1, std::max(1, view.max_samples_per_axis));
}

}  // namespace

Rgb level_tint(int level) {
  // Qualitative, distinguishable on dark backgrounds; repeats past 8 levels.
  static const Rgb kTints[8] = {{0.98f, 0.55f, 0.24f}, {0.35f, 0.70f, 0.98f}, {0.45f, 0.90f, 0.45f}, {0.95f, 0.40f, 0.75f},
                                {0.98f, 0.85f, 0.30f}, {0.60f, 0.50f, 0.98f}, {0.30f, 0.90f, 0.85f}, {0.90f, 0.35f, 0.35f}};
  return kTints[static_cast<size_t>(std::max(level, 0)) % 8];
}

bool level_pattern(int level, int x) {
  // On/off runs in pixels, one period each.
  static const int kPatterns[5][4] = {{1, 0, 0, 0}, {7, 3, 0, 0}, {3, 3, 0, 0}, {1, 2, 0, 0}, {6, 2, 1, 2}};
  if (level <= 0) return true;
  const int* p = kPatterns[(level - 1) % 4 + 1];
  const int period = p[0] + p[1] + p[2] + p[3];
  const int at = ((x % period) + period) % period;
  return at < p[0] || (at >= p[0] + p[1] && at < p[0] + p[1] + p[2]);
}

std::vector<std::pair<int, int>> level_dash_runs(int level, int from, int to) {
  std::vector<std::pair<int, int>> runs;
  for (int x = from; x < to; ++x) {
    if (!level_pattern(level, x)) continue;
    if (!runs.empty() && runs.back().second == x) ++runs.back().second;
    else runs.emplace_back(x, x + 1);
  }
  return runs;
}

MatrixView MatrixView::fit(int64_t tokens, int w, int h) {
  MatrixView v;
  const double side = static_cast<double>(std::max(1, std::min(w, h)));
  v.cells_per_pixel = static_cast<double>(std::max<int64_t>(tokens, 1)) / side;
  v.t0 = v.i0 = 0;
  return v;
}

MatrixView MatrixView::zoomed(double factor, float px, float py) const {
  MatrixView v = *this;
  if (!(factor > 0)) return v;
  double t, i;
  cell_at(px, py, &t, &i);
  v.cells_per_pixel = cells_per_pixel / factor;
  v.t0 = t - px * v.cells_per_pixel;
  v.i0 = i - py * v.cells_per_pixel;
  return v;
}

MatrixView MatrixView::panned(float dx, float dy) const {
  MatrixView v = *this;
  v.t0 -= dx * cells_per_pixel;
  v.i0 -= dy * cells_per_pixel;
  return v;
}

MatrixView MatrixView::clamped(int64_t tokens, int w, int h) const {
  MatrixView v = *this;
  const double n = static_cast<double>(std::max<int64_t>(tokens, 1));
  const double fit = n / static_cast<double>(std::max(1, std::min(w, h)));
  v.cells_per_pixel = std::clamp(v.cells_per_pixel, 1.0 / 64.0, std::max(fit, 1.0 / 64.0));
  // Keep at least the part of the matrix that fits in view: no panning into emptiness.
  const double span_t = w * v.cells_per_pixel, span_i = h * v.cells_per_pixel;
  v.t0 = span_t >= n ? 0.0 : std::clamp(v.t0, 0.0, n - span_t);
  v.i0 = span_i >= n ? 0.0 : std::clamp(v.i0, 0.0, n - span_i);
  return v;
}

void matrix_color_range(const MatrixView& view, const BandTextures& bands, float* lo, float* hi) {
  *hi = view.range_hi > 0 ? view.range_hi : std::max(bands.max_value(), 1e-30f);
  *lo = *hi * std::pow(10.0f, -std::max(0.5f, view.decades));
}

void MatrixRenderer::sample_pass(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, int pass,
                                 OffscreenTarget& dst, bool debug, const Region* scissor) {
  const GLuint program = ctx.shaders().program("quad.vert.glsl", "matrix_sample.frag.glsl");
  glUseProgram(program);
  bands.bind(program, 0);
  float jx, jy;
  jitter(pass, samples_per_axis(view), &jx, &jy);
  set_uniform(program, "u_jitter", jx, jy);
  const float cpp = static_cast<float>(view.cells_per_pixel);
  set_uniform(program, "u_view", static_cast<float>(view.t0), static_cast<float>(view.i0), cpp, cpp);
  set_uniform(program, "u_size", static_cast<float>(dst.width()), static_cast<float>(dst.height()));
  set_uniform(program, "u_tokens", static_cast<int>(bands.tokens()));
  set_uniform(program, "u_z_order", view.z_order ? 1 : 0);
  set_uniform(program, "u_level_mask", static_cast<int>(view.level_mask & 0x7FFFFFFFu));
  set_uniform(program, "u_debug_locate", debug ? 1 : 0);
  dst.bind();
  if (scissor) {
    glEnable(GL_SCISSOR_TEST);
    glScissor(scissor->x, scissor->y, scissor->w, scissor->h);
  }
  if (pass == 0) {
    glDisable(GL_BLEND);  // the first pass writes weight and centre level
  } else {
    glEnable(GL_BLEND);   // later passes keep the larger weight, and leave the centre level
    glBlendEquation(GL_MAX);
    glColorMask(GL_TRUE, GL_FALSE, GL_FALSE, GL_FALSE);
  }
  ctx.draw_rect_pass({0, 0, dst.width(), dst.height()}, dst.height());
  glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
  glBlendEquation(GL_FUNC_ADD);
  glDisable(GL_BLEND);
  glDisable(GL_SCISSOR_TEST);
}

void MatrixRenderer::resolve(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, const Region* scissor) {
  const GLuint program = ctx.shaders().program("quad.vert.glsl", "matrix_resolve.frag.glsl");
  glUseProgram(program);
  ctx.bind_colormaps(program, 0);
  glActiveTexture(GL_TEXTURE1);
  glBindTexture(GL_TEXTURE_2D, accum_.texture());
  glActiveTexture(GL_TEXTURE0);
  set_uniform(program, "u_accum", 1);
  set_uniform(program, "u_origin", 0.0f, 0.0f);
  set_uniform(program, "u_size", static_cast<float>(accum_.width()), static_cast<float>(accum_.height()));
  const float cpp = static_cast<float>(view.cells_per_pixel);
  set_uniform(program, "u_view", static_cast<float>(view.t0), static_cast<float>(view.i0), cpp, cpp);
  set_uniform(program, "u_colormap", static_cast<int>(view.colormap));
  set_uniform(program, "u_log_scale", view.log_scale ? 1 : 0);
  set_uniform(program, "u_gamma", std::clamp(view.gamma, 0.05f, 20.0f));
  const bool row_scales = view.row_normalise && static_cast<bool>(row_scale_);
  set_uniform(program, "u_row_normalise", row_scales ? 1 : 0);
  glActiveTexture(GL_TEXTURE2);
  glBindTexture(GL_TEXTURE_2D, row_scales ? row_scale_.get() : 0);
  glActiveTexture(GL_TEXTURE0);
  set_uniform(program, "u_row_scale", 2);
  const float lo = range_lo_, hi = range_hi_;
  if (view.log_scale) set_uniform(program, "u_range", std::log(lo), 1.0f / (std::log(hi) - std::log(lo)));
  else set_uniform(program, "u_range", 0.0f, 1.0f / hi);
  float tints[16 * 3], inv_block[16];
  const AttentionConfig& a = bands.attention();
  const bool grid = a.variant == Variant::grid2d;
  for (int l = 0; l < 16; ++l) {
    const Rgb c = level_tint(l);
    tints[3 * l] = c.r;
    tints[3 * l + 1] = c.g;
    tints[3 * l + 2] = c.b;
    // Block side in axis cells: 1D blocks are w_l tokens; 2D cells of side s are s^2
    // consecutive tokens along the Z curve (and no contiguous range in row-major order).
    // Outlined only when at least 6 pixels wide: finer, the lines would cover everything.
    const int64_t side = l == 0 ? a.m : a.m << (l - 1);
    const double block = grid ? (view.z_order ? static_cast<double>(side * side) : 0.0) : static_cast<double>(side);
    inv_block[l] = block > 0 && block / view.cells_per_pixel >= 6 ? static_cast<float>(1.0 / block) : 0.0f;
  }
  set_uniform_vec3_array(program, "u_tints", tints, 16);
  set_uniform(program, "u_tint_strength", view.tint_strength);
  set_uniform_array(program, "u_inv_block", inv_block, 16);
  set_uniform(program, "u_background", 0.09f, 0.09f, 0.10f);
  set_uniform(program, "u_hidden", 0.22f, 0.22f, 0.24f);
  set_uniform(program, "u_outlines", view.outlines ? 1 : 0);
  set_uniform(program, "u_outline_color", 1.0f, 1.0f, 1.0f, 0.45f);
  set_uniform(program, "u_selected_row", static_cast<float>(view.selected_row));
  set_uniform(program, "u_tokens", static_cast<int>(bands.tokens()));
  set_uniform(program, "u_highlight", 1.0f, 0.25f, 0.25f);
  colour_.bind();
  glDisable(GL_BLEND);
  if (scissor) {
    glEnable(GL_SCISSOR_TEST);
    glScissor(scissor->x, scissor->y, scissor->w, scissor->h);
  }
  ctx.draw_rect_pass({0, 0, colour_.width(), colour_.height()}, colour_.height());
  glDisable(GL_SCISSOR_TEST);
}

namespace {

// Copies `src` into `dst` moved by (gx, gy) GL pixels; the uncovered parts of `dst` are stale.
void shifted_copy(const OffscreenTarget& src, const OffscreenTarget& dst, int gx, int gy) {
  const int w = src.width(), h = src.height();
  const int x0 = std::max(0, gx), x1 = std::min(w, w + gx), y0 = std::max(0, gy), y1 = std::min(h, h + gy);
  glBindFramebuffer(GL_READ_FRAMEBUFFER, src.framebuffer());
  glBindFramebuffer(GL_DRAW_FRAMEBUFFER, dst.framebuffer());
  glBlitFramebuffer(x0 - gx, y0 - gy, x1 - gx, y1 - gy, x0, y0, x1, y1, GL_COLOR_BUFFER_BIT, GL_NEAREST);
}

}  // namespace

bool MatrixRenderer::reproject(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, double dx, double dy) {
  // Content moves by (dx, dy) image pixels; only whole-pixel moves keep the sample grid.
  const int ix = static_cast<int>(std::lround(dx)), iy = static_cast<int>(std::lround(dy));
  const int w = accum_.width(), h = accum_.height();
  if (std::abs(dx - ix) > 1e-3 || std::abs(dy - iy) > 1e-3 || std::abs(ix) >= w || std::abs(iy) >= h || passes_done_ == 0 ||
      !colour_valid_)
    return false;
  const int gx = ix, gy = -iy;  // GL rows count from the bottom
  shifted_copy(accum_, accum_spare_, gx, gy);
  std::swap(accum_, accum_spare_);
  shifted_copy(colour_, colour_spare_, gx, gy);
  std::swap(colour_, colour_spare_);
  // The strips that came into view: sampled with the passes the rest has had.
  std::vector<Region> strips;
  if (gx > 0) strips.push_back({0, 0, gx, h});
  if (gx < 0) strips.push_back({w + gx, 0, -gx, h});
  if (gy > 0) strips.push_back({0, 0, w, gy});
  if (gy < 0) strips.push_back({0, h + gy, w, -gy});
  for (const Region& r : strips)
    for (int pass = 0; pass < passes_done_; ++pass, ++work_.strip_passes) sample_pass(ctx, bands, view, pass, accum_, false, &r);
  // Colours of the strips, one pixel wider (outlines look at the right and lower neighbours),
  // and of the right column and bottom row, which lost their neighbours (no outline at an edge).
  strips.push_back({w - 1, 0, 1, h});
  strips.push_back({0, 0, w, 1});
  for (const Region& r : strips) {
    const Region grown{std::max(0, r.x - 1), std::max(0, r.y - 1), std::min(w, r.x + r.w + 1) - std::max(0, r.x - 1),
                       std::min(h, r.y + r.h + 1) - std::max(0, r.y - 1)};
    resolve(ctx, bands, view, &grown);
  }
  return true;
}

void MatrixRenderer::scaled_preview(const MatrixView& view) {
  // Where the old picture's corners land in the new view, in new pixels (rows downwards).
  const int w = colour_.width(), h = colour_.height();
  const double x0 = (colour_t0_ - view.t0) / view.cells_per_pixel, y0 = (colour_i0_ - view.i0) / view.cells_per_pixel;
  const double scale = colour_cpp_ / view.cells_per_pixel;
  const int gx0 = static_cast<int>(std::lround(x0)), gx1 = static_cast<int>(std::lround(x0 + w * scale));
  const int gy0 = h - static_cast<int>(std::lround(y0 + h * scale)), gy1 = h - static_cast<int>(std::lround(y0));
  colour_spare_.bind();
  glClearColor(0.09f, 0.09f, 0.10f, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  glBindFramebuffer(GL_READ_FRAMEBUFFER, colour_.framebuffer());
  glBlitFramebuffer(0, 0, w, h, gx0, gy0, gx1, gy1, GL_COLOR_BUFFER_BIT, GL_NEAREST);
  std::swap(colour_, colour_spare_);
  colour_t0_ = view.t0;
  colour_i0_ = view.i0;
  colour_cpp_ = view.cells_per_pixel;
}

void MatrixRenderer::upload_mass(const MatrixView& view, const BandData& cpu, int w, int h) {
  tiles_ = render::mass_tiles(cpu, Layout(cpu.attention), view, w, h);
  // As the sampling pass writes them: r = value with the level in its lowest mantissa bits,
  // g = 1 + level at the centre; GL rows from the bottom.
  std::vector<float> texels(static_cast<size_t>(w) * h * 2);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t from = static_cast<size_t>(y) * w + x, to = (static_cast<size_t>(h - 1 - y) * w + x) * 2;
      const int level = tiles_.centre_level[from];
      float value = tiles_.mass[from];
      if (value >= 0) {
        uint32_t bits;
        std::memcpy(&bits, &value, sizeof(bits));
        bits = (bits & ~15u) | static_cast<uint32_t>(std::max(level, 0) & 15);
        std::memcpy(&value, &bits, sizeof(bits));
      }
      texels[to] = value;
      texels[to + 1] = static_cast<float>(level + 1);
    }
  glBindTexture(GL_TEXTURE_2D, accum_.texture());
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, GL_RG, GL_FLOAT, texels.data());
  glBindTexture(GL_TEXTURE_2D, 0);
}

void MatrixRenderer::update_summary(const BandTextures& bands, const BandData& cpu, const MatrixView& view) {
  const SummaryKey key{bands.version(), view.level_mask, view.z_order, view.sink_strip};
  if (summary_valid_ && key == summary_key_) return;
  summary_ = render::row_summary(cpu, Layout(cpu.attention), view.z_order, view.level_mask, view.sink_strip);
  summary_key_ = key;
  summary_valid_ = true;
}

void MatrixRenderer::update_range(const MatrixView& view, const BandTextures& bands) {
  float hi;
  if (view.row_normalise && row_scale_) hi = 1;  // a fraction of the row's largest value
  else if (view.range_hi > 0) hi = view.range_hi;
  else if (view.mass && !tiles_.mass.empty()) hi = std::max(tiles_.max_mass, 1e-30f);
  else if (view.sink_strip && summary_valid_) hi = std::max(summary_.max_weight, 1e-30f);
  else {
    float lo_unused;
    matrix_color_range(view, bands, &lo_unused, &hi);
  }
  range_hi_ = hi;
  range_lo_ = hi * std::pow(10.0f, -std::max(0.5f, view.decades));
}

void MatrixRenderer::update(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, const Key& key,
                            int max_new_passes, const BandData* cpu) {
  const bool same_frame = key.same_frame(key_);
  const bool moved = same_frame && !(key == key_);
  bool sampled = false, rescaled = false;
  if (key.mass) {
    // Mass tiles are made whole on the CPU: no passes to spread, nothing to shift.
    reprojected_ = false;
    if (!(key == key_) || passes_done_ == 0) {
      upload_mass(view, *cpu, key.w, key.h);
      passes_done_ = passes_needed_ = 1;
      sampled = true;
    }
    key_ = key;
  } else {
    tiles_ = MassTiles{};
    reprojected_ = moved && reproject(ctx, bands, view, (key_.t0 - key.t0) / view.cells_per_pixel, (key_.i0 - key.i0) / view.cells_per_pixel);
    work_.reprojections += reprojected_;
    if (!same_frame || (moved && !reprojected_)) {
      passes_done_ = 0;
      passes_needed_ = key.samples <= 1 ? 1 : 1 + key.samples * key.samples;
      colour_valid_ = false;
    }
    rescaled = moved;  // row scales follow the rows in view
    key_ = key;
    // A restart spends one pass only: that frame also pays for the full resolve (and often for
    // new band textures), and the frame time matters more than the refinement.
    int budget = max_new_passes <= 0 ? passes_needed_ : (passes_done_ == 0 ? 1 : max_new_passes);
    for (; passes_done_ < passes_needed_ && budget > 0; ++passes_done_, --budget, sampled = true, ++work_.full_passes)
      sample_pass(ctx, bands, view, passes_done_, accum_, false);
  }
  // Per-row scales (sampled peaks: the rows' largest weights; mass: the tiles' rows).
  if (cpu && (view.sink_strip || (view.row_normalise && !key.mass))) update_summary(bands, *cpu, view);
  if (key.row_scales && (sampled || rescaled || !row_scale_)) {
    const std::vector<float> scales = key.mass ? tiles_.row_max : pixel_rows_max(summary_.row_max, view, key.h);
    std::vector<float> flipped(scales.rbegin(), scales.rend());  // GL rows from the bottom
    row_scale_ = make_float_texture(flipped.data(), 1, key.h);
    rescaled = true;
  } else if (!key.row_scales) {
    row_scale_.reset();
  }
  update_range(view, bands);

  ColourKey ck;
  ck.colormap = static_cast<int>(view.colormap);
  ck.log_scale = view.log_scale;
  ck.outlines = view.outlines;
  ck.lo = range_lo_;
  ck.hi = range_hi_;
  ck.tint = view.tint_strength;
  ck.gamma = view.gamma;
  ck.selected_row = view.selected_row;
  if (sampled || !colour_valid_ || !(ck == colour_key_) || (rescaled && key.row_scales)) {
    resolve(ctx, bands, view, nullptr);
    colour_valid_ = true;
    colour_key_ = ck;
  }
  colour_t0_ = view.t0;
  colour_i0_ = view.i0;
  colour_cpp_ = view.cells_per_pixel;
}

bool MatrixRenderer::draw(RenderContext& ctx, const BandTextures& bands, const MatrixView& view, const PixelRect& rect,
                          int target_height, int max_new_passes, bool preview, const BandData* cpu) {
  if (!bands.valid() || rect.w <= 0 || rect.h <= 0) return true;
  FramebufferScope restore;  // the caller's framebuffer, viewport and blending, restored on return
  GLint caller_framebuffer = 0;
  glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &caller_framebuffer);
  const int k = samples_per_axis(view);
  // Mass tiles and row scales need the bands on the CPU (and those of these very textures).
  if (cpu && (cpu->tokens != bands.tokens() || static_cast<int>(cpu->levels.size()) != bands.levels())) cpu = nullptr;
  const bool mass = view.mass && cpu;
  const bool row_scales = view.row_normalise && (mass || cpu);
  const Key key{view.t0, view.i0, view.cells_per_pixel, view.level_mask, view.z_order, mass ? 1 : k, rect.w, rect.h, bands.version(),
                mass, row_scales, view.sink_strip && cpu};
  if (!cpu) summary_valid_ = false;
  bool resized = accum_.resize(rect.w, rect.h);
  resized |= accum_spare_.resize(rect.w, rect.h);
  resized |= colour_.resize(rect.w, rect.h);
  resized |= colour_spare_.resize(rect.w, rect.h);
  if (resized) {
    key_ = Key{};
    colour_valid_ = false;
  }
  // The last picture, scaled to the new view, stands in while the caller asks for a preview.
  previewed_ = preview && colour_valid_ && key.w == key_.w && key.h == key_.h && !(key == key_);
  work_.previews += previewed_;
  if (previewed_) {
    scaled_preview(view);
    key_ = key;
    passes_done_ = 0;  // nothing of the new view is sampled yet
    passes_needed_ = k <= 1 ? 1 : 1 + k * k;
  } else {
    update(ctx, bands, view, key, max_new_passes, cpu);
  }
  glBindFramebuffer(GL_READ_FRAMEBUFFER, colour_.framebuffer());
  glBindFramebuffer(GL_DRAW_FRAMEBUFFER, static_cast<GLuint>(caller_framebuffer));
  const int y = target_height - rect.y - rect.h;
  glBlitFramebuffer(0, 0, rect.w, rect.h, rect.x, y, rect.x + rect.w, y + rect.h, GL_COLOR_BUFFER_BIT, GL_NEAREST);
  glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(caller_framebuffer));
  return !previewed_ && passes_done_ >= passes_needed_;
}

void MatrixRenderer::draw_locate_debug(RenderContext& ctx, const BandTextures& bands, const MatrixView& view,
                                       OffscreenTarget& out) {
  FramebufferScope restore;
  sample_pass(ctx, bands, view, 0, out, true);
}

}  // namespace fmalens::render
