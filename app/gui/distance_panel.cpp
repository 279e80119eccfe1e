// View 9's panel, the distance profile: how much attention the selected head (or the mean of
// the layer's heads, or every head as small multiples) gives at each distance, in log-spaced
// bins stacked by the level serving them. Hovering a bar gives its numbers per level.
#include <imgui.h>

#include "gui/panels.h"
#include "render/head_figures.h"

namespace fmalens::gui {

void draw_distance_panel(PanelContext& p) {
  const AppState& s = p.state;
  const std::vector<HeadStats>* stats = s.snapshot ? p.res.head_stats() : nullptr;
  if (!stats) {
    ImGui::TextDisabled(s.snapshot ? "The distance profile needs an FMA model (its bands)." : "No run yet.");
    return;
  }
  bool all = s.distance_all_heads;
  if (ImGui::Checkbox("every head of the layer", &all)) p.emit(SetDistanceAllHeads{all});
  ImGui::SameLine();
  ImGui::TextDisabled("layer %d; mass per query, summed over the distances in a bin", s.layer);
  const render::DistanceFigure fig =
      render::make_distance_figure(*stats, *s.snapshot, s.layer, s.head, s.distance_all_heads, s.matrix.level_mask, p.font_px());
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::distance)];
  KeyHasher key;
  key.add(reinterpret_cast<uintptr_t>(stats)).add(s.layer).add(s.head).add(s.distance_all_heads).add(s.matrix.level_mask).add(fig.font_px);
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    render::draw_distance_figure(p.res.ctx, fig, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##distance");
  if (!img.hovered()) return;
  const render::DistanceFigureLayout lay = render::distance_figure_layout(fig, img.rect());
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  size_t profile = 0;
  int bin = 0;
  if (!render::distance_bin_at(fig, lay, m.x, m.y, &profile, &bin)) return;
  const HeadStats& h = fig.profiles[profile];
  std::string text = fig.titles[profile] + "\n" + (fig.two_d ? "Chebyshev distance " : "distance ") + render::distance_bin_label(bin);
  double total = 0;
  for (size_t l = 0; l < h.distance_mass.size(); ++l) {
    const double v = h.distance_mass[l][static_cast<size_t>(bin)];
    total += v;
    if (v > 0) text += "\n" + fig.level_names[l] + " " + render::format_percent(v);
  }
  text += "\nall levels " + render::format_percent(total);
  data_tooltip("%s", text.c_str());
}

}  // namespace fmalens::gui
