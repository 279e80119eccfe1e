// Flat 2D shapes and text labels of a view, in target pixels with the origin at the top left:
// axes, bars, curves, outlines, tick labels. A view records them once; the GL renderer draws
// the shapes (render_context.h), the GUI draws the labels with ImGui, and a vector exporter
// can replay the same list (the shapes stay shapes, not triangles).
#pragma once

#include <string>
#include <vector>

namespace fmalens::render {

struct Color {
  float r = 0, g = 0, b = 0, a = 1;
};

struct Point {
  float x = 0, y = 0;
};

struct Shape {
  enum class Kind {
    fill_rect,  // points[0] = top-left, points[1] = bottom-right
    polyline,   // an open line of `width` pixels through the points
    fill_strip  // a band: points alternate upper, lower, upper, lower... (a triangle strip)
  };
  Kind kind = Kind::fill_rect;
  std::vector<Point> points;
  Color color;
  float width = 1;
};

struct Label {
  enum class Align { left, centre, right };
  Point at;  // left, centre or right end of the text's top edge
  std::string text;
  Color color{0.85f, 0.85f, 0.85f, 1};
  Align align = Align::left;
};

class Canvas {
 public:
  void fill_rect(float x, float y, float w, float h, Color c);
  void stroke_rect(float x, float y, float w, float h, Color c, float width = 1);
  void line(float x0, float y0, float x1, float y1, Color c, float width = 1);
  void polyline(std::vector<Point> points, Color c, float width = 1);
  // The band between two curves sampled at the same x.
  void fill_between(const std::vector<float>& x, const std::vector<float>& upper, const std::vector<float>& lower, Color c);
  void label(float x, float y, std::string text, Color c, Label::Align align = Label::Align::left);

  const std::vector<Shape>& shapes() const { return shapes_; }
  const std::vector<Label>& labels() const { return labels_; }
  bool empty() const { return shapes_.empty() && labels_.empty(); }
  void clear() {
    shapes_.clear();
    labels_.clear();
  }
  // Adds `other`'s shapes and labels after these (drawn above them).
  void append(const Canvas& other) {
    shapes_.insert(shapes_.end(), other.shapes_.begin(), other.shapes_.end());
    labels_.insert(labels_.end(), other.labels_.begin(), other.labels_.end());
  }

  // Triangles of every shape: x, y, r, g, b, a per vertex (for the GL renderer).
  std::vector<float> triangles() const;

 private:
  std::vector<Shape> shapes_;
  std::vector<Label> labels_;
};

}  // namespace fmalens::render
