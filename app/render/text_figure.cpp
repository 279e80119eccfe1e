#include "render/text_figure.h"

#include "render/figure_call.h"

#include <algorithm>
#include <cmath>

#include "render/figure_common.h"
#include "render/matrix_renderer.h"

namespace fmalens::render {

int64_t TextLayout::line_of(int64_t byte) const {
  auto it = std::upper_bound(line_start.begin(), line_start.end(), byte);
  return std::max<int64_t>(0, static_cast<int64_t>(it - line_start.begin()) - 1);
}

TextLayout layout_text(const std::string& text, int columns) {
  TextLayout l;
  l.columns = std::max(1, columns);
  l.line_start.push_back(0);
  int col = 0;
  for (size_t k = 0; k < text.size(); ++k) {
    ++col;
    if (text[k] == '\n' || col >= l.columns) {
      if (k + 1 < text.size()) l.line_start.push_back(static_cast<int64_t>(k + 1));
      col = 0;
    }
  }
  return l;
}

std::vector<Prediction> predictions(const Snapshot& s, int64_t pos, int count) {
  std::vector<Prediction> out;
  if (s.config.kind != ModelKind::text || s.logits.shape.size() != 2 || pos < 0 || pos >= s.logits.dim(0)) return out;
  const int64_t V = s.logits.dim(1);
  const float* row = &s.logits.data[static_cast<size_t>(pos * V)];
  const float mx = *std::max_element(row, row + V);
  double z = 0;
  for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v] - mx));
  for (int64_t v = 0; v < V; ++v)
    out.push_back({v, static_cast<float>(std::exp(static_cast<double>(row[v] - mx)) / z)});
  std::partial_sort(out.begin(), out.begin() + std::min<int64_t>(count, V), out.end(),
                    [](const Prediction& a, const Prediction& b) { return a.probability > b.probability; });
  out.resize(static_cast<size_t>(std::min<int64_t>(count, V)));
  return out;
}

void set_text_source(TextFigure& fig, const Snapshot& s) {
  const bool filled = !s.filled.empty();
  fig.text = filled ? &s.filled : &s.text;
  fig.masked = filled ? &s.masked : nullptr;
  fig.predicts_position = s.config.masked_lm;
  fig.tokens = s.token_spans.empty() ? nullptr : &s;
  fig.vocabulary = &s;
  fig.has_levels = uses_fma_bands(s.config.attention_kind);
}

int64_t token_at(const TextFigure& fig, int64_t byte) { return fig.tokens ? fig.tokens->token_of_byte(byte) : byte; }

float text_header_height(const TextFigure& fig) { return fig.predictions.empty() ? 0.0f : fig.cell_h * 1.6f; }

int64_t text_hit(const TextFigure& fig, const TextLayout& layout, const PixelRect& rect, float x, float y) {
  const float top = static_cast<float>(rect.y) + text_header_height(fig);
  if (x < rect.x || y < top || !fig.text) return -1;
  const int64_t line = fig.first_line + static_cast<int64_t>((y - top) / fig.cell_h);
  const int64_t col = static_cast<int64_t>((x - static_cast<float>(rect.x)) / fig.cell_w);
  if (line < 0 || line >= static_cast<int64_t>(layout.line_start.size()) || col >= layout.columns) return -1;
  const int64_t start = layout.line_start[static_cast<size_t>(line)];
  const int64_t end = line + 1 < static_cast<int64_t>(layout.line_start.size()) ? layout.line_start[static_cast<size_t>(line + 1)]
                                                                                : static_cast<int64_t>(fig.text->size());
  return start + col < end ? start + col : -1;
}

