// Images as the vision models take them (shared by inference and training).
#pragma once

#include "torch_pch.h"

namespace fmalens {

// uint8 (b, c, h, w) -> float (b, c, size, size) in [0, 1], bilinear (antialiased when shrinking).
torch::Tensor resize_images(const torch::Tensor& images_u8, int64_t size);

}  // namespace fmalens
