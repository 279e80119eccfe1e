#include "render/region_figure.h"

#include "render/figure_call.h"

#include <algorithm>
#include <cmath>

#include "render/figure_common.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {

std::vector<ClassScore> top_classes(const Snapshot& s, int count) {
  std::vector<ClassScore> out;
  const auto& logits = s.logits.data;
  if (logits.empty() || s.config.kind != ModelKind::image) return out;
  const float mx = *std::max_element(logits.begin(), logits.end());
  double z = 0;
  for (float v : logits) z += std::exp(static_cast<double>(v - mx));
  for (size_t k = 0; k < logits.size(); ++k) {
    const std::string name = k < s.config.class_names.size() ? s.config.class_names[k] : "class " + std::to_string(k);
    out.push_back({name, static_cast<float>(std::exp(static_cast<double>(logits[k] - mx)) / z)});
  }
  std::stable_sort(out.begin(), out.end(), [](const ClassScore& a, const ClassScore& b) { return a.probability > b.probability; });
  if (static_cast<int>(out.size()) > count) out.resize(static_cast<size_t>(count));
  return out;
}

void RegionRenderer::set_image(const Array& image) {
  const int S = static_cast<int>(image.dim(0)), ch = static_cast<int>(image.dim(2));
  std::vector<uint8_t> rgba(static_cast<size_t>(S) * S * 4, 255);
  for (int p = 0; p < S * S; ++p)
    for (int c = 0; c < 3; ++c) {
      const float v = image.data[static_cast<size_t>(p * ch + std::min(c, ch - 1))];
      rgba[static_cast<size_t>(p) * 4 + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255));
    }
  image_ = make_texture();
  glBindTexture(GL_TEXTURE_2D, image_.get());
  set_nearest_clamp(GL_TEXTURE_2D);  // patches stay crisp when magnified
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, S, S, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
  check_gl("RegionRenderer::set_image");
  size_ = S;
}

RegionFigureLayout RegionRenderer::layout(const PixelRect& r, int levels, float f) const {
  RegionFigureLayout l;
  const int title = static_cast<int>(f * 1.6f), scores_w = static_cast<int>(f * 14);
  const int small_gap = static_cast<int>(f * 0.8f);
  const int small = std::max(16, std::min((r.w - small_gap * (levels - 1)) / std::max(levels, 1), r.h / 4));
  const int side = std::max(16, std::min(r.w - scores_w - static_cast<int>(f), r.h - small - title * 2));
  l.map = {r.x, r.y + title, side, side};
  for (int k = 0; k < levels; ++k)
    l.level_maps.push_back({r.x + k * (small + small_gap), l.map.y + side + title, small, small});
  l.scores = {r.x + side + static_cast<int>(f), l.map.y, std::max(1, r.w - side - static_cast<int>(f)), side};
  return l;
}

void RegionRenderer::draw_map(RenderContext& ctx, const BandTextures& bands, const RegionFigure& fig, int only_level,
                              const PixelRect& rect, int target_h) const {
  const GLuint program = ctx.shaders().program("quad.vert.glsl", "region_map.frag.glsl");
  glUseProgram(program);
  ctx.bind_colormaps(program, 0);
  bands.bind(program, 1);
  glActiveTexture(GL_TEXTURE2);
  glBindTexture(GL_TEXTURE_2D, image_.get());
  glActiveTexture(GL_TEXTURE0);
  set_uniform(program, "u_image", 2);
  set_uniform(program, "u_image_size", size_);
  set_uniform(program, "u_query", static_cast<int>(fig.query));
  set_uniform(program, "u_level_mask", static_cast<int>(fig.level_mask & 0x7FFFFFFFu));
  set_uniform(program, "u_only_level", only_level);
  set_uniform(program, "u_colormap", static_cast<int>(fig.colours.colormap));
  set_uniform(program, "u_log_scale", fig.colours.log_scale ? 1 : 0);
  set_uniform(program, "u_range", fig.colours.lo, fig.colours.hi);
  set_uniform(program, "u_opacity", fig.opacity);
  set_uniform(program, "u_size", static_cast<float>(rect.w), static_cast<float>(rect.h));
  float tints[16 * 3];
  for (int l = 0; l < 16; ++l) {
    const Rgb c = level_tint(l);
    tints[3 * l] = c.r;
    tints[3 * l + 1] = c.g;
    tints[3 * l + 2] = c.b;
  }
  set_uniform_vec3_array(program, "u_tints", tints, 16);
  ctx.draw_rect_pass(rect, target_h);
}

