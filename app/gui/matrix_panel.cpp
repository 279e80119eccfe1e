// View 1's panel: the hierarchical attention matrix with its toolbar, zoom (wheel), pan (drag),
// query selection (click), fit (double click or the button) and a tooltip for the cell under
// the mouse.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gui/panels.h"
#include "render/band_data.h"
#include "render/figure_common.h"
#include "render/matrix_figure.h"

namespace fmalens::gui {
namespace {

// Axis position of a token: 2D models in Z order put each cell's tokens side by side.
int64_t axis_of_token(const AttentionConfig& a, bool z_order, int64_t token) {
  if (a.variant != Variant::grid2d || !z_order) return token;
  return Layout::morton(token / a.grid_side, token % a.grid_side);
}

int64_t token_of_axis(const AttentionConfig& a, bool z_order, int64_t axis) {
  if (a.variant != Variant::grid2d || !z_order) return axis;
  int64_t y, x;
  Layout::unmorton(axis, &y, &x);
  return y * a.grid_side + x;
}

std::string level_title(const Layout& layout, int level) {
  if (level == 0) return "fine";
  const LevelGeometry& g = layout.level(level);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "level %d (%s %lld, p %lld, alpha %.0f)", level,
                layout.config().variant == Variant::grid2d ? "cell side" : "width", static_cast<long long>(g.width),
                static_cast<long long>(g.summaries), g.alpha);
  return buf;
}

void cell_tooltip(PanelContext& p, int64_t qi, int64_t kt) {
  const Snapshot& snap = *p.state.snapshot;
  const Layout& layout = *p.res.layout();
  const render::BandData& bands = *p.res.bands();
  int level = -1;
  const float v = render::implied_value(bands, layout, qi, kt, &level);
  ImGui::BeginTooltip();
  ImGui::Text("query %s", token_label(snap, qi).c_str());
  if (level < 0) {
    ImGui::Text("key   %s", token_label(snap, kt).c_str());
    ImGui::TextDisabled(snap.attention.variant == Variant::causal ? "not attended (the future)" : "not attended");
  } else if (level == 0) {
    ImGui::Text("key   %s", token_label(snap, kt).c_str());
    ImGui::Text("level fine: the key itself");
    ImGui::Text("weight %.4g", static_cast<double>(v));
  } else {
    const LevelGeometry& g = layout.level(level);
    const int64_t w = g.width;
    if (snap.attention.variant == Variant::grid2d) {
      const int64_t G = snap.attention.grid_side, by = (kt / G) / w, bx = (kt % G) / w;
      ImGui::Text("block patches %lld..%lld x %lld..%lld (rows x columns)", static_cast<long long>(by * w),
                  static_cast<long long>(by * w + w - 1), static_cast<long long>(bx * w), static_cast<long long>(bx * w + w - 1));
    } else {
      const int64_t b = kt / w;
      ImGui::Text("block keys %lld..%lld (key %s)", static_cast<long long>(b * w), static_cast<long long>(b * w + w - 1),
                  token_label(snap, kt).c_str());
    }
    ImGui::Text("%s", level_title(layout, level).c_str());
    ImGui::Text("weight %.4g per key: block mass %.4g over %lld keys", static_cast<double>(v),
                static_cast<double>(v) * static_cast<double>(g.block_tokens), static_cast<long long>(g.block_tokens));
  }
  ImGui::Separator();
  ImGui::TextDisabled("row mass per level");
  const std::vector<double> mass = render::row_level_mass(snap, p.state.layer, p.state.head, qi);
  for (size_t l = 0; l < mass.size(); ++l) {
    const render::Rgb c = render::level_tint(static_cast<int>(l));
    ImGui::TextColored(ImVec4(c.r, c.g, c.b, 1), "%-8s %6.2f%%", l == 0 ? "fine" : ("L" + std::to_string(l)).c_str(), 100 * mass[l]);
  }
  ImGui::TextDisabled("Ctrl+C: copy");
  ImGui::EndTooltip();
  // The same numbers as text for the clipboard.
  const auto number = [](double x) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", x);
    return std::string(buf);
  };
  std::string text = "query " + token_label(snap, qi) + "\nkey " + token_label(snap, kt) + "\nlevel " +
                     (level < 0 ? std::string("none (not attended)") : level == 0 ? std::string("fine") : std::to_string(level)) +
                     "\nweight " + number(v) + "\n";
  for (size_t l = 0; l < mass.size(); ++l)
    text += (l == 0 ? std::string("fine") : "L" + std::to_string(l)) + " mass " + number(100 * mass[l]) + " %\n";
  copy_on_ctrl_c(text);
}

}  // namespace

