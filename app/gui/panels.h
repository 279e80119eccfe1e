// The GUI's panels: each draws one view (or the controls) into the current ImGui window from
// the state and the view resources, and emits commands for what the user does. Panels never
// change the state themselves.
#pragma once

#include <imgui.h>

#include <vector>

#include "gui/app_state.h"
#include "gui/view_resources.h"
#include "render/figure_common.h"

namespace fmalens::gui {

struct PanelContext {
  const AppState& state;
  ViewResources& res;
  std::vector<Command>& commands;
  double now = 0;
  float framebuffer_scale = 1;
  bool headless = false;  // screenshots: complete every picture in this frame
  std::string* text_buffer = nullptr;  // the text box's edit buffer (synced with state.text)
  uint64_t* text_buffer_version = nullptr;

  void emit(Command c) { commands.push_back(std::move(c)); }
  float font_px() const;  // the font's height in target pixels
};

// The sidebar: model, input, selection, views. Returns the kind of file the user asked to open
// (the app then shows its file dialog), if any.
std::optional<FileKind> draw_controls_panel(PanelContext& p);
void draw_matrix_panel(PanelContext& p);
void draw_levels_panel(PanelContext& p);
void draw_weights_panel(PanelContext& p);
void draw_regions_panel(PanelContext& p);
void draw_text_panel(PanelContext& p);
void draw_model_panel(PanelContext& p);
void draw_compare_panel(PanelContext& p);
void draw_heads_panel(PanelContext& p);
void draw_distance_panel(PanelContext& p);
void draw_error_panel(PanelContext& p);
void draw_pair_panel(PanelContext& p);

// Draws the panel of `view` (dispatch for windows, tabs and focus mode).
void draw_view_panel(ViewId view, PanelContext& p);

// The matrix view the panel shows for a picture of w x h pixels (fit or navigated).
render::MatrixView current_matrix_view(const AppState& state, int64_t tokens, int w, int h, float font_px);

// The matrix's colours (colormap, scale, range over the bands shown), for the other views.
render::ColourScale colour_scale(const PanelContext& p);

// Small shared widgets.
void level_toggles(PanelContext& p, int levels);  // one checkbox per level, in its tint
void help_marker(const char* text);
// A tooltip of numbers the user may want elsewhere: shown with a "Ctrl+C: copy" line, and
// copied to the clipboard (without its "click: ..." hints) when Ctrl+C is pressed over it.
// The interface's monospace font (the text view's cells); the UI font when there is no other.
ImFont* mono_font();
void data_tooltip(const char* format, ...) IM_FMTARGS(1);
// Ctrl+C pressed this frame (and no text field taking it): `text` goes to the clipboard.
void copy_on_ctrl_c(const std::string& text);
std::string token_label(const Snapshot& snapshot, int64_t token);  // "'e' (byte 12)" / "patch 3,4"

}  // namespace fmalens::gui
