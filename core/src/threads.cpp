#include "threads.h"

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <thread>

#include "torch_pch.h"

namespace fmalens {

void configure_threads(int threads) {
  // glibc returns big freed blocks (every band and workspace tensor is one) to the kernel at
  // once, so each call faults fresh pages in again: at n = 16384 that cost more than the math.
  // Serve blocks up to 1 GiB from the heap and keep up to 1 GiB of freed memory for reuse.
  static const bool allocator_configured = [] {
    ::mallopt(M_MMAP_THRESHOLD, 1 << 30);
    ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)allocator_configured;
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  // OpenBLAS is not linked directly (LibTorch brings whatever BLAS it was built with).
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
}

}  // namespace fmalens