render::MatrixView current_matrix_view(const AppState& s, int64_t tokens, int w, int h, float font_px) {
  const render::MatrixFigureLayout lay = render::matrix_figure_layout({0, 0, w, h}, font_px);
  render::MatrixView v;
  if (s.nav.fit) {
    v = render::MatrixView::fit(tokens, lay.matrix.w, lay.matrix.h);
  } else {
    v.t0 = s.nav.t0;
    v.i0 = s.nav.i0;
    v.cells_per_pixel = s.nav.cells_per_pixel;
    v = v.clamped(tokens, lay.matrix.w, lay.matrix.h);
  }
  static_cast<render::MatrixStyle&>(v) = s.matrix;
  if (s.snapshot && s.query >= 0) v.selected_row = axis_of_token(s.snapshot->attention, v.z_order, s.query);
  return v;
}

void draw_matrix_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot) {
    ImGui::TextDisabled("No run yet.");
    return;
  }
  if (!p.res.bands()) {
    ImGui::TextWrapped("%s", p.res.bands_error().c_str());
    return;
  }
  const Snapshot& snap = *s.snapshot;
  const bool grid = snap.attention.variant == Variant::grid2d;

  // Toolbar: colours, scale, outlines, tint, axis order, fit.
  MatrixSettings ms = s.matrix;
  bool changed = false;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
  if (ImGui::BeginCombo("##colormap", render::colormap_name(ms.colormap))) {
    for (int m = 0; m < 4; ++m) {
      const auto map = static_cast<render::Colormap>(m);
      if (ImGui::Selectable(render::colormap_name(map), ms.colormap == map)) {
        ms.colormap = map;
        changed = true;
      }
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  changed |= ImGui::Checkbox("log", &ms.log_scale);
  if (ms.log_scale) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 5);
    changed |= ImGui::SliderFloat("decades", &ms.decades, 1, 10, "%.0f");
  }
  ImGui::SameLine();
  changed |= ImGui::Checkbox("outlines", &ms.outlines);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 5);
  changed |= ImGui::SliderFloat("tint", &ms.tint_strength, 0, 1, "%.2f");
  if (grid) {
    ImGui::SameLine();
    changed |= ImGui::Checkbox("Z order", &ms.z_order);
    ImGui::SameLine();
    help_marker("Order the patches along the Z (Morton) curve: every cell of every level is then a contiguous block of the "
                "matrix. Off: row-major patch order.");
  }
  ImGui::SameLine();
  if (ImGui::Button("Fit")) p.emit(FitMatrix{});
  if (changed) p.emit(SetMatrixSettings{ms});
  level_toggles(p, p.res.band_textures.levels());

  // The picture.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const int W = static_cast<int>(std::lround(avail.x * p.framebuffer_scale)), H = static_cast<int>(std::lround(avail.y * p.framebuffer_scale));
  const float f = p.font_px();
  render::MatrixFigure fig;
  fig.view = current_matrix_view(s, snap.tokens, W, H, f);
  fig.text = snap.config.kind == ModelKind::text ? &snap : nullptr;
  fig.grid_side = snap.attention.grid_side;
  fig.font_px = f;
  const render::MatrixView& v = fig.view;
  KeyHasher key;
  key.add(v.t0).add(v.i0).add(v.cells_per_pixel).add(v.level_mask).add(v.colormap).add(v.log_scale).add(v.decades);
  key.add(v.tint_strength).add(v.outlines).add(v.z_order).add(v.selected_row).add(p.res.band_textures.version()).add(f);
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::matrix)];
  bool& complete = p.res.matrix_complete;
  if (img.begin(avail, p.framebuffer_scale, key.get(), !complete)) {
    // Wheel zooms in quick succession show the last picture scaled, and so does the frame new
    // bands arrive in (it uploads them); the matrix resamples in the frames after.
    const bool preview = !p.headless && (p.now - p.res.zoomed_at < 0.2 || p.res.bands_fresh);
    complete = render::draw_matrix_figure(p.res.ctx, p.res.matrix, p.res.band_textures, fig, img.rect(), img.width(), img.height(),
                                          p.headless ? 0 : (img.active() ? 1 : 2), &img.canvas(), preview);
    img.finish();
  }
  if (!complete) p.res.animating = true;
  img.show("##matrix");
  {
    // What is on screen, for the compare view, the keyboard zoom and the benchmark.
    const render::MatrixFigureLayout shown = render::matrix_figure_layout(img.rect(), f);
    p.res.last_matrix_view = v;
    p.res.last_matrix_w = shown.matrix.w;
    p.res.last_matrix_h = shown.matrix.h;
    p.res.last_fit_cells_per_pixel = render::MatrixView::fit(snap.tokens, shown.matrix.w, shown.matrix.h).cells_per_pixel;
    p.res.visible_c0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(v.t0)));
    p.res.visible_r0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(v.i0)));
    p.res.visible_c1 = std::min<int64_t>(snap.tokens, static_cast<int64_t>(std::ceil(v.t0 + shown.matrix.w * v.cells_per_pixel)));
    p.res.visible_r1 = std::min<int64_t>(snap.tokens, static_cast<int64_t>(std::ceil(v.i0 + shown.matrix.h * v.cells_per_pixel)));
  }

  // Interaction, in the matrix's own pixels.
  const render::MatrixFigureLayout lay = render::matrix_figure_layout(img.rect(), f);
  const render::Point mouse = img.to_pixels(ImGui::GetIO().MousePos);
  const float mx = mouse.x - static_cast<float>(lay.matrix.x), my = mouse.y - static_cast<float>(lay.matrix.y);
  const bool over_matrix = img.hovered() && mx >= 0 && my >= 0 && mx < lay.matrix.w && my < lay.matrix.h;
  const ImGuiIO& io = ImGui::GetIO();
  if (over_matrix && io.MouseWheel != 0) {
    const render::MatrixView z = v.zoomed(std::pow(1.25, io.MouseWheel), mx, my).clamped(snap.tokens, lay.matrix.w, lay.matrix.h);
    p.emit(SetMatrixView{z.t0, z.i0, z.cells_per_pixel});
    p.res.zoomed_at = p.now;
  }
  if (img.active() && ImGui::IsMouseDragging(ImGuiMouseButton_Left) && (io.MouseDelta.x != 0 || io.MouseDelta.y != 0)) {
    const render::MatrixView d =
        v.panned(io.MouseDelta.x * img.scale(), io.MouseDelta.y * img.scale()).clamped(snap.tokens, lay.matrix.w, lay.matrix.h);
    p.emit(SetMatrixView{d.t0, d.i0, d.cells_per_pixel});
  }
  if (over_matrix && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) p.emit(FitMatrix{});
  double t, i;
  v.cell_at(mx, my, &t, &i);
  const int64_t ti = static_cast<int64_t>(std::floor(t)), ii = static_cast<int64_t>(std::floor(i));
  const bool in_matrix = over_matrix && ti >= 0 && ii >= 0 && ti < snap.tokens && ii < snap.tokens;
  if (in_matrix && img.clicked()) p.emit(SelectQuery{token_of_axis(snap.attention, v.z_order, ii)});
  if (in_matrix && !img.active()) cell_tooltip(p, token_of_axis(snap.attention, v.z_order, ii), token_of_axis(snap.attention, v.z_order, ti));
}

void level_toggles(PanelContext& p, int levels) {
  for (int l = 0; l < levels; ++l) {
    if (l > 0) ImGui::SameLine();
    const render::Rgb c = render::level_tint(l);
    bool on = (p.state.matrix.level_mask >> l) & 1u;
    ImGui::PushStyleColor(ImGuiCol_CheckMark, ImVec4(c.r, c.g, c.b, 1));
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(c.r, c.g, c.b, 1));
    if (ImGui::Checkbox(l == 0 ? "fine" : ("L" + std::to_string(l)).c_str(), &on)) p.emit(ToggleLevel{l});
    ImGui::PopStyleColor(2);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip(l == 0 ? "Show or hide the fine level" : "Show or hide coarse level %d", l);
  }
}

}  // namespace fmalens::gui
