#include "model/image_input.h"

namespace fmalens {

torch::Tensor resize_images(const torch::Tensor& images_u8, int64_t size) {
  auto x = images_u8.to(torch::kFloat) / 255.0;
  if (x.size(2) == size && x.size(3) == size) return x;
  namespace F = torch::nn::functional;
  const bool shrink = x.size(2) > size || x.size(3) > size;
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
  if (shrink) opts.mode(torch::kArea);
  else opts.mode(torch::kBilinear).align_corners(false);
  return F::interpolate(x, opts).clamp(0.0, 1.0);
}

}  // namespace fmalens
