// Where the window's screenshots and exported figures go: a folder the user picks once (kept in
// the settings), by default the desktop's pictures folder; files already there are never
// overwritten silently (a free name is chosen instead).
#pragma once

#include <string>

namespace fmalens::gui {

// $XDG_PICTURES_DIR, else the XDG_PICTURES_DIR line of user-dirs.dirs ($XDG_CONFIG_HOME or
// ~/.config), else ~/Pictures when it exists, else the working folder.
std::string default_exports_dir();

// `path` when no file is there, else the first of name-2.ext, name-3.ext, ... that is free.
std::string unused_path(const std::string& path);

}  // namespace fmalens::gui
