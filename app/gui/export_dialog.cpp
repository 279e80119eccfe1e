#include "gui/export_dialog.h"

#include "gui/exports_folder.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <filesystem>

#include "gui/views.h"

namespace fmalens::gui {

render::FigureSettings figure_settings(const AppState& s, ViewId view) {
  render::FigureSettings f;
  static_cast<render::MatrixStyle&>(f) = s.matrix;
  f.layer = s.layer;
  f.head = s.head;
  f.query = s.query;
  f.level = view_row(view).figure.all_heads ? s.weights_level : -1;  // the weights view: its level
  f.overlay_opacity = s.matrix.overlay_opacity;
  f.fit = s.nav.fit;
  f.t0 = s.nav.t0;
  f.i0 = s.nav.i0;
  f.cells_per_pixel = s.nav.cells_per_pixel;
  f.heads_x = s.heads_x;
  f.heads_y = s.heads_y;
  f.all_heads_profiles = s.distance_all_heads;
  return f;
}

render::Workspace workspace_of(const AppState& s) {
  render::Workspace w;
  w.checkpoint = s.loaded_checkpoint.empty() ? s.checkpoint : s.loaded_checkpoint;
  w.tokenizer = s.loaded_tokenizer;
  w.device = s.device;
  w.partner = s.partner_checkpoint;
  const bool image = s.is_image_model();
  if (image) w.image = s.image_path;
  else if (!s.text_path.empty()) w.text_file = s.text_path;
  else w.text = s.text;
  w.settings = figure_settings(s, ViewId::matrix);
  w.settings.level = -1;
  w.weights_level = s.weights_level;
  if (s.focus) w.focus = view_name(*s.focus);
  for (int v = 0; v < kViewCount; ++v)
    if (!s.visible[static_cast<size_t>(v)]) w.hidden.push_back(view_name(static_cast<ViewId>(v)));
  return w;
}

void ExportDialog::open(ViewId view) {
  open_ = just_opened_ = true;
  view_ = static_cast<int>(view);
}

std::optional<render::ExportRequest> ExportDialog::draw(const AppState& s) {
  if (!open_) return std::nullopt;
  static const char* kFormats[3] = {"png", "svg", "pdf"};
  if (just_opened_) {
    ImGui::OpenPopup("Export figure");
    just_opened_ = false;
    if (path_.empty()) {
      const std::string dir = s.exports_dir.empty() ? default_exports_dir() : s.exports_dir;
      path_ = (std::filesystem::path(dir) / (std::string("fmalens-") + view_name(static_cast<ViewId>(view_)) + "." + kFormats[format_])).string();
    }
  }
  std::optional<render::ExportRequest> result;
  ImGui::SetNextWindowSize(ImVec2(ImGui::GetFontSize() * 30, 0), ImGuiCond_Appearing);
  if (ImGui::BeginPopupModal("Export figure", &open_, ImGuiWindowFlags_NoSavedSettings)) {
    if (close_requested_) {
      close_requested_ = open_ = false;
      ImGui::CloseCurrentPopup();
    }
    const float field = ImGui::GetFontSize() * 12;
    ImGui::SetNextItemWidth(field);
    if (ImGui::BeginCombo("view", view_title(static_cast<ViewId>(view_)))) {
      for (int v = 0; v < kViewCount; ++v)
        if (ImGui::Selectable(view_title(static_cast<ViewId>(v)), v == view_)) view_ = v;
      ImGui::EndCombo();
    }
    const int old_format = format_;
    for (int k = 0; k < 3; ++k) {
      if (k) ImGui::SameLine();
      ImGui::RadioButton(kFormats[k], &format_, k);
    }
    if (format_ != old_format) {  // follow the format in the file name
      std::filesystem::path p(path_);
      if (p.extension() == ".png" || p.extension() == ".svg" || p.extension() == ".pdf") path_ = p.replace_extension(kFormats[format_]).string();
    }
    const bool vector = format_ != 0;
    ImGui::SetNextItemWidth(field);
    ImGui::InputFloat(vector ? "width (points, 0: default)" : "width (pixels, 0: default)", &width_, 0, 0, "%.0f");
    ImGui::SetNextItemWidth(field);
    ImGui::InputFloat(vector ? "height (points, 0: default)" : "height (pixels, 0: default)", &height_, 0, 0, "%.0f");
    if (vector) {
      ImGui::SetNextItemWidth(field);
      ImGui::InputFloat("dpi of the embedded maps", &dpi_, 0, 0, "%.0f");
    }
    ImGui::Checkbox("title", &title_);
    ImGui::SameLine();
    ImGui::Checkbox("colorbar", &colorbar_);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 24);
    ImGui::InputText("file", &path_);
    ImGui::TextDisabled("layer %d, %s, query %lld, colours of the matrix panel", s.layer,
                        s.head < 0 ? "mean of heads" : ("head " + std::to_string(s.head)).c_str(), static_cast<long long>(s.query));
    if (ImGui::Button("Export", ImVec2(ImGui::GetFontSize() * 6, 0)) && !path_.empty()) {
      render::ExportRequest req;
      const ViewId view = static_cast<ViewId>(view_);
      req.views = {&view_row(view).figure};
      req.format = static_cast<render::FigureFormat>(format_);
      req.out = path_;
      req.size.width = width_;
      req.size.height = height_;
      req.size.dpi = dpi_;
      req.settings = figure_settings(s, view);
      req.settings.colorbar = colorbar_;
      req.settings.show_title = title_;
      result = req;
      open_ = false;
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel", ImVec2(ImGui::GetFontSize() * 6, 0))) {
      open_ = false;
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
  return result;
}

}  // namespace fmalens::gui
