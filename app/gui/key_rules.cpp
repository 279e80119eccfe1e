#include "gui/key_rules.h"

namespace fmalens::gui {

KeyRoute route_key(const KeyPress& key, const KeyContext& c) {
  if (key.escape) {
    // The topmost first: a modal over everything, then the menus, then the help window.
    if (c.error_dialog) return KeyRoute::close_error;
    if (c.file_dialog) return KeyRoute::close_file_dialog;
    if (c.export_dialog) return KeyRoute::close_export_dialog;
    if (c.menu_or_popup) return KeyRoute::close_menu;
    if (c.help) return KeyRoute::close_help;
    if (c.text_field || c.widget_active) return KeyRoute::widget;  // leaves the field (ImGui)
    if (c.keyboard_nav) return KeyRoute::leave_keyboard_nav;
    return c.running ? KeyRoute::cancel_run : KeyRoute::widget;
  }
  const bool modal = c.error_dialog || c.file_dialog || c.export_dialog;
  if (key.ctrl || key.alt || key.function_key) return modal ? KeyRoute::widget : KeyRoute::global_shortcut;
  if (modal || c.text_field || c.widget_active || c.menu_or_popup || c.keyboard_nav) return KeyRoute::widget;
  return KeyRoute::view_shortcut;
}

}  // namespace fmalens::gui
