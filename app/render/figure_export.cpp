#include "render/figure_export.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "fmalens/checkpoint.h"
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

constexpr const char* kViewNames[kFigureViewCount] = {"matrix", "levels", "weights", "regions", "text", "compare", "model"};

// Room the colorbar of the views that follow the matrix's colours takes at the right.
float side_colorbar_width(float f) { return f * 6.4f; }

bool has_side_colorbar(FigureView v) { return v == FigureView::levels || v == FigureView::text || v == FigureView::regions; }

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
  if (q >= 0 && q < static_cast<int64_t>(s.text.size()))
    out += " '" + byte_label(static_cast<unsigned char>(s.text[static_cast<size_t>(q)])) + "'";
  return out;
}

std::string auto_title(const FigureSource& src, FigureView view, const FigureSettings& st, int64_t query, int weights_level) {
  const Snapshot& s = *src.snapshot;
  std::string t = src.model_name.empty() ? std::string("model") : src.model_name;
  if (view == FigureView::model) return t + ": training loss";
  t += ", layer " + std::to_string(st.layer);
  if (view == FigureView::weights) return t + " (all heads), level " + std::to_string(weights_level) + ": learned downsampling";
  t += ", " + head_text(st.head);
  if (view == FigureView::levels || view == FigureView::text || view == FigureView::regions) t += ", " + query_text(s, query);
  if (view == FigureView::compare) return t + ": FMA against exact attention";
  t += st.level >= 0 ? ", level " + std::to_string(st.level) : ", all levels";
  return t;
}

ColourScale colour_scale(const FigureSettings& st, const BandTextures& textures) {
  ColourScale c;
  c.colormap = st.colormap;
  c.log_scale = st.log_scale;
  MatrixView view;
  view.decades = st.decades;
  matrix_color_range(view, textures, &c.lo, &c.hi);
  return c;
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

void require_bands(const Snapshot& s, FigureView view) {
  if (s.layers.empty() || s.layers[0].bands.empty())
    throw Error(std::string("view '") + kViewNames[static_cast<int>(view)] + "' needs an FMA model (this one has dense attention)");
}

}  // namespace

const char* figure_view_name(FigureView v) { return kViewNames[static_cast<int>(v)]; }

std::vector<FigureView> parse_figure_views(const std::string& list) {
  std::vector<FigureView> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    if (name == "all") {
      for (int v = 0; v < kFigureViewCount; ++v) out.push_back(static_cast<FigureView>(v));
      continue;
    }
    bool found = false;
    for (int v = 0; v < kFigureViewCount; ++v)
      if (name == kViewNames[v]) {
        out.push_back(static_cast<FigureView>(v));
        found = true;
      }
    if (!found) throw Error("unknown view " + quote(name) + " (views: matrix, levels, weights, regions, text, compare, model, all)");
  }
  if (out.empty()) throw Error("no view given (views: matrix, levels, weights, regions, text, compare, model, all)");
  std::vector<FigureView> unique;
  for (FigureView v : out)
    if (std::find(unique.begin(), unique.end(), v) == unique.end()) unique.push_back(v);
  return unique;
}

bool figure_view_available(const Snapshot& s, FigureView v) {
  const bool fma = !s.layers.empty() && !s.layers[0].bands.empty();
  switch (v) {
    case FigureView::matrix:
    case FigureView::levels: return fma;
    case FigureView::weights: return fma && !s.downsampling.empty() && !s.downsampling[0].empty();
    case FigureView::regions: return fma && s.config.kind == ModelKind::image && !s.image.empty();
    case FigureView::text: return fma && s.config.kind == ModelKind::text;
    case FigureView::compare: return fma && !s.layers[0].q.empty();
    case FigureView::model: return true;
  }
  return false;
}

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

