// View 2's panel: mass per level of the selected query and its row over the sequence.
// Hovering the strip names the key and its weight; clicking it selects that token as query.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "gui/panels.h"
#include "render/levels_figure.h"

namespace fmalens::gui {

void draw_levels_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot || !p.res.bands() || !p.res.layout()) {
    ImGui::TextDisabled(s.snapshot ? "This model has no FMA levels." : "No run yet.");
    return;
  }
  const Snapshot& snap = *s.snapshot;
  ImGui::Text("query %s, layer %d, %s", token_label(snap, s.query).c_str(), s.layer,
              s.head < 0 ? "average of heads" : ("head " + std::to_string(s.head)).c_str());
  render::LevelsFigure fig;
  fig.mass = p.res.mass;
  fig.names = render::level_names(*p.res.layout());
  fig.row = p.res.row;
  fig.row_levels = p.res.row_levels;
  fig.query = s.query;
  fig.level_mask = s.matrix.level_mask;
  fig.colours = colour_scale(p);
  fig.font_px = p.font_px();

  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::levels)];
  KeyHasher key;
  key.add(p.res.row_version).add(p.res.band_textures.version()).add(fig.level_mask).add(fig.colours).add(fig.font_px);
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    render::draw_levels_figure(p.res.ctx, fig, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##levels");
  if (!img.hovered() || fig.row.empty()) return;
  const render::LevelsFigureLayout lay = render::levels_figure_layout(img.rect(), fig.mass.size(), fig.font_px);
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  const bool on_strip = m.x >= lay.strip.x && m.x < lay.strip.x + lay.strip.w && m.y >= lay.strip.y &&
                        m.y < lay.level_strip.y + lay.level_strip.h;
  if (on_strip) {
    const int64_t n = static_cast<int64_t>(fig.row.size());
    const int64_t t = std::clamp<int64_t>(static_cast<int64_t>((m.x - lay.strip.x) / lay.strip.w * static_cast<float>(n)), 0, n - 1);
    const int level = fig.row_levels[static_cast<size_t>(t)];
    data_tooltip("key %s\n%s\nweight %.4g\nclick: make it the query", token_label(snap, t).c_str(),
                      level < 0 ? "not attended" : level == 0 ? "fine level" : ("level " + std::to_string(level)).c_str(),
                      static_cast<double>(fig.row[static_cast<size_t>(t)]));
    if (img.clicked()) p.emit(SelectQuery{t});
  } else if (m.y >= lay.bars.y && m.y < lay.bars.y + lay.bars.h) {
    const size_t l = static_cast<size_t>((m.y - lay.bars.y) / lay.bar_height);
    if (l < fig.mass.size()) {
      const LevelGeometry& g = p.res.layout()->level(static_cast<int>(l));
      data_tooltip("%s\nmass %.4f%%\n%lld slots per query, alpha %.0f\nclick: show or hide this level in the views",
                        fig.names[l].c_str(), 100 * fig.mass[l], static_cast<long long>(g.slots), g.alpha);
      if (img.clicked()) p.emit(ToggleLevel{static_cast<int>(l)});
    }
  }
}

}  // namespace fmalens::gui
