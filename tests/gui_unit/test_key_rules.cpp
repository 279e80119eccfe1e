// The window's key rules (gui/key_rules.h), one test per rule.
#include <gtest/gtest.h>

#include "gui/key_rules.h"

namespace fmalens::gui {
namespace {

const KeyPress kEsc{true, false, false, false};
const KeyPress kCtrl{false, true, false, false};  // Ctrl+O, Ctrl+E, Ctrl+Q, Ctrl+W, ...
const KeyPress kAlt{false, false, true, false};
const KeyPress kFKey{false, false, false, true};  // F1, F12
const KeyPress kPlain{};                           // a letter or an arrow

TEST(KeyRules, EscClosesTheTopmostThingOpenInOrder) {
  KeyContext c;
  c.error_dialog = c.file_dialog = c.export_dialog = c.menu_or_popup = c.help = c.running = true;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_error);
  c.error_dialog = false;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_file_dialog);
  c.file_dialog = false;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_export_dialog);
  c.export_dialog = false;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_menu);
  c.menu_or_popup = false;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_help);
  c.help = false;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::cancel_run);
}

TEST(KeyRules, EscCancelsARunOnlyWhenNothingIsOpen) {
  KeyContext c;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::widget);  // nothing running: nothing to do
  c.running = true;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::cancel_run);
  c.help = true;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_help);
  c.help = false;
  c.text_field = true;  // Esc first leaves the text field
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::widget);
}

TEST(KeyRules, GlobalShortcutsWorkWhileATextFieldHasFocus) {
  KeyContext c;
  c.text_field = true;
  EXPECT_EQ(route_key(kCtrl, c), KeyRoute::global_shortcut);
  EXPECT_EQ(route_key(kAlt, c), KeyRoute::global_shortcut);
  EXPECT_EQ(route_key(kFKey, c), KeyRoute::global_shortcut);
  c.text_field = false;
  c.widget_active = true;
  EXPECT_EQ(route_key(kCtrl, c), KeyRoute::global_shortcut);
}

TEST(KeyRules, PlainKeysStayTextInATextField) {
  KeyContext c;
  EXPECT_EQ(route_key(kPlain, c), KeyRoute::view_shortcut);
  c.text_field = true;
  EXPECT_EQ(route_key(kPlain, c), KeyRoute::widget);
  c.text_field = false;
  c.widget_active = true;
  EXPECT_EQ(route_key(kPlain, c), KeyRoute::widget);
  c.widget_active = false;
  c.menu_or_popup = true;  // a menu navigates with plain keys
  EXPECT_EQ(route_key(kPlain, c), KeyRoute::widget);
}

TEST(KeyRules, ModalDialogsKeepEveryShortcut) {
  for (int which = 0; which < 3; ++which) {
    KeyContext c;
    (which == 0 ? c.error_dialog : which == 1 ? c.file_dialog : c.export_dialog) = true;
    EXPECT_EQ(route_key(kCtrl, c), KeyRoute::widget) << which;
    EXPECT_EQ(route_key(kFKey, c), KeyRoute::widget) << which;
    EXPECT_EQ(route_key(kPlain, c), KeyRoute::widget) << which;
  }
}

// F6's keyboard navigation: plain keys are ImGui's (arrows move its focus, not the query), the
// shortcuts with modifiers still work, and Esc leaves it unless something above it is open.
TEST(KeyRules, KeyboardNavigationTakesThePlainKeysAndEscLeavesIt) {
  KeyContext c;
  c.keyboard_nav = true;
  EXPECT_EQ(route_key(kPlain, c), KeyRoute::widget);
  EXPECT_EQ(route_key(kCtrl, c), KeyRoute::global_shortcut);
  EXPECT_EQ(route_key(kFKey, c), KeyRoute::global_shortcut);  // F6 again leaves it
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::leave_keyboard_nav);
  c.running = true;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::leave_keyboard_nav);  // before cancelling a run
  c.help = true;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::close_help);
  c.help = false;
  c.text_field = true;
  EXPECT_EQ(route_key(kEsc, c), KeyRoute::widget);  // the field first
}

}  // namespace
}  // namespace fmalens::gui
