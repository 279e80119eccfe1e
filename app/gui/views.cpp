#include "gui/views.h"

#include <algorithm>

#include "fmalens/quote.h"
#include "gui/panels.h"
#include "render/compare_figure.h"
#include "render/figure_export.h"
#include "render/error_figure.h"
#include "render/head_figures.h"
#include "render/levels_figure.h"
#include "render/matrix_figure.h"
#include "render/model_figure.h"
#include "render/pair_figure.h"
#include "render/region_figure.h"
#include "render/text_figure.h"
#include "render/weights_figure.h"

namespace fmalens::gui {
namespace {

using Kind = render::FigureKind;
using Shape = Kind::Shape;

// A figure's row data: name, function, availability, then the flags that differ from the
// defaults (side colorbar, title parts, export shape).
Kind figure(const char* name, render::FigureFunction draw, bool (*available)(const Snapshot&), Shape shape = Shape::wide) {
  Kind k;
  k.name = name;
  k.draw = draw;
  k.available = available;
  k.shape = shape;
  return k;
}
Kind coloured_like_matrix(Kind k) {
  k.side_colorbar = true;
  k.names_query = true;
  return k;
}
Kind titled(Kind k, const char* suffix) {
  k.title_suffix = suffix;
  return k;
}
Kind all_heads(Kind k) {
  k.all_heads = true;
  return k;
}
Kind with_partner(Kind k) {
  k.needs_partner = true;
  k.title_suffix = ": against a second model";
  return k;
}
Kind whole_model(Kind k) {
  k.per_layer = false;
  return k;
}

const std::array<ViewRow, kViewCount> kRows = {{
    {ViewId::matrix, "Attention matrix", draw_matrix_panel,
     figure("matrix", render::matrix_view_figure, render::has_fma_bands, Shape::square)},
    {ViewId::levels, "Level breakdown", draw_levels_panel,
     coloured_like_matrix(figure("levels", render::levels_view_figure, render::has_fma_bands, Shape::short_wide))},
    {ViewId::weights, "Downsampling weights", draw_weights_panel,
     all_heads(titled(figure("weights", render::weights_view_figure, render::has_learned_downsampling), ": learned downsampling"))},
    {ViewId::regions, "Region maps", draw_regions_panel,
     coloured_like_matrix(figure("regions", render::regions_view_figure, render::has_image_and_bands))},
    {ViewId::text, "Text", draw_text_panel,
     coloured_like_matrix(figure("text", render::text_view_figure, render::has_text_and_rows, Shape::short_wide))},
    {ViewId::model, "Model", draw_model_panel,
     whole_model(titled(figure("model", render::model_view_figure, render::always_available), ": training loss"))},
    {ViewId::compare, "Compare with exact attention", draw_compare_panel,
     titled(figure("compare", render::compare_view_figure, render::has_queries_and_keys), ": FMA against exact attention")},
    {ViewId::heads, "Head finder", draw_heads_panel,
     whole_model(titled(figure("heads", render::heads_view_figure, render::has_head_stats, Shape::square), ": every head"))},
    {ViewId::distance, "Distance profile", draw_distance_panel,
     titled(figure("distance", render::distance_view_figure, render::has_head_stats), ": attention by distance")},
    {ViewId::error, "Error map", draw_error_panel,
     titled(figure("error", render::error_view_figure, render::has_bands_and_queries), ": FMA against exact softmax, every query")},
    {ViewId::pair, "Two models", draw_pair_panel,
     with_partner(coloured_like_matrix(figure("pair", render::pair_view_figure, render::has_text_and_rows, Shape::short_wide)))},
}};

}  // namespace

const std::array<ViewRow, kViewCount>& view_rows() { return kRows; }

const ViewRow& view_row(ViewId view) { return kRows.at(static_cast<size_t>(view)); }
const char* view_name(ViewId view) { return view_row(view).name(); }
const char* view_title(ViewId view) { return view_row(view).title; }

std::optional<ViewId> view_from_name(const std::string& name) {
  for (const ViewRow& r : kRows)
    if (name == r.name()) return r.id;
  return std::nullopt;
}

std::string view_names_help(bool with_all) {
  std::string out;
  for (const ViewRow& r : kRows) out += (out.empty() ? "" : ", ") + std::string(r.name());
  return with_all ? out + ", all" : out;
}

std::vector<const render::FigureKind*> parse_view_list(const std::string& list, bool* all) {
  std::vector<const render::FigureKind*> out;
  if (all) *all = false;
  auto add = [&](const ViewRow& r) {
    if (std::find(out.begin(), out.end(), &r.figure) == out.end()) out.push_back(&r.figure);
  };
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    if (name == "all") {
      if (all) *all = true;
      for (const ViewRow& r : kRows) add(r);
      continue;
    }
    const std::optional<ViewId> id = view_from_name(name);
    if (!id) throw Error("unknown view " + quote(name) + " (views: " + view_names_help() + ")");
    add(view_row(*id));
  }
  if (out.empty()) throw Error("no view given (views: " + view_names_help() + ")");
  return out;
}

}  // namespace fmalens::gui
