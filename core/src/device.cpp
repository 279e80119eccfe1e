#include "device.h"

#include "fmalens/config.h"
#include "fmalens/quote.h"

#include <torch/version.h>

#if defined(FMALENS_HAVE_CUDA_RUNTIME)
#include <cuda_runtime_api.h>
#endif

namespace fmalens {

torch::Device select_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available()) throw Error("device cuda: this LibTorch has no CUDA device available");
    return torch::kCUDA;
  }
  if (name != "auto") throw Error("device must be auto, cpu or cuda (got " + quote(name) + ")");
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

std::string describe_device(const torch::Device& device) {
  std::string out = device.str();
#if defined(FMALENS_HAVE_CUDA_RUNTIME)
  if (device.is_cuda()) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device.has_index() ? device.index() : 0) == cudaSuccess)
      out += std::string(" (") + prop.name + ")";
  }
#endif
  return out;
}

std::string describe_torch() {
  std::string out = "LibTorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                    std::to_string(TORCH_VERSION_PATCH);
#if defined(FMALENS_HAVE_CUDA_RUNTIME)
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess)
    return out + ", CUDA " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10);
  return out + ", CUDA";
#else
  return out + (torch::cuda::is_available() ? ", CUDA" : ", CPU only");
#endif
}

}  // namespace fmalens
