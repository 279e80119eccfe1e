// View 10's panel, the error map: FMA against exact softmax with the same q and k for every
// query of the run (computed on a worker thread; a progress bar until it is in), with the
// worst queries listed: a click makes one the query.
#include <imgui.h>

#include "fmalens/layout.h"
#include "gui/panels.h"
#include "render/error_figure.h"

namespace fmalens::gui {

void draw_error_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot || !render::has_bands_and_queries(*s.snapshot)) {
    ImGui::TextDisabled(s.snapshot ? "The error map needs an FMA run with its queries and keys." : "No run yet.");
    return;
  }
  const FmaErrorProfile* profile = p.res.error_profile(s.snapshot, s.layer, s.head);
  if (!p.res.error_message.empty()) {
    ImGui::TextWrapped("%s", p.res.error_message.c_str());
    return;
  }
  if (!profile) {
    ImGui::TextDisabled("comparing every query of layer %d, %s with exact softmax...", s.layer,
                        s.head < 0 ? "the mean of the heads" : ("head " + std::to_string(s.head)).c_str());
    ImGui::ProgressBar(static_cast<float>(p.res.error_progress()), ImVec2(ImGui::GetFontSize() * 16, 0));
    return;
  }
  ImGui::TextDisabled("layer %d, %s; %lld queries in %.0f ms. Worst:", s.layer, s.head < 0 ? "mean of heads" : ("head " + std::to_string(s.head)).c_str(),
                      static_cast<long long>(profile->tv.size()), p.res.error_ms);
  for (size_t k = 0; k < profile->worst.size() && k < 6; ++k) {
    const int64_t q = profile->worst[k];
    ImGui::SameLine();
    const std::string label = token_label(*s.snapshot, q) + "##worst" + std::to_string(k);
    if (ImGui::SmallButton(label.c_str())) p.emit(SelectQuery{q});
    if (ImGui::IsItemHovered()) data_tooltip("query %lld\ntotal variation %.4f\nKL %.4f bits\nclick: make it the query", static_cast<long long>(q),
                                            static_cast<double>(profile->tv[static_cast<size_t>(q)]), static_cast<double>(profile->kl[static_cast<size_t>(q)]));
  }
  render::ErrorFigure fig;
  fig.profile = profile;
  const Layout layout(s.snapshot->attention);
  for (int l = 0; l < layout.num_levels(); ++l) fig.level_names.push_back(l == 0 ? "fine" : "L" + std::to_string(l));
  fig.two_d = s.snapshot->attention.variant == Variant::grid2d;
  fig.colormap = s.matrix.colormap;
  fig.font_px = p.font_px();
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::error)];
  KeyHasher key;
  key.add(reinterpret_cast<uintptr_t>(profile)).add(fig.colormap).add(fig.font_px);
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    render::draw_error_figure(p.res.ctx, fig, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##error");
  if (!img.hovered()) return;
  const render::ErrorFigureLayout lay = render::error_figure_layout(img.rect(), fig.font_px);
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  const int64_t n = static_cast<int64_t>(profile->tv.size());
  if (m.x >= lay.strip.x && m.x < lay.strip.x + lay.strip.w && m.y >= lay.strip.y && m.y < lay.strip.y + lay.strip.h && n > 0) {
    const int64_t q = std::clamp<int64_t>(static_cast<int64_t>((m.x - lay.strip.x) / lay.strip.w * static_cast<float>(n)), 0, n - 1);
    data_tooltip("query %s\ntotal variation %.4f\nKL %.4f bits\nclick: make it the query", token_label(*s.snapshot, q).c_str(),
                 static_cast<double>(profile->tv[static_cast<size_t>(q)]), static_cast<double>(profile->kl[static_cast<size_t>(q)]));
    if (img.clicked()) p.emit(SelectQuery{q});
  }
}

}  // namespace fmalens::gui
