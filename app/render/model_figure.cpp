#include "render/model_figure.h"

#include "render/figure_call.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "render/figure_common.h"

namespace fmalens::render {

LossCurve parse_loss_curve(const std::string& training_json) {
  LossCurve c;
  const nlohmann::json j = nlohmann::json::parse(training_json, nullptr, false);
  if (!j.is_object() || !j.contains("loss_curve") || !j["loss_curve"].is_array()) return c;
  for (const auto& p : j["loss_curve"]) {
    if (!p.is_object() || !p.contains("step") || !p["step"].is_number()) continue;
    const double step = p["step"].get<double>();
    if (p.contains("train") && p["train"].is_number()) {
      c.step.push_back(step);
      c.train.push_back(p["train"].get<double>());
    }
    if (p.contains("val") && p["val"].is_number()) {
      c.val_step.push_back(step);
      c.val.push_back(p["val"].get<double>());
    }
  }
  return c;
}

void draw_loss_curve(RenderContext& ctx, const LossCurve& c, const PixelRect& r, int target_w, int target_h, float f, Canvas* canvas) {
  const PixelRect plot{r.x + static_cast<int>(f * 4), r.y + static_cast<int>(f * 1.6f), std::max(1, r.w - static_cast<int>(f * 5)),
                       std::max(1, r.h - static_cast<int>(f * 4.2f))};
  canvas->label(static_cast<float>(r.x), static_cast<float>(r.y), "training loss (nats)", kTextColor);
  canvas->stroke_rect(static_cast<float>(plot.x) - 0.5f, static_cast<float>(plot.y) - 0.5f, static_cast<float>(plot.w) + 1,
                      static_cast<float>(plot.h) + 1, kAxisColor);
  if (c.empty()) {
    canvas->label(static_cast<float>(plot.x) + f, static_cast<float>(plot.y) + f, "this checkpoint has no training metadata",
                  kDimTextColor);
    ctx.draw_canvas(*canvas, target_w, target_h);
    return;
  }
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  auto extend = [&](const std::vector<double>& xs, const std::vector<double>& ys) {
    for (size_t k = 0; k < xs.size(); ++k) {
      x0 = std::min(x0, xs[k]);
      x1 = std::max(x1, xs[k]);
      y0 = std::min(y0, ys[k]);
      y1 = std::max(y1, ys[k]);
    }
  };
  extend(c.step, c.train);
  extend(c.val_step, c.val);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const double pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  auto px = [&](double x) { return static_cast<float>(plot.x + (x - x0) / (x1 - x0) * plot.w); };
  auto py = [&](double y) { return static_cast<float>(plot.y + plot.h - (y - y0) / (y1 - y0) * plot.h); };
  for (double y : nice_ticks(y0, y1, std::max(2, plot.h / static_cast<int>(f * 2.5f)))) {
    canvas->line(static_cast<float>(plot.x), py(y), static_cast<float>(plot.x + plot.w), py(y), {0.3f, 0.3f, 0.32f, 0.5f});
    canvas->label(static_cast<float>(plot.x) - f * 0.4f, py(y) - f * 0.5f, format_number(y), kDimTextColor, Label::Align::right);
  }
  for (double x : nice_ticks(x0, x1, std::max(2, plot.w / static_cast<int>(f * 6))))
    canvas->label(px(x), static_cast<float>(plot.y + plot.h) + f * 0.3f, format_number(x), kDimTextColor, Label::Align::centre);
  canvas->label(static_cast<float>(plot.x + plot.w), static_cast<float>(plot.y + plot.h) + f * 1.3f, "step", kDimTextColor,
                Label::Align::right);
  std::vector<Point> train, val;
  for (size_t k = 0; k < c.step.size(); ++k) train.push_back({px(c.step[k]), py(c.train[k])});
  for (size_t k = 0; k < c.val_step.size(); ++k) val.push_back({px(c.val_step[k]), py(c.val[k])});
  const Color train_color{0.35f, 0.70f, 0.98f, 1}, val_color{0.98f, 0.55f, 0.24f, 1};
  canvas->polyline(train, train_color, 1.5f);
  canvas->polyline(val, val_color, 1.5f);
  for (const Point& p : val) canvas->fill_rect(p.x - 2, p.y - 2, 4, 4, val_color);
  canvas->label(static_cast<float>(plot.x + plot.w) - f * 12, static_cast<float>(plot.y) + f * 0.3f, "train (smoothed)", train_color);
  if (!val.empty()) canvas->label(static_cast<float>(plot.x + plot.w) - f * 12, static_cast<float>(plot.y) + f * 1.4f, "validation", val_color);
  ctx.draw_canvas(*canvas, target_w, target_h);
}

void model_view_figure(FigureCall& c) {
  [[maybe_unused]] auto [s, st, f, W, H, body, canvas] = c.parts();
  const LossCurve curve = c.source.model ? parse_loss_curve(c.source.model->training_json) : LossCurve{};
  draw_loss_curve(c.ctx, curve, body, W, H, f, &canvas);
}

}  // namespace fmalens::render
