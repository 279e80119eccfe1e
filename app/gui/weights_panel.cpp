// View 3's panel: the learned downsampling of the selected layer at one level, keys and values
// side by side, with the value under the mouse.
#include <imgui.h>

#include <algorithm>

#include "gui/panels.h"
#include "render/weights_figure.h"

namespace fmalens::gui {

void draw_weights_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot || static_cast<size_t>(s.layer) >= s.snapshot->downsampling.size() ||
      s.snapshot->downsampling[static_cast<size_t>(s.layer)].empty()) {
    ImGui::TextDisabled(s.snapshot ? "This model has no learned downsampling (dense attention, or too few levels)." : "No run yet.");
    return;
  }
  const auto& levels = s.snapshot->downsampling[static_cast<size_t>(s.layer)];
  int level = s.weights_level;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
  if (ImGui::SliderInt("coarse level", &level, 1, static_cast<int>(levels.size()))) p.emit(SetWeightsLevel{level});
  ImGui::SameLine();
  ImGui::TextDisabled("layer %d (shared by all heads)", s.layer);
  ImGui::SameLine();
  help_marker("Each summary of a block is a learned weighting of the block's keys (values), per channel: "
              "depthwise convolution with kernel = stride = block size. Plain averaging would weigh each "
              "of a summary's w/p tokens by p/w.");
  render::WeightsFigure& fig = p.res.weights;
  if (fig.empty()) return;
  const float f = p.font_px();
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::weights)];
  KeyHasher key;
  key.add(s.layer).add(fig.level()).add(fig.max_abs()).add(f).add(reinterpret_cast<uintptr_t>(s.snapshot.get()));
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    fig.draw(p.res.ctx, img.rect(), img.width(), img.height(), f, &img.canvas());
    img.finish();
  }
  img.show("##weights");
  if (!img.hovered()) return;
  const render::WeightsFigureLayout lay = fig.layout(img.rect(), f);
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  for (int side = 0; side < 2; ++side) {
    const Array& w = side == 0 ? fig.keys() : fig.values();
    const int64_t P = w.dim(0), D = w.dim(1), N = w.dim(2);
    const render::PixelRect& hm = lay.heatmap[side];
    if (hm.contains(m.x, m.y)) {
      const int64_t u = std::clamp<int64_t>(static_cast<int64_t>((m.x - hm.x) / hm.w * N), 0, N - 1);
      const int64_t r = std::clamp<int64_t>(static_cast<int64_t>((m.y - hm.y) / hm.h * (P * D)), 0, P * D - 1);
      data_tooltip("%s, summary %lld, channel %lld, position %lld\nweight %.5g (plain averaging: %.5g)", side == 0 ? "keys" : "values",
                        static_cast<long long>(r / D), static_cast<long long>(r % D), static_cast<long long>(u),
                        static_cast<double>(w.at(r / D, r % D, u)), u / std::max<int64_t>(1, N / P) == r / D ? static_cast<double>(P) / N : 0.0);
    }
    const render::PixelRect& cr = lay.curves[side];
    if (cr.contains(m.x, m.y)) {
      const int64_t u = std::clamp<int64_t>(static_cast<int64_t>((m.x - cr.x) / cr.w * N), 0, N - 1);
      const auto curves = render::basis_curves(w);
      std::string text = std::string(side == 0 ? "keys" : "values") + ", position " + std::to_string(u);
      for (size_t sm = 0; sm < curves.size(); ++sm) {
        char line[128];
        std::snprintf(line, sizeof(line), "\nsummary %zu: mean %.5g, std %.5g, plain %.5g", sm,
                      static_cast<double>(curves[sm].mean[static_cast<size_t>(u)]), static_cast<double>(curves[sm].stddev[static_cast<size_t>(u)]),
                      static_cast<double>(curves[sm].plain[static_cast<size_t>(u)]));
        text += line;
      }
      data_tooltip("%s", text.c_str());
    }
  }
}

}  // namespace fmalens::gui
