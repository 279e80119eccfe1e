// Who gets a key press in the window: the rules as a plain function of the window's state, so
// that each rule has a test without a window (main_window.cpp feeds it ImGui's state).
//  - Esc closes the topmost thing open (the error dialog, a file or export dialog, a menu or
//    popup, the help), and cancels a run only when nothing is open.
//  - Shortcuts with Ctrl or Alt, and the function keys, work everywhere, a focused text field
//    included; plain keys (letters, arrows, ...) belong to a focused text field or held widget.
//  - Nothing reaches the view shortcuts while a modal dialog is open.
//  - Keyboard navigation (F6): ImGui's nav moves between buttons, checkboxes and fields with the
//    arrows, Space activates, Alt reaches the menus; plain keys are ImGui's then, and Esc (with
//    nothing else open) or F6 leaves it.
#pragma once

namespace fmalens::gui {

struct KeyContext {
  bool text_field = false;      // a text field has the keyboard
  bool widget_active = false;   // a slider, drag or other widget is held
  bool error_dialog = false;    // the modal error message
  bool file_dialog = false;
  bool export_dialog = false;
  bool menu_or_popup = false;   // a menu of the menu bar or a popup
  bool help = false;            // the help window
  bool running = false;
  bool keyboard_nav = false;    // F6 mode: ImGui's keyboard navigation
};

struct KeyPress {
  bool escape = false;
  bool ctrl = false, alt = false;
  bool function_key = false;  // F1..F12
};

enum class KeyRoute {
  widget,              // leave it to ImGui (text, sliders, dialogs' own keys)
  close_error,
  close_file_dialog,
  close_export_dialog,
  close_menu,
  close_help,
  leave_keyboard_nav,
  cancel_run,
  global_shortcut,     // Ctrl/Alt/F-key commands (open, run, export, quit, screenshot, help, ...)
  view_shortcut,       // plain keys that move the query, change layer/head, zoom, mask
};

KeyRoute route_key(const KeyPress& key, const KeyContext& context);

}  // namespace fmalens::gui
