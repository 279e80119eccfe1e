// View 6's figure: the training loss curve from a checkpoint's metadata ("loss_curve":
// [{"step", "time", "train", "val"?, "lr", "seq_len"?}], written by fmalens train). The
// panel's tables (config, levels, parameters) are text and live in the GUI.
#pragma once

#include <string>
#include <vector>

#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct LossCurve {
  std::vector<double> step, train;
  std::vector<double> val_step, val;
  bool empty() const { return step.empty() && val_step.empty(); }
};

// Reads the loss curve out of ModelInfo::training_json; empty when there is none.
LossCurve parse_loss_curve(const std::string& training_json);

void draw_loss_curve(RenderContext& ctx, const LossCurve& curve, const PixelRect& rect, int target_w, int target_h, float font_px,
                     Canvas* canvas);

// The model's training loss curve as a figure.
void model_view_figure(FigureCall& call);

}  // namespace fmalens::render
