// View 11's panel, two models side by side: the selected query's rows of the first model and
// of a second one (File > Open second model...) run on the same input, level by level.
#include <imgui.h>

#include <filesystem>

#include "fmalens/quote.h"
#include "gui/panels.h"
#include "render/pair_figure.h"

namespace fmalens::gui {

void draw_pair_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot) {
    ImGui::TextDisabled("No run yet.");
    return;
  }
  if (s.partner_checkpoint.empty()) {
    ImGui::TextWrapped("Open a second model (File > Open second model...) to run the same input through both and compare the "
                       "selected query's rows level by level: an FMA model beside its avgpool, local, dense or linear twin.");
    return;
  }
  const std::string name_b = std::filesystem::path(s.partner_checkpoint).stem().string();
  if (!s.partner_snapshot) {
    ImGui::TextDisabled(s.partner_running ? "Running %s..." : "%s has not run.", name_b.c_str());
    return;
  }
  const std::string name_a = std::filesystem::path(s.loaded_checkpoint.empty() ? s.checkpoint : s.loaded_checkpoint).stem().string();
  const int64_t query = s.query >= 0 ? s.query : s.snapshot->tokens - 1;
  render::PairFigure fig;
  try {
    fig = render::make_pair_figure(*s.snapshot, name_a, *s.partner_snapshot, name_b, s.layer, s.head, query, s.matrix.colormap,
                                   s.matrix.log_scale, s.matrix.decades, p.font_px());
  } catch (const std::exception& e) {
    ImGui::TextWrapped("%s", error_line(e).c_str());
    return;
  }
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::pair)];
  KeyHasher key;
  key.add(reinterpret_cast<uintptr_t>(s.snapshot.get())).add(reinterpret_cast<uintptr_t>(s.partner_snapshot.get()));
  key.add(s.layer).add(s.head).add(query).add(fig.colours).add(fig.font_px);
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    render::draw_pair_figure(p.res.ctx, fig, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##pair");
  if (!img.hovered()) return;
  // The two weights of the key under the mouse.
  const render::PairFigureLayout lay = render::pair_figure_layout(fig, img.rect());
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  for (const render::PixelRect& r : lay.rows) {
    if (!r.contains(m.x, m.y) || fig.a.row.empty()) continue;
    const int64_t n = static_cast<int64_t>(fig.a.row.size());
    const int64_t t = std::clamp<int64_t>(static_cast<int64_t>((m.x - r.x) / r.w * static_cast<float>(n)), 0, n - 1);
    const size_t k = static_cast<size_t>(t);
    data_tooltip("key %s\nA %s  %.4g\nB %s  %.4g", token_label(*s.snapshot, t).c_str(), fig.a.name.c_str(),
                 static_cast<double>(fig.a.row[k]), fig.b.name.c_str(), static_cast<double>(fig.b.row[k]));
    if (img.clicked()) p.emit(SelectQuery{t});
  }
}

}  // namespace fmalens::gui
