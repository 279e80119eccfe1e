#include "gui/dialogs.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include "fmalens/model.h"
#include "fmalens/quote.h"

namespace fmalens::gui {

const std::vector<Shortcut>& shortcuts() {
  static const std::vector<Shortcut> list = {
      {"Ctrl+O", "open a checkpoint (.safetensors, reference .pt)"},
      {"Ctrl+T", "open a text file"},
      {"Ctrl+I", "open an image"},
      {"drop files", "checkpoints, tokenizers, images or text files onto the window"},
      {"Ctrl+R", "run again (reloads a checkpoint changed on disk)"},
      {"Escape", "close the dialog, menu or help on top; with none open, cancel the run"},
      {"Ctrl+W", "close the view that has the focus"},
      {"Left / Right", "previous / next query"},
      {"Up / Down", "query one row up / down (images), 64 bytes (text)"},
      {"Page Up / Down", "query 1024 bytes back / on (text)"},
      {"Home / End", "first / last query"},
      {"M", "masked LMs: mask the word at the query (or type _ runs); the model fills it in"},
      {"[ / ]", "previous / next layer"},
      {", / .", "previous / next head"},
      {"A", "average of heads"},
      {"L", "linear / log colour scale"},
      {"C", "next colormap"},
      {"+ / -", "zoom the matrix in / out (or the mouse wheel)"},
      {"0 or double click", "fit the matrix"},
      {"drag", "pan the matrix"},
      {"Alt+Left / Alt+Right", "back / forward through zoom, pan, query, layer and head (or the mouse's side buttons)"},
      {"drag a panel's border", "resize the panels (View > Reset layout puts them back)"},
      {"click", "select the query (matrix row, text byte, image patch)"},
      {"Ctrl+1 .. Ctrl+9", "show one of the first nine views alone (View > Alone has them all)"},
      {"Ctrl+0", "show all views"},
      {"F12 or Ctrl+P", "save a screenshot of the window (PNG)"},
      {"Ctrl+E", "export a view as a figure (PNG, SVG, PDF)"},
      {"Ctrl+S", "save the workspace (model, input, selection, views) into the exports folder"},
      {"F1", "this help"},
      {"F6", "keyboard navigation: arrows move between buttons and fields, Space activates, Alt the menus; Esc leaves"},
      {"Ctrl+Q", "quit"},
  };
  return list;
}

void draw_error_dialog(const AppState& s, std::vector<Command>& commands) {
  if (s.error.empty()) return;
  if (!ImGui::IsPopupOpen("Error")) ImGui::OpenPopup("Error");
  ImGui::SetNextWindowSize(ImVec2(ImGui::GetFontSize() * 34, 0), ImGuiCond_Appearing);
  if (ImGui::BeginPopupModal("Error", nullptr, ImGuiWindowFlags_NoSavedSettings)) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(s.error.c_str());
    ImGui::PopTextWrapPos();
    ImGui::Spacing();
    ImGui::TextDisabled("The previous model and run are unchanged.");
    if (ImGui::Button("OK", ImVec2(ImGui::GetFontSize() * 6, 0)) || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter)) ||
        ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) {
      commands.push_back(DismissError{});
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
}

void draw_help_window(const AppState& s, std::vector<Command>& commands) {
  if (!s.show_help) return;
  bool open = true;
  ImGui::SetNextWindowSize(ImVec2(ImGui::GetFontSize() * 36, ImGui::GetFontSize() * 30), ImGuiCond_FirstUseEver);
  if (ImGui::Begin("Help", &open)) {
    // About: what this is and what it runs on.
    static const std::string about = std::string("FMA Lens ") + FMALENS_VERSION + " (" + Model::build_description() + ")";
    ImGui::TextUnformatted(about.c_str());
    ImGui::TextDisabled("model: %s", s.loaded_checkpoint.empty() ? "(none yet)" : s.loaded_checkpoint.c_str());
    if (s.model && s.model->config.kind == ModelKind::text && !s.model->tokenizer.empty())
      ImGui::TextDisabled("tokenizer: %s", s.model->tokenizer.c_str());
    ImGui::Separator();
    ImGui::TextWrapped("FMA Lens shows what a Fast Multipole Attention model attends to: the fine band of nearby keys and, "
                       "for farther keys, learned summaries of ever larger blocks (one coarse level per doubling).");
    ImGui::Spacing();
    if (ImGui::BeginTable("shortcuts", 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit)) {
      for (const Shortcut& k : shortcuts()) {
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        ImGui::TextUnformatted(k.keys);
        ImGui::TableSetColumnIndex(1);
        ImGui::TextUnformatted(k.action);
      }
      ImGui::EndTable();
    }
  }
  ImGui::End();
  if (!open) commands.push_back(ShowHelp{false});
}

void FileDialog::open_folder(const std::string& start) {
  open(FileKind::text, start);
  folder_ = true;
  list(dir_);  // folders only
}

void FileDialog::open(FileKind kind, const std::string& start) {
  kind_ = kind;
  folder_ = false;
  std::error_code ec;
  std::filesystem::path p = start.empty() ? std::filesystem::current_path(ec) : std::filesystem::path(start);
  if (!std::filesystem::is_directory(p, ec)) p = p.parent_path();
  if (p.empty() || !std::filesystem::is_directory(p, ec)) p = std::filesystem::current_path(ec);
  list(p);
  name_.clear();
  open_ = just_opened_ = focus_name_ = true;
}

