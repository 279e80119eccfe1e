// The views' registry: one row per view, read by the window (menus, panels, focus keys, the
// settings, the export dialog), `--view`, and `fmalens export`. Adding a view is its panel
// file, its figure file (the figure function), its ViewId, and its row in views.cpp.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "gui/app_state.h"
#include "render/figure_call.h"

namespace fmalens::gui {

struct PanelContext;

struct ViewRow {
  ViewId id;
  const char* title;                      // window titles and menus
  void (*panel)(PanelContext& context);   // draws the view in the window
  render::FigureKind figure;              // its name, figure function, which models have it, export defaults
  const char* name() const { return figure.name; }  // command line, settings, file names
};

// Every view, in ViewId order.
const std::array<ViewRow, kViewCount>& view_rows();
const ViewRow& view_row(ViewId view);
const char* view_name(ViewId view);   // "matrix", "levels", ...
const char* view_title(ViewId view);  // "Attention matrix", ...
std::optional<ViewId> view_from_name(const std::string& name);
// "matrix, levels, ..." and ", all" when `with_all`: what `--view` accepts, for help texts and refusals.
std::string view_names_help(bool with_all = true);

// "matrix", "matrix,levels" or "all" -> the views' figures, in the order given (repeats
// dropped); `*all` says whether "all" was among them. Throws Error naming the known views.
std::vector<const render::FigureKind*> parse_view_list(const std::string& list, bool* all = nullptr);

}  // namespace fmalens::gui
