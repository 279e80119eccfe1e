// What the GUI remembers between sessions: device, recent files, tokenizers, views shown, the
// matrix's colours, the exports folder, the interface scale, the window's size and the panels'
// splits per model kind. A small JSON file under
// $XDG_CONFIG_HOME/fmalens (or ~/.config/fmalens). A missing or unreadable file means
// defaults; a bad value is skipped, never fatal.
#pragma once

#include <string>

#include "gui/app_state.h"

namespace fmalens::gui {

// $XDG_CONFIG_HOME/fmalens, else $HOME/.config/fmalens; "" when neither is set.
std::string config_dir();

std::string settings_to_json(const AppState& state, float ui_scale);
// Applies what `json` holds to `state` (and *ui_scale); ignores what it cannot read.
void settings_from_json(const std::string& json, AppState* state, float* ui_scale);

// File helpers: load returns false when there is no readable file; save writes atomically
// and creates the folder, returning false (with the reason in *error) when it cannot.
bool load_settings(const std::string& path, AppState* state, float* ui_scale);
bool save_settings(const std::string& path, const AppState& state, float ui_scale, std::string* error);

}  // namespace fmalens::gui
