#include "threads.h"

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <thread>

#include "torch_pch.h"

namespace fmalens {

namespace {

// OpenBLAS is not linked directly (LibTorch brings whatever BLAS it was built with).
using SetThreads = void (*)(int);
using GetThreads = int (*)();

SetThreads openblas_set_threads() {
  static const auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return set;
}

GetThreads openblas_get_threads() {
  static const auto get = reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get;
}

}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  if (openblas_set_threads() == nullptr || openblas_get_threads() == nullptr) return;
  previous_ = openblas_get_threads()();
  if (previous_ > 1) openblas_set_threads()(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (previous_ > 1) openblas_set_threads()(previous_);
}

void configure_threads(int threads) {
  // glibc returns big freed blocks (every band and workspace tensor is one) to the kernel at
  // once, so each call faults fresh pages in again: at n = 16384 that cost more than the math.
  // Serve blocks up to 1 GiB from the heap and never shrink it while computing (a trim
  // threshold does not keep that much: once the free top of the heap passes it, all of it goes
  // back, which a training step freeing 3 GB, dense attention at 4,096, did every step; pages
  // fault in here at about 3 s per GB). Whoever idles between runs gives it back:
  // release_free_memory().
  static const bool allocator_configured = [] {
    ::mallopt(M_MMAP_THRESHOLD, 1 << 30);
    ::mallopt(M_TRIM_THRESHOLD, -1);
    return true;
  }();
  (void)allocator_configured;
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  if (auto set = openblas_set_threads()) set(n);
}

void release_free_memory() { ::malloc_trim(0); }

}  // namespace fmalens
