// View 8's panel, the head finder: every layer x head of the run as a point over two metrics
// (chosen above the plot), and the same metrics as a table sorted by any column. Hovering a
// point names the head and its numbers; clicking a point or a row selects that layer and head
// in every view.
#include <imgui.h>

#include <algorithm>
#include <numeric>

#include "gui/panels.h"
#include "render/head_figures.h"

namespace fmalens::gui {
namespace {

// Every metric of one head, one per line: what the tooltip shows and Ctrl+C copies.
std::string head_summary(const HeadStats& h, const std::vector<std::string>& names) {
  char line[96];
  std::snprintf(line, sizeof(line), "layer %d, head %d", h.layer, h.head);
  std::string out = line;
  for (size_t m = 0; m < names.size(); ++m) {
    std::snprintf(line, sizeof(line), "\n%s %.4g", names[m].c_str(), head_metric(h, static_cast<int>(m)));
    out += line;
  }
  return out;
}

bool metric_combo(const char* label, const std::vector<std::string>& names, int current, std::string* chosen) {
  bool changed = false;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
  if (ImGui::BeginCombo(label, names[static_cast<size_t>(current)].c_str())) {
    for (size_t m = 0; m < names.size(); ++m)
      if (ImGui::Selectable(names[m].c_str(), static_cast<int>(m) == current)) {
        *chosen = names[m];
        changed = true;
      }
    ImGui::EndCombo();
  }
  return changed;
}

}  // namespace

void draw_heads_panel(PanelContext& p) {
  const AppState& s = p.state;
  const std::vector<HeadStats>* stats = s.snapshot ? p.res.head_stats() : nullptr;
  if (!stats) {
    ImGui::TextDisabled(s.snapshot ? "The head finder needs an FMA model (its bands)." : "No run yet.");
    return;
  }
  const Snapshot& snap = *s.snapshot;
  const render::HeadsFigure fig = render::make_heads_figure(*stats, snap, s.heads_x, s.heads_y, s.layer, s.head, p.font_px());
  const std::vector<std::string>& names = fig.metric_names;
  std::string chosen;
  if (metric_combo("across", names, fig.x_metric, &chosen)) p.emit(SetHeadsAxes{chosen, ""});
  ImGui::SameLine();
  if (metric_combo("up", names, fig.y_metric, &chosen)) p.emit(SetHeadsAxes{"", chosen});
  ImGui::SameLine();
  ImGui::TextDisabled("%zu heads (%.0f ms)", stats->size(), p.res.head_stats_ms);

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::heads)];
  KeyHasher key;
  key.add(reinterpret_cast<uintptr_t>(stats)).add(fig.x_metric).add(fig.y_metric).add(s.layer).add(s.head).add(fig.font_px);
  if (img.begin(ImVec2(avail.x, std::max(avail.y * 0.6f, ImGui::GetFontSize() * 8)), p.framebuffer_scale, key.get())) {
    render::draw_heads_figure(p.res.ctx, fig, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##heads");
  if (img.hovered()) {
    const render::HeadsFigureLayout lay = render::heads_figure_layout(fig, img.rect());
    const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
    const int k = render::head_at(fig, lay, m.x, m.y, fig.font_px);
    if (k >= 0) {
      const HeadStats& h = (*stats)[static_cast<size_t>(k)];
      data_tooltip("%s\nclick: select this head", head_summary(h, names).c_str());
      if (img.clicked()) {
        p.emit(SelectLayer{h.layer});
        p.emit(SelectHead{h.head});
      }
    }
  }

  // The table: a row per head, sortable by any column; a click selects the head.
  static std::vector<size_t> order;
  if (order.size() != stats->size()) {
    order.resize(stats->size());
    std::iota(order.begin(), order.end(), size_t{0});
  }
  const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX;
  if (!ImGui::BeginTable("##head_table", static_cast<int>(names.size()) + 1, flags, ImGui::GetContentRegionAvail())) return;
  ImGui::TableSetupScrollFreeze(1, 1);
  ImGui::TableSetupColumn("head", ImGuiTableColumnFlags_DefaultSort);
  for (const auto& n : names) ImGui::TableSetupColumn(n.c_str());
  ImGui::TableHeadersRow();
  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsCount > 0) {
    const int column = specs->Specs[0].ColumnIndex;
    const bool ascending = specs->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
    auto value = [&](size_t k) {
      const HeadStats& h = (*stats)[k];
      return column == 0 ? static_cast<double>(h.layer * 1000 + h.head) : head_metric(h, column - 1);
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ascending ? value(a) < value(b) : value(a) > value(b); });
  }
  for (size_t k : order) {
    const HeadStats& h = (*stats)[k];
    ImGui::TableNextRow();
    ImGui::TableSetColumnIndex(0);
    const std::string label = "L" + std::to_string(h.layer) + " H" + std::to_string(h.head);
    const bool selected = h.layer == s.layer && h.head == s.head;
    if (ImGui::Selectable(label.c_str(), selected, ImGuiSelectableFlags_SpanAllColumns)) {
      p.emit(SelectLayer{h.layer});
      p.emit(SelectHead{h.head});
    }
    if (ImGui::IsItemHovered()) copy_on_ctrl_c(head_summary(h, names));
    for (size_t m = 0; m < names.size(); ++m) {
      ImGui::TableSetColumnIndex(static_cast<int>(m) + 1);
      ImGui::Text("%.4g", head_metric(h, static_cast<int>(m)));
    }
  }
  ImGui::EndTable();
}

}  // namespace fmalens::gui
