#include "render/figure_export.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "fmalens/atomic_file.h"
#include "fmalens/layout.h"
#include "fmalens/quote.h"
#include "render/band_data.h"
#include "render/band_textures.h"
#include "render/compare_figure.h"
#include "render/figure_cairo.h"
#include "render/figure_common.h"
#include "render/gl.h"
#include "render/levels_figure.h"
#include "render/matrix_figure.h"
#include "render/model_figure.h"
#include "render/offscreen_target.h"
#include "render/png.h"
#include "render/region_figure.h"
#include "render/synthetic_snapshot.h"
#include "render/text_figure.h"
#include "render/weights_figure.h"

namespace fmalens::render {
namespace {

// Room the colorbar of the views that follow the matrix's colours takes at the right.
float side_colorbar_width(float f) { return f * 6.4f; }

int64_t default_query(const Snapshot& s) {
  if (s.config.kind == ModelKind::image) {
    const int64_t g = s.config.grid_side();
    return (g / 2) * g + g / 2;
  }
  return std::max<int64_t>(0, s.tokens - 1);
}

std::string head_text(int head) { return head < 0 ? "mean of heads" : "head " + std::to_string(head); }

std::string query_text(const Snapshot& s, int64_t q) {
  if (s.config.kind == ModelKind::image || s.attention.variant == Variant::grid2d) {
    const int64_t g = std::max<int64_t>(1, s.attention.grid_side);
    return "query patch " + std::to_string(q / g) + "," + std::to_string(q % g);
  }
  std::string out = "query " + std::to_string(q);
  if (q >= 0 && q < s.tokens) out += " '" + text_token_label(s, q) + "'";
  return out;
}

std::string auto_title(const FigureSource& src, const FigureKind& kind, const FigureSettings& st, int64_t query, int weights_level) {
  std::string t = src.model_name.empty() ? std::string("model") : src.model_name;
  if (!kind.per_layer) return t + kind.title_suffix;
  t += ", layer " + std::to_string(st.layer);
  if (kind.all_heads) return t + " (all heads), level " + std::to_string(weights_level) + kind.title_suffix;
  t += ", " + head_text(st.head);
  if (kind.names_query) t += ", " + query_text(*src.snapshot, query);
  if (*kind.title_suffix) return t + kind.title_suffix;
  return t + (st.level >= 0 ? ", level " + std::to_string(st.level) : ", all levels");
}

// The colorbar of the views that colour by the matrix's scale (levels, text, regions).
void draw_side_colorbar(RenderContext& ctx, const ColourScale& c, const PixelRect& body, int W, int H, float f, Canvas* canvas,
                        std::vector<PixelRect>* raster) {
  const float x0 = static_cast<float>(body.x + body.w) + f * 0.8f;
  const PixelRect bar{static_cast<int>(x0), body.y + static_cast<int>(f * 2.2f), static_cast<int>(f * 1.1f),
                      std::max(1, body.h - static_cast<int>(f * 3))};
  ctx.draw_colorbar(c.colormap, bar, H);
  canvas->stroke_rect(static_cast<float>(bar.x) - 0.5f, static_cast<float>(bar.y) - 0.5f, static_cast<float>(bar.w) + 1,
                      static_cast<float>(bar.h) + 1, kAxisColor);
  colorbar_labels(canvas, static_cast<float>(bar.x + bar.w), static_cast<float>(bar.y), static_cast<float>(bar.h), c.lo, c.hi,
                  c.log_scale, f);
  canvas->label(static_cast<float>(bar.x), static_cast<float>(bar.y) - f * 2.0f, "weight", kDimTextColor);
  ctx.draw_canvas(*canvas, W, H);
  raster->push_back(bar);
}

}  // namespace

FigureCall::FigureCall(RenderContext& ctx_, const FigureSource& source_, const FigureSettings& settings_, int width_, int height_,
                       float font_px_, Canvas& canvas_, std::vector<PixelRect>& raster_)
    : ctx(ctx_), source(source_), snapshot(*source_.snapshot), settings(settings_), width(width_), height(height_),
      font_px(font_px_), canvas(canvas_), raster(raster_) {}

const BandData& FigureCall::bands(const char* view) {
  if (!bands_) {
    if (!has_fma_bands(snapshot))
      throw Error(std::string("view '") + view + "' needs an FMA model (this one has " + attention_kind_name(snapshot.config.attention_kind) +
                  " attention)");
    bands_ = make_band_data(snapshot, settings.layer, settings.head);
    textures_.upload(*bands_);
  }
  return *bands_;
}

const BandTextures& FigureCall::textures(const char* view) {
  bands(view);
  return textures_;
}

const std::vector<HeadStats>& FigureCall::head_stats(const char* view) {
  if (source.head_stats) return *source.head_stats;
  if (!head_stats_) {
    if (!has_fma_bands(snapshot))
      throw Error(std::string("view '") + view + "' needs an FMA model (this one has " + attention_kind_name(snapshot.config.attention_kind) +
                  " attention)");
    head_stats_ = fmalens::head_stats(snapshot);
  }
  return *head_stats_;
}

void FigureCall::query_row(const char* view, int64_t i, std::vector<float>* values, std::vector<int>* levels) {
  if (!has_fma_bands(snapshot) && has_qk_rows(snapshot)) return qk_attention_row(snapshot, settings.layer, settings.head, i, values, levels);
  implied_row(bands(view), Layout(snapshot.attention), i, values, levels);
}

ColourScale FigureCall::colour_scale(const char* view, const std::vector<float>* row) {
  ColourScale c;
  c.colormap = settings.colormap;
  c.log_scale = settings.log_scale;
  if (row && !has_fma_bands(snapshot)) {
    row_colour_range(*row, settings.decades, settings.log_scale, &c.lo, &c.hi);
    return c;
  }
  MatrixView scale_view;
  scale_view.decades = settings.decades;
  matrix_color_range(scale_view, textures(view), &c.lo, &c.hi);
  return c;
}

bool has_fma_bands(const Snapshot& s) { return !s.layers.empty() && !s.layers[0].bands.empty(); }
bool has_learned_downsampling(const Snapshot& s) { return has_fma_bands(s) && !s.downsampling.empty() && !s.downsampling[0].empty(); }
bool has_image_and_bands(const Snapshot& s) { return has_fma_bands(s) && s.config.kind == ModelKind::image && !s.image.empty(); }
bool has_text_and_rows(const Snapshot& s) { return (has_fma_bands(s) || has_qk_rows(s)) && s.config.kind == ModelKind::text; }
bool has_queries_and_keys(const Snapshot& s) { return has_fma_bands(s) && !s.layers[0].q.empty(); }
bool always_available(const Snapshot&) { return true; }

FigureFormat figure_format_from_name(const std::string& name) {
  if (name == "png") return FigureFormat::png;
  if (name == "svg") return FigureFormat::svg;
  if (name == "pdf") return FigureFormat::pdf;
  throw Error("unknown format " + quote(name) + " (formats: png, svg, pdf)");
}

const char* figure_format_name(FigureFormat f) { return f == FigureFormat::png ? "png" : f == FigureFormat::svg ? "svg" : "pdf"; }

PixelRect figure_body(int width, int height, float f, const FigureSettings& st) {
  const int pad = static_cast<int>(std::lround(f * 0.6f));
  const int title = st.show_title ? static_cast<int>(std::lround(f * 2.0f)) : 0;
  return {pad, pad + title, std::max(1, width - 2 * pad), std::max(1, height - 2 * pad - title)};
}

Snapshot synthetic_export_snapshot(int64_t tokens) {
  int64_t n = 64;
  while (n < tokens) n *= 2;
  SyntheticSpec spec = SyntheticSpec::sequence(Variant::causal, n, 32, 4, 2, 2);
  spec.tokens = tokens;
  return make_synthetic_snapshot(spec);
}

RenderedFigure render_figure(RenderContext& ctx, const FigureSource& src, const FigureKind& view, const FigureSettings& st, int W, int H,
                             float f, bool with_shapes) {
  const Snapshot& s = *src.snapshot;
  RenderedFigure out;
  out.width = W;
  out.height = H;
  // Selection checks: one line naming the option and the model's range.
  if (st.layer < 0 || st.layer >= static_cast<int>(s.layers.size()))
    throw Error("layer " + std::to_string(st.layer) + " out of range (the model's layers are 0.." + std::to_string(static_cast<long long>(s.layers.size()) - 1) + ")");
  if (st.head < -1 || st.head >= s.config.n_head)
    throw Error("head " + std::to_string(st.head) + " out of range (the model has " + std::to_string(s.config.n_head) + " heads; -1: their mean)");
  const int64_t query = st.query >= 0 ? st.query : default_query(s);
  if (query >= s.tokens) throw Error("query " + std::to_string(query) + " out of range (the input has " + std::to_string(s.tokens) + " tokens)");
  uint32_t mask = st.level_mask;
  if (st.level >= 0 && !view.all_heads) {
    if (st.level >= 16) throw Error("level " + std::to_string(st.level) + " out of range");
    mask = 1u << st.level;
  }
  int weights_level = st.level >= 1 ? st.level : 1;

  OffscreenTarget target;
  target.resize(W, H);
  const FramebufferScope restore;  // the caller's framebuffer and viewport, however this returns
  target.bind();
  glClearColor(kFigureBackground.r, kFigureBackground.g, kFigureBackground.b, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  // Vector output records the shapes without drawing them; drawing is back on however this returns.
  struct CanvasDrawing {
    RenderContext& ctx;
    ~CanvasDrawing() { ctx.set_canvas_enabled(true); }
  } canvas_drawing{ctx};
  ctx.set_canvas_enabled(with_shapes);

  FigureCall call(ctx, src, st, W, H, f, out.canvas, out.raster);
  call.body = figure_body(W, H, f, st);
  if (view.side_colorbar && st.colorbar) call.body.w = std::max(1, call.body.w - static_cast<int>(side_colorbar_width(f)));
  call.query = query;
  call.level_mask = mask;
  call.weights_level = weights_level;
  view.draw(call);
  if (view.side_colorbar && st.colorbar && call.side_colours) {
    Canvas bar;
    draw_side_colorbar(ctx, *call.side_colours, call.body, W, H, f, &bar, &out.raster);
    out.canvas.append(bar);
  }
  out.body = call.body;
  out.monospace = call.monospace;
  ctx.set_canvas_enabled(true);
  out.title = st.title.empty() ? auto_title(src, view, st, query, weights_level) : st.title;
  if (st.show_title) {
    const PixelRect top = figure_body(W, H, f, st);
    out.canvas.label(static_cast<float>(top.x), static_cast<float>(top.y) - f * 1.7f, out.title, kTextColor);
  }
  glFinish();
  out.rgba = target.read_rgba8();
  check_gl("render_figure");
  return out;
}

std::vector<std::string> export_figures(const FigureSource& src, const ExportRequest& req) {
  if (!src.snapshot) throw Error("nothing to export: no run yet");
  std::vector<const FigureKind*> views;
  for (const FigureKind* v : req.views)
    if (!req.skip_unavailable || (v->available(*src.snapshot) && (!v->needs_partner || src.partner))) views.push_back(v);
  if (views.empty()) throw Error("no view to export");
  if (req.out.empty()) throw Error("no output path given (--out)");
  const bool vector = req.format != FigureFormat::png;
  // The matrix is square: its default figure is narrower than the others.
  const bool square = views.size() == 1 && views[0]->shape == FigureKind::Shape::square;
  const double width = req.size.width > 0 ? req.size.width : vector ? (square ? 360 : 432) : (square ? 1000 : 1200);
  // Levels and text hold less than a page: shorter by default.
  const bool short_view = views.size() == 1 && views[0]->shape == FigureKind::Shape::short_wide;
  const double height = req.size.height > 0 ? req.size.height : vector ? (short_view ? 216 : 324) : (short_view ? 600 : 900);
  if (!(req.size.dpi >= 18 && req.size.dpi <= 2400)) throw Error("dpi must lie in 18..2400");
  const double scale = vector ? req.size.dpi / 72.0 : 1.0;  // render pixels per unit
  const int W = static_cast<int>(std::lround(width * scale)), H = static_cast<int>(std::lround(height * scale));
  if (width < 32 || height < 32 || W > 32768 || H > 32768)
    throw Error("figure size " + std::to_string(W) + "x" + std::to_string(H) + " pixels out of range (32 units a side at least)");
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &max_size);
  GLint max_tex = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_tex);
  max_size = std::min(max_size, max_tex);
  if (W > max_size || H > max_size)
    throw Error("figure of " + std::to_string(W) + "x" + std::to_string(H) + " pixels exceeds this GL's limit of " + std::to_string(max_size) +
                " a side: lower --width/--height" + (vector ? " or --dpi" : ""));
  const double font_units = req.size.font > 0 ? req.size.font : vector ? 8.0 : std::max(13.0, std::round(std::min(width, height) / 64));
  const float f = static_cast<float>(font_units * scale);

