// Widgets and helpers shared by the panels, and the dispatch from a view to its panel.
#include <imgui.h>

#include <cstdio>

#include "gui/panels.h"
#include "gui/views.h"
#include "render/figure_common.h"
#include "render/matrix_renderer.h"

namespace fmalens::gui {

float PanelContext::font_px() const { return ImGui::GetFontSize() * framebuffer_scale; }

render::ColourScale colour_scale(const PanelContext& p) {
  render::ColourScale c;
  c.colormap = p.state.matrix.colormap;
  c.log_scale = p.state.matrix.log_scale;
  if (p.res.band_textures.valid()) {
    render::MatrixView view;
    view.decades = p.state.matrix.decades;
    render::matrix_color_range(view, p.res.band_textures, &c.lo, &c.hi);
  }
  return c;
}

void help_marker(const char* text) {
  ImGui::TextDisabled("(?)");
  if (ImGui::IsItemHovered()) {
    ImGui::BeginTooltip();
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
    ImGui::TextUnformatted(text);
    ImGui::PopTextWrapPos();
    ImGui::EndTooltip();
  }
}

std::string token_label(const Snapshot& s, int64_t t) {
  if (s.config.kind == ModelKind::image) {
    const int64_t g = s.config.grid_side();
    return "patch " + std::to_string(t / std::max<int64_t>(g, 1)) + "," + std::to_string(t % std::max<int64_t>(g, 1)) + " (" +
           std::to_string(t) + ")";
  }
  if (t >= 0 && t < s.tokens && !s.token_spans.empty()) {
    const auto [begin, end] = s.bytes_of_token(t);
    return "'" + render::text_token_label(s, t) + "' (token " + std::to_string(t) + ", id " + std::to_string(s.token_ids[static_cast<size_t>(t)]) +
           ", bytes " + std::to_string(begin) + ".." + std::to_string(end - 1) + ")";
  }
  if (t >= 0 && t < static_cast<int64_t>(s.text.size()))
    return "'" + render::byte_label(static_cast<unsigned char>(s.text[static_cast<size_t>(t)])) + "' (byte " + std::to_string(t) + ")";
  return "token " + std::to_string(t);
}

void draw_view_panel(ViewId view, PanelContext& p) { view_row(view).panel(p); }

}  // namespace fmalens::gui