void draw_text_figure(RenderContext& ctx, const TextFigure& fig, const TextLayout& layout, const PixelRect& rect, int target_w,
                      int target_h, Canvas* canvas) {
  if (!fig.text) return;
  const std::string& text = *fig.text;
  if (!fig.predictions.empty()) {
    const std::string unit = fig.tokens ? "token " : "byte ";
    std::string head = (fig.predicts_position ? "at " + unit + std::to_string(fig.query) + " the model reads:"
                                              : "after " + unit + std::to_string(fig.query) + " the model expects:");
    canvas->label(static_cast<float>(rect.x), static_cast<float>(rect.y), head, kDimTextColor);
    float x = static_cast<float>(rect.x) + fig.cell_w * static_cast<float>(head.size() + 2);
    for (const Prediction& p : fig.predictions) {
      const std::string label = fig.vocabulary ? vocabulary_label(*fig.vocabulary, p.id) : byte_label(static_cast<unsigned char>(p.id));
      const std::string item = "'" + label + "' " + format_percent(p.probability);
      canvas->label(x, static_cast<float>(rect.y), item, kTextColor);
      x += fig.cell_w * static_cast<float>(item.size() + 2);
    }
  }
  const float top = static_cast<float>(rect.y) + text_header_height(fig);
  const int64_t lines = static_cast<int64_t>(layout.line_start.size());
  const int64_t visible = static_cast<int64_t>(std::ceil((static_cast<float>(rect.y + rect.h) - top) / fig.cell_h));
  for (int64_t line = fig.first_line; line < std::min(lines, fig.first_line + visible); ++line) {
    const int64_t start = layout.line_start[static_cast<size_t>(line)];
    const int64_t end = line + 1 < lines ? layout.line_start[static_cast<size_t>(line + 1)] : static_cast<int64_t>(text.size());
    const float y = top + static_cast<float>(line - fig.first_line) * fig.cell_h;
    for (int64_t b = start; b < end; ++b) {
      const float x = static_cast<float>(rect.x) + static_cast<float>(b - start) * fig.cell_w;
      const size_t k = static_cast<size_t>(b);
      const int64_t token = token_at(fig, b);
      const size_t tk = static_cast<size_t>(std::max<int64_t>(token, 0));
      const float v = token >= 0 && tk < fig.row.size() ? fig.row[tk] : 0.0f;
      const int level = token >= 0 && tk < fig.row_levels.size() ? fig.row_levels[tk] : -1;
      if (level >= 0) {
        const Rgb bg = fig.colours.colour(v);
        canvas->fill_rect(x, y, fig.cell_w, fig.cell_h - 3, to_color(bg, v > 0 ? 0.85f : 0.25f));
        // The underline: the level's colour in the level's dash pattern, continuous along the line.
        if (fig.has_levels) {
          const Color tint = to_color(level_tint(level));
          const int x0 = static_cast<int>(std::lround(x)), x1 = static_cast<int>(std::lround(x + fig.cell_w));
          const int origin = static_cast<int>(rect.x);
          for (const auto& [a, b] : level_dash_runs(level, x0 - origin, x1 - origin))
            canvas->fill_rect(static_cast<float>(a + origin), y + fig.cell_h - 3, static_cast<float>(b - a), 2, tint);
        }
      }
      const unsigned char c = static_cast<unsigned char>(text[k]);
      // Dark glyphs on light backgrounds: the colormaps run from dark to light.
      const bool light_bg = level >= 0 && v > 0 && fig.colours.position(v) > 0.6f;
      const Color ink = light_bg ? Color{0.05f, 0.05f, 0.05f, 1} : kTextColor;
      if (c == '\n') canvas->label(x, y, "$", kDimTextColor);
      else if (c == '\t') {
        // a tab is one byte: one blank cell
      } else if (c >= 32 && c < 127) canvas->label(x, y, std::string(1, static_cast<char>(c)), ink);
      else canvas->label(x, y, ".", kDimTextColor);
      if (fig.masked && k < fig.masked->size() && (*fig.masked)[k])  // a masked byte, shown as the model filled it in
        canvas->stroke_rect(x, y, fig.cell_w, fig.cell_h - 3, kMaskedColor, 1);
      if (fig.tokens && token >= 0 && fig.tokens->bytes_of_token(token).first == b && b != start)  // a token starts here
        canvas->fill_rect(x, y + 1, 1, fig.cell_h - 5, kDimTextColor);
      if (!fig.tokens && b == fig.query) {
        canvas->stroke_rect(x - 1, y - 1, fig.cell_w + 2, fig.cell_h, {1, 0.25f, 0.25f, 1}, 2);
      } else if (fig.tokens && token == fig.query) {  // the query's token, framed whole: top and bottom per byte, sides at its ends
        const Color red{1, 0.25f, 0.25f, 1};
        const auto [first, last] = fig.tokens->bytes_of_token(token);
        canvas->fill_rect(x - (b == first ? 1 : 0), y - 1, fig.cell_w + (b == first ? 1 : 0) + (b + 1 == last ? 1 : 0), 2, red);
        canvas->fill_rect(x - (b == first ? 1 : 0), y + fig.cell_h - 3, fig.cell_w + (b == first ? 1 : 0) + (b + 1 == last ? 1 : 0), 2, red);
        if (b == first || b == start) canvas->fill_rect(x - 1, y - 1, 2, fig.cell_h, red);
        if (b + 1 == last || b + 1 == end) canvas->fill_rect(x + fig.cell_w - 1, y - 1, 2, fig.cell_h, red);
      }
    }
  }
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void text_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  if (s.config.kind != ModelKind::text) throw Error("view 'text' needs a text model");
  TextFigure fig;
  set_text_source(fig, s);
  c.query_row("text", c.query, &fig.row, &fig.row_levels);
  fig.query = c.query;
  fig.predictions = predictions(s, c.query, 5);
  fig.colours = c.colour_scale("text", &fig.row);
  fig.font_px = f;
  fig.cell_w = std::round(f * 0.54f);  // DejaVu Sans Mono's advance at the labels' size, and a little
  fig.cell_h = std::round(f * 1.35f) + 3;
  const int columns = std::max(8, static_cast<int>(static_cast<float>(body.w) / fig.cell_w) - 1);
  const TextLayout tl = layout_text(s.text, columns);
  // Longer texts than the figure holds: the lines around the query.
  const int64_t fits = std::max<int64_t>(1, static_cast<int64_t>((static_cast<float>(body.h) - text_header_height(fig)) / fig.cell_h));
  const int64_t lines = static_cast<int64_t>(tl.line_start.size());
  if (lines > fits) fig.first_line = std::clamp<int64_t>(tl.line_of(s.bytes_of_token(c.query).first) - fits / 2, 0, lines - fits);
  draw_text_figure(c.ctx, fig, tl, body, W, H, &canvas);
  c.monospace = true;
  c.side_colours = fig.colours;
}

}  // namespace fmalens::render
