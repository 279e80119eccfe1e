// OpenBLAS's kernels, chosen for this CPU (torch-free: the BLAS is looked up at run time).
#pragma once

#include <string>

namespace fmalens {

// OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernels by CPU model while it loads,
// before main. A CPU newer than the library knows (Debian 12's 0.3.21 on an Emerald Rapids
// Xeon, model 207) gets its fallback, the SSE3 "Prescott" kernels: every matmul, so training
// and inference, runs 2-3x slower than with the AVX-512 kernels the CPU supports.
// Debian's OpenBLAS (libopenblas0-pthread) also keeps its own worker threads beside LibTorch's
// OpenMP team, and both spin while idle (OpenBLAS's sched_yield loop for 2^28 cycles, GOMP's
// spin count): on a small machine each team steals the cores the other computes on (perf on a
// 2-core training: about a quarter of the time in sched_yield and GOMP's spin). Sleeping instead
// trains 9-34 % faster there (16,384-byte windows: 12.1 -> 13.2 K bytes/s; 32 x 256: 12.3 -> 16.5 K)
// and evaluates about 20 % faster.
// When OpenBLAS is the BLAS in use this sets, where the user has not:
// - OPENBLAS_CORETYPE to the widest kernels the CPU runs (SkylakeX, else Haswell) when OpenBLAS
//   fell back to a pre-AVX2 core on a CPU with AVX2 and FMA (or AVX-512);
// - OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 when OpenBLAS runs its own pthreads;
// and executes the program again with the same arguments (the only way: both libraries read
// them while they load, before main). Returns when nothing is to be done or the new start is
// not possible; a user's own settings always win.
void use_fast_blas(char** argv);

// The OpenBLAS core in use and its threads ("OpenBLAS SkylakeX, 2 pthreads"), with the variables
// above where set ("(OPENBLAS_CORETYPE=SkylakeX, OMP_WAIT_POLICY=PASSIVE, ...)"); "" when the BLAS
// is not OpenBLAS.
std::string blas_kernels_description();

}  // namespace fmalens
