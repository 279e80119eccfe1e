// View 4, region maps for image models: the image with the selected patch's attention over it
// (every level together, cells outlined), one small map per level, and the predicted class
// with the top scores.
#pragma once

#include <string>
#include <vector>

#include "fmalens/snapshot.h"
#include "render/band_textures.h"
#include "render/figure_common.h"
#include "render/render_context.h"

namespace fmalens::render {

class FigureCall;

struct RegionFigureLayout {
  PixelRect map;                     // the large map
  std::vector<PixelRect> level_maps; // one per level
  PixelRect scores;                  // class scores
};

struct ClassScore {
  std::string name;
  float probability = 0;
};
// Softmax of the logits, best first, at most `count`.
std::vector<ClassScore> top_classes(const Snapshot& snapshot, int count);

struct RegionFigure {
  int64_t query = 0;
  uint32_t level_mask = 0xFFFFFFFFu;
  ColourScale colours;
  float opacity = 0.7f;
  std::vector<ClassScore> scores;
  float font_px = 13;
};

class RegionRenderer {
 public:
  // Uploads the snapshot's input image ([S, S, channels] in [0, 1]).
  void set_image(const Array& image);
  bool has_image() const { return static_cast<bool>(image_); }

  RegionFigureLayout layout(const PixelRect& rect, int levels, float font_px) const;
  void draw(RenderContext& ctx, const BandTextures& bands, const RegionFigure& figure, const PixelRect& rect, int target_w,
            int target_h, Canvas* canvas) const;
  // One map (all shown levels, or only `level` >= 0) into `rect`.
  void draw_map(RenderContext& ctx, const BandTextures& bands, const RegionFigure& figure, int only_level, const PixelRect& rect,
                int target_h) const;

 private:
  Texture image_;
  int size_ = 0;
};

// The region maps of the selected query patch over the image as a figure.
void regions_view_figure(FigureCall& call);

}  // namespace fmalens::render