RenderedFigure render_figure(RenderContext& ctx, const FigureSource& src, FigureView view, const FigureSettings& st, int W, int H,
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
  if (st.level >= 0 && view != FigureView::weights) {
    if (st.level >= 16) throw Error("level " + std::to_string(st.level) + " out of range");
    mask = 1u << st.level;
  }
  int weights_level = st.level >= 1 ? st.level : 1;

  OffscreenTarget target;
  target.resize(W, H);
  GLint old_fb = 0, viewport[4];
  glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &old_fb);
  glGetIntegerv(GL_VIEWPORT, viewport);
  target.bind();
  glClearColor(kFigureBackground.r, kFigureBackground.g, kFigureBackground.b, 1);
  glClear(GL_COLOR_BUFFER_BIT);
  ctx.set_canvas_enabled(with_shapes);

  PixelRect body = figure_body(W, H, f, st);
  if (has_side_colorbar(view) && st.colorbar) body.w = std::max(1, body.w - static_cast<int>(side_colorbar_width(f)));
  out.body = body;
  Canvas& canvas = out.canvas;

  BandTextures textures;
  BandData bands;
  auto upload_bands = [&] {
    require_bands(s, view);
    bands = make_band_data(s, st.layer, st.head);
    textures.upload(bands);
  };
  try {
    switch (view) {
      case FigureView::matrix: {
        upload_bands();
        MatrixFigure fig;
        fig.font_px = f;
        fig.colorbar = st.colorbar;
        fig.text = s.config.kind == ModelKind::text ? &s.text : nullptr;
        fig.grid_side = s.attention.grid_side;
        MatrixFigureLayout lay = matrix_figure_layout(body, f, st.colorbar);
        MatrixView v;
        if (st.fit) {
          // The whole matrix is square: the figure shrinks to it (centred), leaving no empty frame.
          v = MatrixView::fit(s.tokens, lay.matrix.w, lay.matrix.h);
          const int side = static_cast<int>(std::ceil(static_cast<double>(s.tokens) / v.cells_per_pixel - 1e-6));
          const int extra_w = lay.matrix.w - side, extra_h = lay.matrix.h - side;
          if (extra_w > 0) {
            body.x += extra_w / 2;
            body.w -= extra_w;
          }
          if (extra_h > 0) body.h -= extra_h;
          out.body = body;
          lay = matrix_figure_layout(body, f, st.colorbar);
          v = MatrixView::fit(s.tokens, lay.matrix.w, lay.matrix.h);
        } else {
          v.t0 = st.t0;
          v.i0 = st.i0;
          v.cells_per_pixel = st.cells_per_pixel;
          v = v.clamped(s.tokens, lay.matrix.w, lay.matrix.h);
        }
        static_cast<MatrixStyle&>(v) = st;
        v.level_mask = mask;
        if (st.query >= 0) {
          int64_t row = st.query;
          if (s.attention.variant == Variant::grid2d && st.z_order) row = Layout::morton(row / s.attention.grid_side, row % s.attention.grid_side);
          v.selected_row = row;
        }
        fig.view = v;
        MatrixRenderer renderer;
        draw_matrix_figure(ctx, renderer, textures, fig, body, W, H, 0, &canvas);
        out.raster.push_back(lay.matrix);
        if (st.colorbar) out.raster.push_back(lay.colorbar);
        break;
      }
      case FigureView::levels: {
        upload_bands();
        const Layout layout(s.attention);
        LevelsFigure fig;
        implied_row(bands, layout, query, &fig.row, &fig.row_levels);
        fig.mass = row_level_mass(s, st.layer, st.head, query);
        fig.names = level_names(layout);
        fig.query = query;
        fig.level_mask = mask;
        fig.colours = colour_scale(st, textures);
        fig.font_px = f;
        draw_levels_figure(ctx, fig, body, W, H, &canvas);
        if (st.colorbar) {
          Canvas bar;
          draw_side_colorbar(ctx, fig.colours, body, W, H, f, &bar, &out.raster);
          canvas.append(bar);
        }
        break;
      }
      case FigureView::weights: {
        if (static_cast<size_t>(st.layer) >= s.downsampling.size() || s.downsampling[static_cast<size_t>(st.layer)].empty())
          throw Error("view 'weights' needs an FMA model with learned downsampling (this one has none)");
        const auto& levels = s.downsampling[static_cast<size_t>(st.layer)];
        if (weights_level > static_cast<int>(levels.size()))
          throw Error("level " + std::to_string(weights_level) + " out of range (the model has coarse levels 1.." +
                      std::to_string(levels.size()) + ")");
        WeightsFigure fig;
        fig.set(levels[static_cast<size_t>(weights_level - 1)], weights_level);
        fig.draw(ctx, body, W, H, f, &canvas);
        const WeightsFigureLayout lay = fig.layout(body, f);
        out.raster.push_back(lay.heatmap[0]);
        out.raster.push_back(lay.heatmap[1]);
        break;
      }
      case FigureView::regions: {
        if (s.config.kind != ModelKind::image || s.image.empty()) throw Error("view 'regions' needs an image model and an image");
        upload_bands();
        RegionRenderer regions;
        regions.set_image(s.image);
        RegionFigure fig;
        fig.query = query;
        fig.level_mask = mask;
        fig.colours = colour_scale(st, textures);
        fig.opacity = st.overlay_opacity;
        fig.scores = top_classes(s, 5);
        fig.font_px = f;
        regions.draw(ctx, textures, fig, body, W, H, &canvas);
        const RegionFigureLayout lay = regions.layout(body, textures.levels(), f);
        out.raster.push_back(lay.map);
        for (const PixelRect& r : lay.level_maps) out.raster.push_back(r);
        if (st.colorbar) {
          Canvas bar;
          draw_side_colorbar(ctx, fig.colours, body, W, H, f, &bar, &out.raster);
          canvas.append(bar);
        }
        break;
      }
      case FigureView::text: {
        if (s.config.kind != ModelKind::text) throw Error("view 'text' needs a text model");
        upload_bands();
        const Layout layout(s.attention);
        TextFigure fig;
        fig.text = &s.text;
        implied_row(bands, layout, query, &fig.row, &fig.row_levels);
        fig.query = query;
        fig.predictions = next_bytes(s, query, 5);
        fig.colours = colour_scale(st, textures);
        fig.font_px = f;
        fig.cell_w = std::round(f * 0.54f);  // DejaVu Sans Mono's advance at the labels' size, and a little
        fig.cell_h = std::round(f * 1.35f) + 3;
        const int columns = std::max(8, static_cast<int>(static_cast<float>(body.w) / fig.cell_w) - 1);
        const TextLayout tl = layout_text(s.text, columns);
        // Longer texts than the figure holds: the lines around the query.
        const int64_t fits = std::max<int64_t>(1, static_cast<int64_t>((static_cast<float>(body.h) - text_header_height(fig)) / fig.cell_h));
        const int64_t lines = static_cast<int64_t>(tl.line_start.size());
        if (lines > fits) fig.first_line = std::clamp<int64_t>(tl.line_of(query) - fits / 2, 0, lines - fits);
        draw_text_figure(ctx, fig, tl, body, W, H, &canvas);
        out.monospace = true;
        if (st.colorbar) {
          Canvas bar;
          draw_side_colorbar(ctx, fig.colours, body, W, H, f, &bar, &out.raster);
          canvas.append(bar);
        }
        break;
      }
      case FigureView::compare: {
        if (s.layers.empty() || s.layers[0].q.empty()) throw Error("view 'compare' needs a run that captured queries and keys");
        CompareFigure fig;
        PixelRect boxes[3];
        fig.layout(body, f, boxes);
        const int columns = std::max(16, boxes[0].w);
        fig.set(compute_compare(s, st.layer, st.head, spread_rows(0, s.tokens, 32), 0, s.tokens, columns));
        fig.draw(ctx, st.colormap, st.log_scale, st.decades, body, W, H, f, &canvas);
        fig.layout(body, f, boxes);
        for (const PixelRect& b : boxes) out.raster.push_back(b);
        break;
      }
      case FigureView::model: {
        const LossCurve curve = src.model ? parse_loss_curve(src.model->training_json) : LossCurve{};
        draw_loss_curve(ctx, curve, body, W, H, f, &canvas);
        break;
      }
    }
  } catch (...) {
    ctx.set_canvas_enabled(true);
    glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(old_fb));
    glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
    throw;
  }
  ctx.set_canvas_enabled(true);
  out.title = st.title.empty() ? auto_title(src, view, st, query, weights_level) : st.title;
  if (st.show_title) {
    const PixelRect top = figure_body(W, H, f, st);
    canvas.label(static_cast<float>(top.x), static_cast<float>(top.y) - f * 1.7f, out.title, kTextColor);
  }
  glFinish();
  out.rgba = target.read_rgba8();
  glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(old_fb));
  glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
  check_gl("render_figure");
  return out;
}

