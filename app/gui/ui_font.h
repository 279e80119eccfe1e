// The interface's font: a sans-serif TrueType font from the system, found with fontconfig
// (Debian's fonts-dejavu-core gives DejaVu Sans), rasterised by ImGui at the content scale so
// it stays sharp on HiDPI screens. ImGui's built-in ProggyClean is the fallback.
#pragma once

#include <string>

namespace fmalens::gui {

// The file fontconfig matches for "sans-serif" (or "monospace": the text view's cells), a .ttf
// or .otf that exists, or "" when there is none. Looked up once per process.
const std::string& ui_font_file(bool monospace = false);

// The file's bytes when it is a font ImGui can read (TrueType or OpenType with TrueType
// outlines), else empty: ImGui asserts on files it cannot parse, so they never reach it.
std::string read_font_file(const std::string& path);

}  // namespace fmalens::gui
