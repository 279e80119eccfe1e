// The sidebar: which model and device, the input (text box re-run as you type, or an image),
// layer / head / query, the views shown, and the run's progress with a cancel button.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <filesystem>

#include "gui/panels.h"
#include "gui/views.h"

namespace fmalens::gui {
namespace {

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

void section(const char* title) {
  ImGui::Spacing();
  ImGui::TextDisabled("%s", title);
  ImGui::Separator();
}

}  // namespace

std::optional<FileKind> draw_controls_panel(PanelContext& p) {
  const AppState& s = p.state;
  std::optional<FileKind> open;

  section("MODEL");
  ImGui::TextUnformatted(s.checkpoint.empty() ? "(none)" : file_name(s.checkpoint).c_str());
  if (ImGui::IsItemHovered() && !s.checkpoint.empty()) ImGui::SetTooltip("%s", s.checkpoint.c_str());
  if (ImGui::Button("Open checkpoint...")) open = FileKind::checkpoint;
  ImGui::SameLine();
  if (ImGui::Button("Reload")) p.emit(RunNow{});
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Run again; a checkpoint rewritten on disk (training) is reloaded (Ctrl+R)");
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.5f);
  if (ImGui::BeginCombo("device", s.device_label(s.device).c_str())) {
    for (const auto& d : s.devices)
      if (ImGui::Selectable(s.device_label(d).c_str(), d == s.device)) p.emit(SetDevice{d});
    ImGui::EndCombo();
  }
  if (s.running) {
    const double progress = p.res.engine_progress;
    ImGui::ProgressBar(static_cast<float>(progress), ImVec2(ImGui::GetContentRegionAvail().x * 0.7f, 0));
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) p.emit(CancelRun{});
  }

  section("INPUT");
  if (!s.is_image_model()) {
    std::string& buffer = *p.text_buffer;
    const float lines = 9;
    if (ImGui::InputTextMultiline("##text", &buffer, ImVec2(-1, ImGui::GetTextLineHeight() * lines))) p.emit(EditText{buffer, p.now});
    // Resync from the state only while the box is not being edited (ImGui owns it then).
    if (!ImGui::IsItemActive() && *p.text_buffer_version != s.text_version) {
      buffer = s.text;
      *p.text_buffer_version = s.text_version;
    }
    if (ImGui::Button("Open text file...")) open = FileKind::text;
    ImGui::SameLine();
    ImGui::TextDisabled("%zu bytes", s.text.size());
    if (s.snapshot && s.snapshot->dropped > 0) ImGui::TextDisabled("the model sees the last %lld", static_cast<long long>(s.snapshot->tokens));
  } else {
    ImGui::TextUnformatted(s.image_path.empty() ? "(no image)" : file_name(s.image_path).c_str());
    if (ImGui::IsItemHovered() && !s.image_path.empty()) ImGui::SetTooltip("%s", s.image_path.c_str());
  }
  if (ImGui::Button("Open image...")) open = FileKind::image;
  ImGui::SameLine();
  ImGui::TextDisabled("or drop files here");

  section("SELECTION");
  if (s.snapshot) {
    const Snapshot& snap = *s.snapshot;
    int layer = s.layer;
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.6f);
    if (ImGui::SliderInt("layer", &layer, 0, static_cast<int>(snap.layers.size()) - 1)) p.emit(SelectLayer{layer});
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.6f);
    const std::string head_name = s.head < 0 ? "average" : std::to_string(s.head);
    if (ImGui::BeginCombo("head", head_name.c_str())) {
      if (ImGui::Selectable("average", s.head < 0)) p.emit(SelectHead{-1});
      for (int h = 0; h < snap.config.n_head; ++h)
        if (ImGui::Selectable(std::to_string(h).c_str(), s.head == h)) p.emit(SelectHead{h});
      ImGui::EndCombo();
    }
    long long q = s.query;
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.6f);
    if (ImGui::InputScalar("query", ImGuiDataType_S64, &q, nullptr, nullptr, "%lld")) p.emit(SelectQuery{q});
    ImGui::TextDisabled("%s", token_label(snap, s.query).c_str());
  } else {
    ImGui::TextDisabled("no run yet");
  }

  section("VIEWS");
  for (int v = 0; v < kViewCount; ++v) {
    const auto view = static_cast<ViewId>(v);
    bool on = s.visible[static_cast<size_t>(v)];
    if (ImGui::Checkbox(view_title(view), &on)) p.emit(ShowView{view, on});
    ImGui::SameLine(ImGui::GetContentRegionAvail().x - ImGui::GetFontSize() * 2.5f);
    ImGui::PushID(v);
    const bool focused = s.focus == view;
    if (ImGui::SmallButton(focused ? "all" : "max")) p.emit(FocusView{focused ? std::nullopt : std::optional<ViewId>(view)});
    if (ImGui::IsItemHovered()) ImGui::SetTooltip(focused ? "Back to all views (Ctrl+0)" : "Show this view alone (Ctrl+%d)", v + 1);
    ImGui::PopID();
  }
  ImGui::Spacing();
  if (ImGui::Button("Keyboard shortcuts (F1)")) p.emit(ShowHelp{true});
  return open;
}

}  // namespace fmalens::gui
