// View 7's panel: FMA against exact softmax attention for the matrix rows on screen (at most
// 32, spread evenly), over the columns on screen. Recomputed once the matrix view holds still
// for a moment, so panning stays smooth.
#include <imgui.h>

#include <algorithm>

#include "gui/panels.h"
#include "render/compare_figure.h"

namespace fmalens::gui {
namespace {

constexpr int kMaxRows = 32;
constexpr double kSettle = 0.25;  // seconds the view must hold still

}  // namespace

void draw_compare_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot) {
    ImGui::TextDisabled("No run yet.");
    return;
  }
  const Snapshot& snap = *s.snapshot;
  if (snap.layers.empty() || snap.layers[0].q.empty()) {
    ImGui::TextDisabled("This run captured no queries and keys.");
    return;
  }
  ViewResources& res = p.res;
  // Rows and columns on screen in the matrix (token order; 2D in Z order uses the same range).
  int64_t r0 = res.visible_r0, r1 = res.visible_r1, c0 = res.visible_c0, c1 = res.visible_c1;
  if (r1 <= r0 || !s.visible[static_cast<size_t>(ViewId::matrix)]) {
    r0 = c0 = 0;
    r1 = c1 = snap.tokens;
  }
  const bool grid = snap.attention.variant == Variant::grid2d && s.matrix.z_order;
  if (grid) {  // rows on screen are Z-order positions: compare whole rows of those tokens
    c0 = 0;
    c1 = snap.tokens;
  }
  std::vector<int64_t> rows = render::spread_rows(r0, r1, kMaxRows);
  if (grid)
    for (auto& r : rows) {
      int64_t y, x;
      Layout::unmorton(r, &y, &x);
      r = y * snap.attention.grid_side + x;
    }
  const int columns = std::max(16, static_cast<int>(ImGui::GetContentRegionAvail().x * p.framebuffer_scale));
  KeyHasher wanted;
  wanted.add(reinterpret_cast<uintptr_t>(&snap)).add(s.layer).add(s.head).add(c0).add(c1).add(columns);
  for (int64_t r : rows) wanted.add(r);
  if (wanted.get() != res.compare_key) {
    if (wanted.get() != res.compare_pending_key) {
      res.compare_pending_key = wanted.get();
      res.compare_pending_at = p.now;
    }
    if (p.headless || p.now - res.compare_pending_at >= kSettle) {
      try {
        res.compare.set(render::compute_compare(snap, s.layer, s.head, rows, c0, c1, columns));
        res.compare_error.clear();
      } catch (const std::exception& e) {
        res.compare_error = e.what();
      }
      res.compare_key = wanted.get();
      res.images[static_cast<size_t>(ViewId::compare)].invalidate();
    } else {
      res.animating = true;  // come back when the view held still
    }
  }
  if (!res.compare_error.empty()) {
    ImGui::TextWrapped("%s", res.compare_error.c_str());
    return;
  }
  ImGui::TextDisabled("layer %d, %s; rows follow the matrix view", s.layer, s.head < 0 ? "average of heads" : ("head " + std::to_string(s.head)).c_str());
  const float f = p.font_px();
  ViewImage& img = res.images[static_cast<size_t>(ViewId::compare)];
  KeyHasher key;
  key.add(res.compare_key).add(s.matrix.colormap).add(s.matrix.log_scale).add(s.matrix.decades).add(f);
  if (img.begin(ImGui::GetContentRegionAvail(), p.framebuffer_scale, key.get())) {
    res.compare.draw(res.ctx, s.matrix.colormap, s.matrix.log_scale, s.matrix.decades, img.rect(), img.width(), img.height(), f,
                     &img.canvas());
    img.finish();
  }
  img.show("##compare");
  const render::CompareData& d = res.compare.data();
  if (!img.hovered() || d.rows.empty()) return;
  render::PixelRect boxes[3];
  res.compare.layout(img.rect(), f, boxes);
  const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
  for (const auto& b : boxes)
    if (b.contains(m.x, m.y)) {
      const size_t r = std::min(d.rows.size() - 1, static_cast<size_t>((m.y - b.y) / b.h * static_cast<float>(d.rows.size())));
      const size_t c = std::min(static_cast<size_t>(d.columns - 1), static_cast<size_t>((m.x - b.x) / b.w * static_cast<float>(d.columns)));
      const size_t at = r * static_cast<size_t>(d.columns) + c;
      const int64_t span = d.c1 - d.c0;
      const int64_t k0 = d.c0 + span * static_cast<int64_t>(c) / d.columns;
      data_tooltip("query %s, keys from %lld\nexact %.4g, FMA %.4g, difference %+.4g (max over the keys of this pixel)\n"
                        "row's total variation distance %.4f",
                        token_label(snap, d.rows[r]).c_str(), static_cast<long long>(k0), static_cast<double>(d.exact[at]),
                        static_cast<double>(d.fma[at]), static_cast<double>(d.diff[at]), d.total_variation[r]);
    }
}

}  // namespace fmalens::gui