std::vector<std::string> export_figures(const FigureSource& src, const ExportRequest& req) {
  if (!src.snapshot) throw Error("nothing to export: no run yet");
  std::vector<FigureView> views;
  for (FigureView v : req.views)
    if (!req.skip_unavailable || figure_view_available(*src.snapshot, v)) views.push_back(v);
  if (views.empty()) throw Error("no view to export");
  if (req.out.empty()) throw Error("no output path given (--out)");
  const bool vector = req.format != FigureFormat::png;
  // The matrix is square: its default figure is narrower than the others.
  const bool square = views.size() == 1 && views[0] == FigureView::matrix;
  const double width = req.size.width > 0 ? req.size.width : vector ? (square ? 360 : 432) : (square ? 1000 : 1200);
  // Levels and text hold less than a page: shorter by default.
  const bool short_view = views.size() == 1 && (views[0] == FigureView::levels || views[0] == FigureView::text);
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
    for (FigureView v : views)
      paths.push_back((fs::path(req.out) / (std::string(figure_view_name(v)) + "." + figure_format_name(req.format))).string());
  }
  for (const std::string& p : paths) {
    const fs::path dir = fs::path(p).parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec)) throw Error("cannot write " + shown_path(p) + ": folder " + shown_path(dir.string()) + " does not exist");
  }

  // Render everything before writing anything: a view the model lacks writes no file.
  RenderContext ctx;
  std::vector<std::string> documents;
  for (FigureView v : views) {
    RenderedFigure fig = render_figure(ctx, src, v, req.settings, W, H, f, !vector);
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
