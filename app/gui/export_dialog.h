// File > Export...: a small dialog (view, format, size, path) that exports the current
// panel's settings through render::export_figures, the function `fmalens export` calls.
#pragma once

#include <optional>
#include <string>

#include "gui/app_state.h"
#include "render/figure_export.h"
#include "render/workspace.h"

namespace fmalens::gui {

// The figure settings of the GUI's current selection and panels, for `view`.
render::FigureSettings figure_settings(const AppState& state, ViewId view);
// The window as a workspace (render/workspace.h): model, input, selection and views.
render::Workspace workspace_of(const AppState& state);

class ExportDialog {
 public:
  void open(ViewId view);
  bool is_open() const { return open_; }
  void close() { close_requested_ = open_; }  // Esc: closed at the next draw
  // Draws the dialog while open; returns the request once, when the user presses Export.
  std::optional<render::ExportRequest> draw(const AppState& state);

 private:
  bool open_ = false, just_opened_ = false, close_requested_ = false;
  int view_ = 0, format_ = 0;
  float width_ = 0, height_ = 0, dpi_ = 300;
  std::string path_;
  bool colorbar_ = true, title_ = true;
};

}  // namespace fmalens::gui
