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

torch::Tensor image_to_input(const Image& image, int64_t channels, int64_t size) {
  auto px = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels}, torch::kUInt8)
                .to(torch::kFloat) / 255.0;
  torch::Tensor rgb = image.channels <= 2 ? px.narrow(2, 0, 1).repeat({1, 1, 3}) : px.narrow(2, 0, 3);
  if (image.channels == 2 || image.channels == 4) rgb = rgb * px.narrow(2, image.channels - 1, 1);
  torch::Tensor x = channels == 1 ? (rgb * torch::tensor({0.299f, 0.587f, 0.114f})).sum(2, true) : rgb;
  x = x.permute({2, 0, 1}).unsqueeze(0);  // (1, ch, H, W)
  auto u8 = (x * 255.0).round().clamp(0, 255).to(torch::kUInt8);
  return resize_images(u8, size);
}

}  // namespace fmalens