  // Where the files go: one view to --out, several into the folder --out (named by view).
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  if (views.size() == 1 && !req.skip_unavailable && !fs::is_directory(req.out, ec)) {
    paths.push_back(req.out);
  } else {
    if (!fs::is_directory(req.out, ec) && !fs::create_directories(req.out, ec))
      throw Error("cannot create folder " + shown_path(req.out) + (ec ? ": " + ec.message() : ""));
    for (const FigureKind* v : views)
      paths.push_back((fs::path(req.out) / (std::string(v->name) + "." + figure_format_name(req.format))).string());
  }
  for (const std::string& p : paths) {
    const fs::path dir = fs::path(p).parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec)) throw Error("cannot write " + shown_path(p) + ": folder " + shown_path(dir.string()) + " does not exist");
  }

  // Render everything before writing anything: a view the model lacks writes no file. The
  // export's own shaders and textures live in the caller's context (the window's) for this call
  // only: the caller's GL state is restored after they are deleted (the scope outlives `ctx`).
  clear_stale_gl_errors("a figure export");
  const GlStateScope callers_state;
  RenderContext ctx;
  std::vector<std::string> documents;
  for (const FigureKind* v : views) {
    RenderedFigure fig = render_figure(ctx, src, *v, req.settings, W, H, f, !vector);
    const LabelFont font{f, fig.monospace};
    if (!vector) {
      draw_labels_on_pixels(&fig.rgba, W, H, fig.canvas, font);
      documents.push_back(encode_png(fig.rgba, W, H));
      continue;
    }
    VectorFigure vf;
    vf.width_px = W;
    vf.height_px = H;
    vf.width_pt = width;
    vf.height_pt = height;
    vf.fields = &fig.rgba;
    vf.raster = fig.raster;
    vf.background = kFigureBackground;
    vf.canvas = &fig.canvas;
    vf.font = font;
    vf.title = fig.title;
    documents.push_back(req.format == FigureFormat::svg ? figure_svg(vf) : figure_pdf(vf));
  }
  for (size_t k = 0; k < paths.size(); ++k) write_file_atomically(paths[k], documents[k]);
  return paths;
}

}  // namespace fmalens::render