void RegionRenderer::draw(RenderContext& ctx, const BandTextures& bands, const RegionFigure& fig, const PixelRect& rect,
                          int target_w, int target_h, Canvas* canvas) const {
  if (!has_image() || !bands.valid()) return;
  const float f = fig.font_px;
  const RegionFigureLayout lay = layout(rect, bands.levels(), f);
  const int64_t G = bands.attention().grid_side;
  draw_map(ctx, bands, fig, -1, lay.map, target_h);
  canvas->label(static_cast<float>(lay.map.x), static_cast<float>(lay.map.y) - f * 1.4f,
                "patch " + std::to_string(fig.query / G) + "," + std::to_string(fig.query % G) + " (query " +
                    std::to_string(fig.query) + "): all levels",
                kTextColor);
  for (int l = 0; l < static_cast<int>(lay.level_maps.size()); ++l) {
    const PixelRect& r = lay.level_maps[static_cast<size_t>(l)];
    draw_map(ctx, bands, fig, l, r, target_h);
    canvas->stroke_rect(static_cast<float>(r.x) - 1, static_cast<float>(r.y) - 1, static_cast<float>(r.w) + 2,
                        static_cast<float>(r.h) + 2, to_color(level_tint(l)), 2);
    canvas->label(static_cast<float>(r.x), static_cast<float>(r.y) - f * 1.3f, l == 0 ? "fine" : "level " + std::to_string(l),
                  to_color(level_tint(l)));
  }
  // Class scores: the prediction and the top probabilities as bars.
  const PixelRect& s = lay.scores;
  const float row = f * 1.6f;
  if (!fig.scores.empty())
    canvas->label(static_cast<float>(s.x), static_cast<float>(s.y), "predicted: " + fig.scores[0].name, kTextColor);
  for (size_t k = 0; k < fig.scores.size(); ++k) {
    const float y = static_cast<float>(s.y) + row * (static_cast<float>(k) + 1.5f);
    const float w = static_cast<float>(s.w) * 0.45f;
    canvas->fill_rect(static_cast<float>(s.x), y, w, row - 4, {0.16f, 0.16f, 0.18f, 1});
    canvas->fill_rect(static_cast<float>(s.x), y, w * fig.scores[k].probability, row - 4,
                      k == 0 ? Color{0.35f, 0.70f, 0.98f, 1} : Color{0.45f, 0.45f, 0.5f, 1});
    canvas->label(static_cast<float>(s.x) + w + f * 0.5f, y + (row - 4 - f) * 0.5f,
                  format_percent(fig.scores[k].probability) + "  " + fig.scores[k].name, kTextColor);
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void regions_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  if (s.config.kind != ModelKind::image || s.image.empty()) throw Error("view 'regions' needs an image model and an image");
  const BandTextures& textures = c.textures("regions");
  RegionRenderer regions;
  regions.set_image(s.image);
  RegionFigure fig;
  fig.query = c.query;
  fig.level_mask = c.level_mask;
  fig.colours = c.colour_scale("regions");
  fig.opacity = st.overlay_opacity;
  fig.scores = top_classes(s, 5);
  fig.font_px = f;
  regions.draw(c.ctx, textures, fig, body, W, H, &canvas);
  const RegionFigureLayout lay = regions.layout(body, textures.levels(), f);
  c.raster.push_back(lay.map);
  for (const PixelRect& r : lay.level_maps) c.raster.push_back(r);
  c.side_colours = fig.colours;
}

}  // namespace fmalens::render
