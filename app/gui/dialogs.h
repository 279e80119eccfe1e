// Dialogs: the error modal (the previous state stays behind it), the Help window with the
// keyboard shortcuts, and a small file browser (Dear ImGui has none).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gui/app_state.h"

namespace fmalens::gui {

struct Shortcut {
  const char* keys;
  const char* action;
};
const std::vector<Shortcut>& shortcuts();

// Emits DismissError when closed.
void draw_error_dialog(const AppState& state, std::vector<Command>& commands);
void draw_help_window(const AppState& state, std::vector<Command>& commands);

class FileDialog {
 public:
  void open(FileKind kind, const std::string& start);
  // A folder instead of a file: the list shows folders, and "Choose" takes the one shown.
  void open_folder(const std::string& start);
  bool choosing_folder() const { return folder_; }
  bool is_open() const { return open_; }
  void close() { close_requested_ = open_; }  // Esc: closed at the next draw
  FileKind kind() const { return kind_; }
  // Draws the dialog while open; returns the chosen file once.
  std::optional<std::string> draw();

 private:
  void list(const std::filesystem::path& dir);

  bool open_ = false, just_opened_ = false, close_requested_ = false, folder_ = false;
  FileKind kind_ = FileKind::text;
  std::filesystem::path dir_;
  std::string name_;
  std::string error_;
  struct Entry {
    std::string name;
    bool directory = false;
    uintmax_t bytes = 0;  // files
    std::string modified;  // "2026-12-04 18:30"
  };
  bool focus_name_ = false;  // the name field takes the keyboard when the dialog opens
  std::vector<Entry> entries_;
};

}  // namespace fmalens::gui
