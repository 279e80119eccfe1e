#include "render/figure_cairo.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "fmalens/config.h"

namespace fmalens::render {
namespace {

struct CairoDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
using CairoPtr = std::unique_ptr<cairo_t, CairoDeleter>;
using SurfacePtr = std::unique_ptr<cairo_surface_t, CairoDeleter>;

void check(cairo_status_t status, const char* what) {
  if (status != CAIRO_STATUS_SUCCESS) throw Error(std::string(what) + ": " + cairo_status_to_string(status));
}

void set_color(cairo_t* cr, const Color& c) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a); }

// ImGui places a label's top edge at `at`; its default font's glyphs fill about 0.8 of a line.
void draw_labels(cairo_t* cr, const Canvas& canvas, const LabelFont& font) {
  cairo_select_font_face(cr, font.monospace ? "DejaVu Sans Mono" : "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, font.font_px * 0.84);
  for (const Label& l : canvas.labels()) {
    if (l.text.empty()) continue;
    cairo_text_extents_t ext;
    cairo_text_extents(cr, l.text.c_str(), &ext);
    double x = l.at.x;
    if (l.align == Label::Align::centre) x -= ext.x_advance * 0.5;
    else if (l.align == Label::Align::right) x -= ext.x_advance;
    set_color(cr, l.color);
    cairo_move_to(cr, x, l.at.y + font.font_px * 0.8);
    cairo_show_text(cr, l.text.c_str());
  }
}

void draw_shapes(cairo_t* cr, const Canvas& canvas) {
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);  // the GL strokes extend half a width past the ends
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
  const std::vector<Shape>& shapes = canvas.shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    set_color(cr, s.color);
    switch (s.kind) {
      case Shape::Kind::fill_rect: {
        // Runs of one-pixel columns of one colour (the levels' strip) become one rectangle:
        // smaller files, and no hairline seams between them in viewers.
        float x1 = s.points[1].x;
        while (i + 1 < shapes.size()) {
          const Shape& n = shapes[i + 1];
          if (n.kind != Shape::Kind::fill_rect || n.points[0].x != x1 || n.points[0].y != s.points[0].y ||
              n.points[1].y != s.points[1].y || std::memcmp(&n.color, &s.color, sizeof(Color)) != 0)
            break;
          x1 = n.points[1].x;
          ++i;
        }
        cairo_rectangle(cr, s.points[0].x, s.points[0].y, x1 - s.points[0].x, s.points[1].y - s.points[0].y);
        cairo_fill(cr);
        break;
      }
      case Shape::Kind::polyline:
        cairo_move_to(cr, s.points[0].x, s.points[0].y);
        for (size_t k = 1; k < s.points.size(); ++k) cairo_line_to(cr, s.points[k].x, s.points[k].y);
        cairo_set_line_width(cr, s.width);
        cairo_stroke(cr);
        break;
      case Shape::Kind::fill_strip: {
        // Upper curve forwards, lower curve backwards: one polygon.
        cairo_move_to(cr, s.points[0].x, s.points[0].y);
        for (size_t k = 2; k < s.points.size(); k += 2) cairo_line_to(cr, s.points[k].x, s.points[k].y);
        for (size_t k = s.points.size() - 1; k < s.points.size(); k -= 2) cairo_line_to(cr, s.points[k].x, s.points[k].y);
        cairo_close_path(cr);
        cairo_fill(cr);
        break;
      }
    }
  }
}

