// One place that turns the user's device choice into a LibTorch device (every front end
// passes a name down; modules never pick a device themselves).
#pragma once

#include <string>

#include "torch_pch.h"

namespace fmalens {

// "cpu", "cuda", or "auto" (CUDA when this LibTorch has a CUDA device, else the CPU). Throws
// Error for another name, or for "cuda" without a CUDA device.
torch::Device select_device(const std::string& name);

// The device in words for headers and menus: "cpu" or "cuda:0 (NVIDIA H200)".
std::string describe_device(const torch::Device& device);

// This LibTorch in words for headers: "LibTorch 2.11.0, CUDA 13.0" (the CUDA runtime's
// version in builds that link it), or "LibTorch 1.13.0, CPU only".
std::string describe_torch();

}  // namespace fmalens