void FileDialog::list(const std::filesystem::path& dir) {
  entries_.clear();
  error_.clear();
  std::error_code ec;
  dir_ = std::filesystem::absolute(dir, ec);
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code e2;
    const bool is_dir = it->is_directory(e2);
    if (!is_dir && (folder_ || (kind_ != FileKind::text && file_kind(name) != kind_))) continue;  // text: any file
    Entry entry{name, is_dir, is_dir ? 0 : it->file_size(e2), ""};
    const auto when = it->last_write_time(e2);
    if (!e2) {  // file_time_type to time_t through the two clocks' "now" (C++17 has no clock_cast)
      const auto system = std::chrono::system_clock::now() + (when - std::filesystem::file_time_type::clock::now());
      const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::system_clock::duration>(system));
      char buf[32];
      if (std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", std::localtime(&t))) entry.modified = buf;
    }
    entries_.push_back(entry);
  }
  if (ec) error_ = "cannot list " + shown_path(dir_.string()) + ": " + ec.message();
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.directory != b.directory ? a.directory : a.name < b.name;
  });
}

std::optional<std::string> FileDialog::draw() {
  if (!open_) return std::nullopt;
  const char* title = folder_                        ? "Folder for screenshots and exported figures"
                      : kind_ == FileKind::checkpoint  ? "Open checkpoint"
                      : kind_ == FileKind::image     ? "Open image"
                      : kind_ == FileKind::tokenizer ? "Open tokenizer (meta.pkl, tokenizer.json, encoder.json, vocab.json)"
                      : kind_ == FileKind::workspace ? "Open workspace (*.workspace.json)"
                                                     : "Open text file";
  if (just_opened_) {
    ImGui::OpenPopup(title);
    just_opened_ = false;
  }
  std::optional<std::string> chosen;
  ImGui::SetNextWindowSize(ImVec2(ImGui::GetFontSize() * 40, ImGui::GetFontSize() * 28), ImGuiCond_Appearing);
  bool keep = true;
  if (ImGui::BeginPopupModal(title, &keep)) {
    if (close_requested_) {
      close_requested_ = keep = false;
      ImGui::CloseCurrentPopup();
    }
    ImGui::TextUnformatted(dir_.string().c_str());
    if (ImGui::Button("Up")) list(dir_.parent_path());
    if (!error_.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", error_.c_str());
    ImGui::BeginChild("##entries", ImVec2(0, -ImGui::GetFrameHeightWithSpacing() * 2), true);
    std::optional<std::filesystem::path> enter;
    // The name field filters the list (case-insensitive) until it names an entry exactly.
    const auto lower = [](std::string x) {
      for (char& ch : x) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return x;
    };
    const std::string filter = lower(name_);
    const bool exact = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name_; });
    if (ImGui::BeginTable("##files", 3, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
      ImGui::TableSetupColumn("name", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableSetupColumn("size");
      ImGui::TableSetupColumn("modified");
      for (const Entry& e : entries_) {
        if (!exact && !filter.empty() && lower(e.name).find(filter) == std::string::npos) continue;
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        const std::string label = e.directory ? e.name + "/" : e.name;
        if (ImGui::Selectable(label.c_str(), name_ == e.name, ImGuiSelectableFlags_AllowDoubleClick | ImGuiSelectableFlags_SpanAllColumns)) {
          if (e.directory) enter = dir_ / e.name;
          else {
            name_ = e.name;
            if (ImGui::IsMouseDoubleClicked(0)) chosen = (dir_ / e.name).string();
          }
        }
        ImGui::TableSetColumnIndex(1);
        if (!e.directory) {
          const double b = static_cast<double>(e.bytes);
          if (b < 1024) ImGui::TextDisabled("%.0f B", b);
          else if (b < 1024 * 1024) ImGui::TextDisabled("%.1f KB", b / 1024);
          else ImGui::TextDisabled("%.1f MB", b / (1024 * 1024));
        }
        ImGui::TableSetColumnIndex(2);
        ImGui::TextDisabled("%s", e.modified.c_str());
      }
      ImGui::EndTable();
    }
    ImGui::EndChild();
    if (enter) list(*enter);
    ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 9);
    if (focus_name_) {
      ImGui::SetKeyboardFocusHere();
      focus_name_ = false;
    }
    const bool entered = ImGui::InputText("##name", &name_, ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    if (folder_) {
      // The folder shown (or the one named in the field) is the answer.
      if (ImGui::Button("Choose") || entered) {
        const std::filesystem::path p = name_.empty() ? dir_ : std::filesystem::path(name_).is_absolute() ? std::filesystem::path(name_) : dir_ / name_;
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) chosen = p.lexically_normal().string();
        else error_ = shown_path(p.string()) + " is not a folder";
      }
    } else if ((ImGui::Button("Open") || entered) && !name_.empty()) {
      const std::filesystem::path p = std::filesystem::path(name_).is_absolute() ? std::filesystem::path(name_) : dir_ / name_;
      std::error_code ec;
      if (std::filesystem::is_directory(p, ec)) {
        list(p);
        name_.clear();
      } else {
        chosen = p.string();
      }
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) keep = false;
    if (chosen || !keep) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }
  if (chosen || !keep) open_ = false;
  return chosen;
}

}  // namespace fmalens::gui
