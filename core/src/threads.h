// One place that sets how many threads the math uses.
#pragma once

namespace fmalens {

// LibTorch's intra-op pool and OpenBLAS (when it is the BLAS in use) get `threads` threads
// (0: one per core). Two pools that each take every core fight over them: keep them equal.
// The first call also tells malloc to keep freed large blocks for reuse.
void configure_threads(int threads);

}  // namespace fmalens
