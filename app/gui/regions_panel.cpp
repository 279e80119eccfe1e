// View 4's panel (image models): the region maps of the selected patch, the per-level maps and
// the class scores. Clicking a patch on any map makes it the query.
#include <imgui.h>

#include <algorithm>

#include "gui/panels.h"
#include "render/band_data.h"
#include "render/region_figure.h"

namespace fmalens::gui {

void draw_regions_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot || s.snapshot->config.kind != ModelKind::image) {
    ImGui::TextDisabled("Region maps need an image model: open one (Ctrl+O) and an image (Ctrl+I).");
    return;
  }
  if (!p.res.bands() || !p.res.regions.has_image()) {
    ImGui::TextWrapped("%s", p.res.bands_error().empty() ? "No FMA levels in this model." : p.res.bands_error().c_str());
    return;
  }
  const Snapshot& snap = *s.snapshot;
  MatrixSettings ms = s.matrix;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  if (ImGui::SliderFloat("opacity", &ms.overlay_opacity, 0, 1, "%.2f")) p.emit(SetMatrixSettings{ms});
  ImGui::SameLine();
  level_toggles(p, p.res.band_textures.levels());

  render::RegionFigure fig;
  fig.query = s.query;
  fig.level_mask = s.matrix.level_mask;
  fig.colours = colour_scale(p);
  fig.opacity = s.matrix.overlay_opacity;
  fig.scores = render::top_classes(snap, 5);
  fig.font_px = p.font_px();
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::regions)];
  KeyHasher key;
  key.add(fig.query).add(fig.level_mask).add(fig.colours).add(fig.opacity).add(fig.font_px);
  key.add(p.res.band_textures.version());
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    p.res.regions.draw(p.res.ctx, p.res.band_textures, fig, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##regions");
  if (!img.hovered()) return;
  const render::RegionFigureLayout lay = p.res.regions.layout(img.rect(), p.res.band_textures.levels(), fig.font_px);
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  const int64_t G = snap.attention.grid_side;
  auto patch_at = [&](const render::PixelRect& r) -> int64_t {
    if (!r.contains(m.x, m.y)) return -1;
    const int64_t x = std::clamp<int64_t>(static_cast<int64_t>((m.x - r.x) / r.w * G), 0, G - 1);
    const int64_t y = std::clamp<int64_t>(static_cast<int64_t>((m.y - r.y) / r.h * G), 0, G - 1);
    return y * G + x;
  };
  int64_t t = patch_at(lay.map);
  for (const auto& r : lay.level_maps)
    if (t < 0) t = patch_at(r);
  if (t < 0) return;
  int level = -1;
  const float v = render::implied_value(*p.res.bands(), *p.res.layout(), s.query, t, &level);
  data_tooltip("%s\n%s, weight %.4g per patch\nclick: make it the query", token_label(snap, t).c_str(),
                    level < 0 ? "not attended" : level == 0 ? "fine level" : ("level " + std::to_string(level)).c_str(),
                    static_cast<double>(v));
  if (img.clicked()) p.emit(SelectQuery{t});
}

}  // namespace fmalens::gui
