// A workspace: what the window shows, in a small JSON file (`*.workspace.json`): the checkpoint,
// tokenizer and input, the selection (layer, head, query), the matrix's colours and navigation,
// the views' settings, the view alone and the views hidden. File > Save workspace writes one;
// opening it restores the window; `fmalens export --workspace W --view V` draws the same figure
// headless. Paths are stored absolute; relative ones are read against the workspace's folder.
#pragma once

#include <string>
#include <vector>

#include "render/figure_call.h"

namespace fmalens::render {

struct Workspace {
  std::string checkpoint, tokenizer, device = "auto";
  std::string partner;    // the pair view's second model ("" : none)
  std::string text;       // typed text (when there is no text file), at most 1 MiB
  std::string text_file;  // or the text file it came from
  std::string image;
  FigureSettings settings;  // layer, head, query, level, colours, navigation, heads axes, profiles
  int weights_level = 1;
  std::string focus;                // a view shown alone ("" : all)
  std::vector<std::string> hidden;  // views not shown
};

std::string workspace_to_json(const Workspace& workspace);
// Throws Error naming `path` and the field for anything it cannot take: not JSON, a wrong type,
// a number out of its range, a colormap it does not know. (View names are the window's to check.)
Workspace workspace_from_json(const std::string& text, const std::string& path);
Workspace load_workspace(const std::string& path);
// Written atomically (never half a file); throws Error naming the path when it cannot.
void save_workspace(const std::string& path, const Workspace& workspace);

// Whether `path` names a workspace (ends in .workspace.json).
bool is_workspace_path(const std::string& path);

}  // namespace fmalens::render
