// Where FMA Lens finds its bundled data (models, sample text and image): one place for the
// CLI, the window and the tests, the same rule installed or in a build tree.
#pragma once

#include <string>
#include <vector>

namespace fmalens {

// The data folder, the first of: the folder set by set_assets_dir (the --assets option); the
// FMALENS_ASSETS environment variable; ../share/fmalens next to the running executable (an
// installed bin/fmalens; a build tree links <build>/share/fmalens to the sources' assets);
// each $XDG_DATA_DIRS/fmalens (default /usr/local/share:/usr/share). Only a folder that holds
// the bundled text model counts. Throws Error, in one line naming the folders searched,
// when none does.
std::string assets_dir();

// The --assets option: takes precedence over every other place (no check here: assets_dir
// refuses a folder without the bundled model).
void set_assets_dir(const std::string& dir);

// The folders assets_dir() looks in, in order (for the refusal and for tests).
std::vector<std::string> asset_search_path();

// The bundled files, under assets_dir().
struct BundledFiles {
  std::string text_model, image_model, sample_text, sample_image;
};
BundledFiles bundled_files();

}  // namespace fmalens
