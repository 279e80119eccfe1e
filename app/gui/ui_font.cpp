#include "gui/ui_font.h"

#include <fontconfig/fontconfig.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fmalens::gui {
namespace {

std::string match_font(const char* family) {
  FcConfig* config = FcInitLoadConfigAndFonts();
  if (!config) return "";
  std::string file;
  const std::string name = std::string(family) + ":weight=regular:slant=roman";
  FcPattern* pattern = FcNameParse(reinterpret_cast<const FcChar8*>(name.c_str()));
  if (pattern) {
    FcConfigSubstitute(config, pattern, FcMatchPattern);
    FcDefaultSubstitute(pattern);
    FcResult result = FcResultNoMatch;
    if (FcPattern* match = FcFontMatch(config, pattern, &result)) {
      FcChar8* path = nullptr;
      if (FcPatternGetString(match, FC_FILE, 0, &path) == FcResultMatch && path) file = reinterpret_cast<const char*>(path);
      FcPatternDestroy(match);
    }
    FcPatternDestroy(pattern);
  }
  FcConfigDestroy(config);
  const std::string ext = std::filesystem::path(file).extension().string();
  std::error_code ec;
  if (file.empty() || !(ext == ".ttf" || ext == ".otf" || ext == ".TTF") || !std::filesystem::is_regular_file(file, ec)) return "";
  return file;
}

}  // namespace

const std::string& ui_font_file(bool monospace) {
  static const std::string sans = match_font("sans-serif"), mono = match_font("monospace");
  return monospace ? mono : sans;
}

std::string read_font_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string data = bytes.str();
  // sfnt version: TrueType outlines (0x00010000 or 'true'); 'OTTO' (CFF) is not read by stb_truetype.
  if (data.size() < 12 || data.size() > (64u << 20)) return "";
  const char* v = data.data();
  const bool truetype = std::memcmp(v, "\x00\x01\x00\x00", 4) == 0 || std::memcmp(v, "true", 4) == 0;
  return truetype ? data : std::string();
}

}  // namespace fmalens::gui
