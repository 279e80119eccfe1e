// One place that sets how many threads the math uses.
#pragma once

namespace fmalens {

// LibTorch's intra-op pool and OpenBLAS (when it is the BLAS in use) get `threads` threads
// (0: one per core). Two pools that each take every core fight over them: keep them equal.
// The first call also tells malloc to keep freed memory for reuse (its heap never shrinks).
void configure_threads(int threads);

// Gives the heap's free memory back to the system: for a process that waits between runs
// (the window), after each.
void release_free_memory();

// While alive, OpenBLAS (when it is the BLAS in use) runs every call on the calling thread;
// the previous count comes back at the end. For many small products spread over LibTorch's
// pool: OpenBLAS threads each one over all cores, which on products of a few MFLOP costs
// more than it gains and, with the cores busy, waits on descheduled workers (10-100x).
// Not for use while another thread of the process calls BLAS with its own needs.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_ = 0;  // 0: no OpenBLAS (nothing to restore)
};

}  // namespace fmalens
