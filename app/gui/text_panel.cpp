// View 5's panel (text models): the input with the query's attention under each byte and the
// level serving it, and the predicted next bytes. Clicking a byte makes it the query; the view
// scrolls to keep the query in sight when it moves.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "gui/panels.h"
#include "render/text_figure.h"

namespace fmalens::gui {

void draw_text_panel(PanelContext& p) {
  const AppState& s = p.state;
  if (!s.snapshot || s.snapshot->config.kind != ModelKind::text) {
    ImGui::TextDisabled("The text view needs a text model.");
    return;
  }
  const Snapshot& snap = *s.snapshot;
  if (snap.dropped > 0)
    ImGui::TextDisabled("showing the last %lld %s (the model's context); %lld earlier bytes left out",
                        static_cast<long long>(snap.tokens), snap.token_spans.empty() ? "bytes" : "tokens", static_cast<long long>(snap.dropped));
  render::TextFigure fig;
  render::set_text_source(fig, snap);
  fig.row = p.res.row;
  fig.row_levels = p.res.row_levels;
  fig.query = s.query;
  fig.predictions = render::predictions(snap, s.query, 5);
  fig.colours = colour_scale(p);
  ImGui::PushFont(mono_font());  // cells of one width: the glyphs are the monospace font's
  fig.cell_w = ImGui::CalcTextSize("M").x * p.framebuffer_scale;
  fig.cell_h = ImGui::GetTextLineHeightWithSpacing() * p.framebuffer_scale + 3;
  fig.font_px = p.font_px();

  // The picture covers the visible part; a child window with a scrollbar moves it.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const int columns = std::max(8, static_cast<int>(avail.x * p.framebuffer_scale / fig.cell_w) - 2);
  const render::TextLayout layout = render::layout_text(snap.text, columns);
  const float line_pt = fig.cell_h / p.framebuffer_scale;
  const float header_pt = render::text_header_height(fig) / p.framebuffer_scale;
  ImGui::BeginChild("##text_scroll", avail, false, ImGuiWindowFlags_NoMove);
  const float view_h = ImGui::GetWindowHeight();
  static int64_t followed_query = -1;  // scroll to the query when it changes
  if (followed_query != s.query) {
    followed_query = s.query;
    const float y = header_pt + static_cast<float>(layout.line_of(snap.bytes_of_token(std::max<int64_t>(s.query, 0)).first)) * line_pt;
    if (y < ImGui::GetScrollY() || y + line_pt > ImGui::GetScrollY() + view_h) ImGui::SetScrollY(std::max(0.0f, y - view_h * 0.4f));
  }
  const float scroll = ImGui::GetScrollY();
  fig.first_line = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::max(0.0f, scroll - header_pt) / line_pt)));
  const float top = ImGui::GetCursorPosY();
  ImGui::SetCursorPosY(top + scroll);
  ViewImage& img = p.res.images[static_cast<size_t>(ViewId::text)];
  KeyHasher key;
  key.add(p.res.row_version).add(fig.first_line).add(columns).add(fig.colours).add(fig.cell_h);
  key.add(reinterpret_cast<uintptr_t>(&snap));
  const ImVec2 size(ImGui::GetContentRegionAvail().x, view_h);
  if (img.begin(size, p.framebuffer_scale, key.get())) {
    // The header scrolls away with the text: draw it only at the top.
    render::TextFigure shown = fig;
    if (scroll > header_pt) shown.predictions.clear();
    render::draw_text_figure(p.res.ctx, shown, layout, img.rect(), img.width(), img.height(), &img.canvas());
    img.finish();
  }
  img.show("##text");
  ImGui::PopFont();
  // Room for every line, so the scrollbar spans the whole text.
  ImGui::SetCursorPosY(top + header_pt + static_cast<float>(layout.line_start.size()) * line_pt + line_pt);
  ImGui::Dummy(ImVec2(1, 1));
  if (img.hovered()) {
    render::TextFigure hit = fig;
    if (scroll > header_pt) hit.predictions.clear();
    const render::Point m = img.to_pixels(ImGui::GetIO().MousePos);
    const int64_t b = render::token_at(hit, render::text_hit(hit, layout, img.rect(), m.x, m.y));  // a token
    if (b >= 0 && b < static_cast<int64_t>(fig.row.size())) {
      const int level = fig.row_levels[static_cast<size_t>(b)];
      std::string filled;  // a masked byte: what the model reads there, its top three
      if (fig.masked && static_cast<size_t>(b) < fig.masked->size() && (*fig.masked)[static_cast<size_t>(b)]) {
        filled = "\nmasked; the model reads:";
        for (const render::Prediction& nb : render::predictions(snap, b, 3))
          filled += " '" + render::vocabulary_label(snap, nb.id) + "' " + render::format_percent(nb.probability);
      }
      const std::string served = level < 0 ? "not attended (after the query)"
                                 : !fig.has_levels ? std::string(attention_kind_name(snap.config.attention_kind)) + " attention"
                                 : level == 0 ? "fine level" : "level " + std::to_string(level);
      data_tooltip("%s\n%s, weight %.4g%s\nclick: make it the query", token_label(snap, b).c_str(), served.c_str(),
                        static_cast<double>(fig.row[static_cast<size_t>(b)]), filled.c_str());
      if (img.clicked()) p.emit(SelectQuery{b});
    }
  }
  ImGui::EndChild();
}

}  // namespace fmalens::gui
