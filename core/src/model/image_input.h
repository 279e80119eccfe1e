// Images as the vision models take them (shared by inference and training).
#pragma once

#include "fmalens/image.h"
#include "torch_pch.h"

namespace fmalens {

// uint8 (b, c, h, w) -> float (b, c, size, size) in [0, 1], bilinear (antialiased when shrinking).
torch::Tensor resize_images(const torch::Tensor& images_u8, int64_t size);

// A decoded image as a model with `channels` (1 or 3) channels at `size` x `size` takes it:
// alpha composited over black (Fashion-MNIST's background), colour to gray by luma (or gray
// to colour), resized: float (1, channels, size, size) in [0, 1].
torch::Tensor image_to_input(const Image& image, int64_t channels, int64_t size);

}  // namespace fmalens
