// Widgets and helpers shared by the panels, and the dispatch from a view to its panel.
#include <imgui.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "gui/panels.h"
#include "gui/views.h"
#include "render/figure_common.h"
#include "render/matrix_renderer.h"

namespace fmalens::gui {

ImFont* mono_font() {
  const ImFontAtlas* atlas = ImGui::GetIO().Fonts;
  return atlas->Fonts.Size > 1 ? atlas->Fonts[1] : ImGui::GetFont();
}

float PanelContext::font_px() const { return ImGui::GetFontSize() * framebuffer_scale; }

render::ColourScale colour_scale(const PanelContext& p) {
  render::ColourScale c;
  c.colormap = p.state.matrix.colormap;
  c.log_scale = p.state.matrix.log_scale;
  if (p.res.band_textures.valid()) {
    render::MatrixView view;
    view.decades = p.state.matrix.decades;
    render::matrix_color_range(view, p.res.band_textures, &c.lo, &c.hi);
  } else if (!p.res.row.empty()) {  // rows from queries and keys (dense, elu_linear)
    render::row_colour_range(p.res.row, p.state.matrix.decades, c.log_scale, &c.lo, &c.hi);
  }
  return c;
}

void copy_on_ctrl_c(const std::string& text) {
  const ImGuiIO& io = ImGui::GetIO();
  // GLFW's key codes for letters are their upper-case ASCII codes (the backend's key indices).
  if (io.KeyCtrl && !io.WantTextInput && ImGui::IsKeyPressed('C', false)) ImGui::SetClipboardText(text.c_str());
}

void data_tooltip(const char* format, ...) {
  char buf[4096];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  ImGui::BeginTooltip();
  ImGui::TextUnformatted(buf);
  ImGui::TextDisabled("Ctrl+C: copy");
  ImGui::EndTooltip();
  std::string copied;
  for (const char* line = buf; *line;) {
    const char* end = std::strchr(line, '\n');
    const size_t len = end ? static_cast<size_t>(end - line) : std::strlen(line);
    if (std::strncmp(line, "click:", 6) != 0) copied.append(line, len).append("\n");
    line += len + (end ? 1 : 0);
  }
  copy_on_ctrl_c(copied);
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
