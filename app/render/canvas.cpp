#include "render/canvas.h"

#include <cmath>

namespace fmalens::render {
namespace {

void vertex(std::vector<float>* out, Point p, Color c) { out->insert(out->end(), {p.x, p.y, c.r, c.g, c.b, c.a}); }

void quad(std::vector<float>* out, Point a, Point b, Point c, Point d, Color col) {
  vertex(out, a, col);
  vertex(out, b, col);
  vertex(out, c, col);
  vertex(out, a, col);
  vertex(out, c, col);
  vertex(out, d, col);
}

}  // namespace

void Canvas::fill_rect(float x, float y, float w, float h, Color c) {
  shapes_.push_back({Shape::Kind::fill_rect, {{x, y}, {x + w, y + h}}, c, 0});
}

void Canvas::stroke_rect(float x, float y, float w, float h, Color c, float width) {
  polyline({{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}, {x, y}}, c, width);
}

void Canvas::line(float x0, float y0, float x1, float y1, Color c, float width) { polyline({{x0, y0}, {x1, y1}}, c, width); }

void Canvas::polyline(std::vector<Point> points, Color c, float width) {
  if (points.size() >= 2) shapes_.push_back({Shape::Kind::polyline, std::move(points), c, width});
}

void Canvas::fill_between(const std::vector<float>& x, const std::vector<float>& upper, const std::vector<float>& lower, Color c) {
  Shape s{Shape::Kind::fill_strip, {}, c, 0};
  for (size_t k = 0; k < x.size() && k < upper.size() && k < lower.size(); ++k) {
    s.points.push_back({x[k], upper[k]});
    s.points.push_back({x[k], lower[k]});
  }
  if (s.points.size() >= 4) shapes_.push_back(std::move(s));
}

void Canvas::label(float x, float y, std::string text, Color c, Label::Align align) {
  labels_.push_back({{x, y}, std::move(text), c, align});
}

std::vector<float> Canvas::triangles() const {
  std::vector<float> out;
  for (const Shape& s : shapes_) {
    switch (s.kind) {
      case Shape::Kind::fill_rect: {
        const Point a = s.points[0], b = s.points[1];
        quad(&out, a, {b.x, a.y}, b, {a.x, b.y}, s.color);
        break;
      }
      case Shape::Kind::polyline:
        // Each segment a rectangle `width` wide; axis-aligned segments keep crisp pixel edges.
        for (size_t k = 0; k + 1 < s.points.size(); ++k) {
          const Point a = s.points[k], b = s.points[k + 1];
          const float dx = b.x - a.x, dy = b.y - a.y, len = std::sqrt(dx * dx + dy * dy);
          if (len <= 0) continue;
          const float h = s.width * 0.5f, nx = -dy / len * h, ny = dx / len * h;
          // Extend along the segment by half a width so that corners close.
          const float ex = dx / len * h, ey = dy / len * h;
          quad(&out, {a.x + nx - ex, a.y + ny - ey}, {b.x + nx + ex, b.y + ny + ey}, {b.x - nx + ex, b.y - ny + ey},
               {a.x - nx - ex, a.y - ny - ey}, s.color);
        }
        break;
      case Shape::Kind::fill_strip:
        for (size_t k = 0; k + 3 < s.points.size(); k += 2)
          quad(&out, s.points[k], s.points[k + 2], s.points[k + 3], s.points[k + 1], s.color);
        break;
    }
  }
  return out;
}

}  // namespace fmalens::render
