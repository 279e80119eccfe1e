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

using render::axis_of_token;
using render::token_of_axis;

std::string level_title(const Layout& layout, int level) {
  if (level == 0) return "fine";
  const LevelGeometry& g = layout.level(level);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "level %d (%s %lld, p %lld, alpha %.0f)", level,
                layout.config().variant == Variant::grid2d ? "cell side" : "width", static_cast<long long>(g.width),
                static_cast<long long>(g.summaries), g.alpha);
  return buf;
}

// `mass`: the hovered pixel's mass (mass view; < 0: none).
void cell_tooltip(PanelContext& p, int64_t qi, int64_t kt, float mass_here) {
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
  if (mass_here >= 0) ImGui::Text("pixel mass %.4g (its keys, per query row)", static_cast<double>(mass_here));
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
  const int strips = s.snapshot ? render::matrix_side_strips(s.matrix, s.snapshot->attention) : 0;
  const render::MatrixFigureLayout lay = render::matrix_figure_layout({0, 0, w, h}, font_px, true, strips);
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
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 5);
  if (ms.log_scale) changed |= ImGui::SliderFloat("decades", &ms.decades, 1, 10, "%.0f");
  else changed |= ImGui::SliderFloat("gamma", &ms.gamma, 0.2f, 3.0f, "%.2f", ImGuiSliderFlags_Logarithmic);
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
  level_toggles(p, p.res.band_textures.levels());
  // The display toggles follow the levels, or start a line of their own when they would not fit
  // (a 64K model has 11 levels).
  const ImGuiStyle& style = ImGui::GetStyle();
  const float toggles_w = ImGui::CalcTextSize("| mass per row k0 strip").x + 3 * (ImGui::GetFrameHeight() + 2 * style.ItemInnerSpacing.x) +
                          4 * style.ItemSpacing.x;
  ImGui::SameLine();
  if (ImGui::GetContentRegionAvail().x < toggles_w) ImGui::NewLine();
  else {
    ImGui::TextDisabled("|");
    ImGui::SameLine();
  }
  changed |= ImGui::Checkbox("mass", &ms.mass);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Each pixel: the attention mass on its keys (summed), per query row it covers.\n"
                      "A row of pixels sums to its rows' mass at any zoom. Off: the largest weight sampled in the pixel.");
  ImGui::SameLine();
  changed |= ImGui::Checkbox("per row", &ms.row_normalise);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Colour each query row against its own largest value");
  ImGui::SameLine();
  changed |= ImGui::Checkbox("k0 strip", &ms.sink_strip);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Pin the first key's weight (an attention sink) and the phantom zero keys' mass to strips of their\n"
                      "own, each on its own scale; the matrix's colours then leave the first key out.");
  if (changed) p.emit(SetMatrixSettings{ms});

  // The picture.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const int W = static_cast<int>(std::lround(avail.x * p.framebuffer_scale)), H = static_cast<int>(std::lround(avail.y * p.framebuffer_scale));
  const float f = p.font_px();
  render::MatrixFigure fig;
  fig.view = current_matrix_view(s, snap.tokens, W, H, f);
  fig.text = snap.config.kind == ModelKind::text ? &snap : nullptr;
  fig.grid_side = snap.attention.grid_side;
  fig.font_px = f;
  fig.band_data = p.res.bands();
  const int strips = fig.side_strips(snap.attention);
  const render::MatrixView& v = fig.view;
  KeyHasher key;
  key.add(v.t0).add(v.i0).add(v.cells_per_pixel).add(v.level_mask).add(v.colormap).add(v.log_scale).add(v.decades);
  key.add(v.mass).add(v.row_normalise).add(v.gamma).add(v.sink_strip);
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
    const render::MatrixFigureLayout shown = render::matrix_figure_layout(img.rect(), f, true, strips);
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
  const render::MatrixFigureLayout lay = render::matrix_figure_layout(img.rect(), f, true, strips);
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
  if (in_matrix && !img.active()) {
    const render::MassTiles& tiles = p.res.matrix.mass_tiles();
    const int tx = static_cast<int>(mx), ty = static_cast<int>(my);
    const float mass_here = tx < tiles.w && ty < tiles.h ? tiles.mass[static_cast<size_t>(ty) * tiles.w + tx] : -1.0f;
    cell_tooltip(p, token_of_axis(snap.attention, v.z_order, ii), token_of_axis(snap.attention, v.z_order, ti), mass_here);
  }
  // The strips: the first key's weight and the phantom mass of the rows under the mouse.
  const render::RowSummary* summary = p.res.matrix.row_summary();
  for (int k = 0; k < strips && summary && img.hovered() && !img.active(); ++k) {
    const render::PixelRect& r = lay.strips[k];
    if (!r.contains(mouse.x, mouse.y)) continue;
    const std::vector<float>& per_row = k == 0 ? summary->first_key : summary->phantom;
    const std::vector<float> rows = render::pixel_rows_mean(per_row, v, r.h);
    const int y = std::clamp(static_cast<int>(mouse.y) - r.y, 0, r.h - 1);
    const double row_lo = std::max(0.0, v.i0 + y * v.cells_per_pixel), row_hi = std::min<double>(snap.tokens, v.i0 + (y + 1) * v.cells_per_pixel);
    if (row_hi > row_lo)
      ImGui::SetTooltip("%s\nrows %lld..%lld: %.4g (mean)", k == 0 ? "weight on the first key (k0)" : "mass on the phantom zero keys",
                        static_cast<long long>(row_lo), static_cast<long long>(std::ceil(row_hi) - 1), static_cast<double>(rows[static_cast<size_t>(y)]));
  }
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