// RGBA8 (opaque) <-> Cairo's ARGB32 (native-endian 32-bit words, premultiplied).
void rgba_to_argb(const uint8_t* src, int width, int height, int src_stride, unsigned char* dst, int dst_stride) {
  for (int y = 0; y < height; ++y) {
    const uint8_t* s = src + static_cast<size_t>(y) * src_stride;
    auto* d = reinterpret_cast<uint32_t*>(dst + static_cast<size_t>(y) * dst_stride);
    for (int x = 0; x < width; ++x, s += 4) d[x] = 0xFF000000u | (uint32_t{s[0]} << 16) | (uint32_t{s[1]} << 8) | s[2];
  }
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void draw_vector(cairo_surface_t* surface, const VectorFigure& f) {
  CairoPtr cr(cairo_create(surface));
  const double sx = f.width_pt / f.width_px, sy = f.height_pt / f.height_px;
  cairo_scale(cr.get(), sx, sy);
  set_color(cr.get(), f.background);
  cairo_paint(cr.get());
  // The heat fields: exact pixels of the render, never smoothed by the viewer.
  for (const PixelRect& r0 : f.raster) {
    PixelRect r = r0;
    r.w = std::min(r.w, f.width_px - r.x);
    r.h = std::min(r.h, f.height_px - r.y);
    if (r.x < 0 || r.y < 0 || r.w <= 0 || r.h <= 0 || !f.fields) continue;
    SurfacePtr image(cairo_image_surface_create(CAIRO_FORMAT_RGB24, r.w, r.h));
    cairo_surface_flush(image.get());
    rgba_to_argb(f.fields->data() + (static_cast<size_t>(r.y) * f.width_px + r.x) * 4, r.w, r.h, f.width_px * 4,
                 cairo_image_surface_get_data(image.get()), cairo_image_surface_get_stride(image.get()));
    cairo_surface_mark_dirty(image.get());
    cairo_save(cr.get());
    cairo_rectangle(cr.get(), r.x, r.y, r.w, r.h);
    cairo_clip(cr.get());
    cairo_set_source_surface(cr.get(), image.get(), r.x, r.y);
    cairo_pattern_set_filter(cairo_get_source(cr.get()), CAIRO_FILTER_NEAREST);
    cairo_paint(cr.get());
    cairo_restore(cr.get());
  }
  if (f.canvas) {
    draw_shapes(cr.get(), *f.canvas);
    draw_labels(cr.get(), *f.canvas, f.font);
  }
  check(cairo_status(cr.get()), "drawing the figure");
  cr.reset();
  cairo_surface_finish(surface);
  check(cairo_surface_status(surface), "writing the figure");
}

}  // namespace

void draw_labels_on_pixels(std::vector<uint8_t>* rgba, int width, int height, const Canvas& canvas, const LabelFont& font) {
  if (canvas.labels().empty()) return;
  SurfacePtr surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  check(cairo_surface_status(surface.get()), "label surface");
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  rgba_to_argb(rgba->data(), width, height, width * 4, data, stride);
  cairo_surface_mark_dirty(surface.get());
  {
    CairoPtr cr(cairo_create(surface.get()));
    draw_labels(cr.get(), canvas, font);
    check(cairo_status(cr.get()), "drawing labels");
  }
  cairo_surface_flush(surface.get());
  for (int y = 0; y < height; ++y) {
    const auto* s = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride);
    uint8_t* d = rgba->data() + static_cast<size_t>(y) * width * 4;
    for (int x = 0; x < width; ++x, d += 4) {
      d[0] = static_cast<uint8_t>(s[x] >> 16);
      d[1] = static_cast<uint8_t>(s[x] >> 8);
      d[2] = static_cast<uint8_t>(s[x]);
      d[3] = 255;
    }
  }
}

std::string figure_svg(const VectorFigure& f) {
  std::string out;
  SurfacePtr surface(cairo_svg_surface_create_for_stream(append_to_string, &out, f.width_pt, f.height_pt));
  check(cairo_surface_status(surface.get()), "SVG surface");
  cairo_svg_surface_set_document_unit(surface.get(), CAIRO_SVG_UNIT_PT);
  draw_vector(surface.get(), f);
  surface.reset();
  return out;
}

std::string figure_pdf(const VectorFigure& f) {
  std::string out;
  SurfacePtr surface(cairo_pdf_surface_create_for_stream(append_to_string, &out, f.width_pt, f.height_pt));
  check(cairo_surface_status(surface.get()), "PDF surface");
  if (!f.title.empty()) cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, f.title.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "FMA Lens (fmalens export)");
  draw_vector(surface.get(), f);
  surface.reset();
  return out;
}

}  // namespace fmalens::render
