// View 5, the text: the input bytes on a monospace grid, each with the selected query's
// attention to it as its background and the level serving it as an underline; the query
// framed; the model's predicted next bytes at the query on a header line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmalens/snapshot.h"
#include "render/figure_common.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

// Where each line of the wrapped text starts (byte index); wraps at `columns` and after '\n'.
struct TextLayout {
  std::vector<int64_t> line_start;
  int columns = 1;
  int64_t line_of(int64_t byte) const;
};
TextLayout layout_text(const std::string& text, int columns);

struct Prediction {
  int64_t id = 0;  // a byte, or a token id of the snapshot's tokenizer
  float probability = 0;
};
// Softmax of the logits row at `position`, best first, at most `count`.
std::vector<Prediction> predictions(const Snapshot& snapshot, int64_t position, int count);

struct TextFigure {
  const std::string* text = nullptr;
  // Tokenized text (a char map, a BPE): which token each byte belongs to, token boundaries
  // marked, the query's token framed whole; predictions labelled from its vocabulary. Null
  // for byte models (byte t is token t).
  const Snapshot* tokens = nullptr;
  // Masked LMs: 1 for each masked byte (drawn framed in the mask colour, as `text` fills it in)
  // and the predictions are of the byte at the query, not the next one.
  const std::vector<uint8_t>* masked = nullptr;
  bool predicts_position = false;
  std::vector<float> row;
  std::vector<int> row_levels;
  int64_t query = 0;
  std::vector<Prediction> predictions;
  const Snapshot* vocabulary = nullptr;  // labels of the predictions (null: bytes)
  ColourScale colours;
  bool has_levels = true;  // false for rows from q and k (dense, elu_linear): no level underlines
  float cell_w = 7, cell_h = 15;  // glyph cell (the GUI's monospace font)
  float font_px = 13;
  int64_t first_line = 0;         // scrolled to
};

// The text a figure shows: the bytes run, or for a masked LM's run with masks the text as the
// model filled it in, with the masked bytes marked; the predictions' meaning follows the model.
void set_text_source(TextFigure& figure, const Snapshot& snapshot);

// Height of the header (predictions) above the grid.
float text_header_height(const TextFigure& figure);
// The token holding byte `byte` of the figure's text (the byte itself for byte models), or -1.
int64_t token_at(const TextFigure& figure, int64_t byte);
// Byte under a point of the rectangle, or -1.
int64_t text_hit(const TextFigure& figure, const TextLayout& layout, const PixelRect& rect, float x, float y);

void draw_text_figure(RenderContext& ctx, const TextFigure& figure, const TextLayout& layout, const PixelRect& rect, int target_w,
                      int target_h, Canvas* canvas);

// The text coloured by the selected query's attention as a figure.
void text_view_figure(FigureCall& call);

}  // namespace fmalens::render
