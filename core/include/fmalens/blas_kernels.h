// OpenBLAS's kernels, chosen for this CPU (torch-free: the BLAS is looked up at run time).
#pragma once

#include <string>

namespace fmalens {

// OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernels by CPU model while it loads,
// before main. A CPU newer than the library knows (Debian 12's 0.3.21 on an Emerald Rapids
// Xeon, model 207) gets its fallback, the SSE3 "Prescott" kernels: every matmul, so training
// and inference, runs 2-3x slower than with the AVX-512 kernels the CPU supports.
// When OpenBLAS is the BLAS in use, it fell back to a pre-AVX2 core, the CPU has AVX2 and FMA
// (or AVX-512), and OPENBLAS_CORETYPE is not set, this sets OPENBLAS_CORETYPE to the widest
// kernels the CPU runs (SkylakeX, else Haswell) and executes the program again with the same
// arguments (the only way: the choice is made at load time). Returns when nothing is to be
// done or the new start is not possible; a user's own OPENBLAS_CORETYPE always wins.
void use_fast_blas_kernels(char** argv);

// The OpenBLAS core in use ("SkylakeX", "Prescott"...), with "(set by OPENBLAS_CORETYPE)" when
// the variable chose it; "" when the BLAS is not OpenBLAS.
std::string blas_kernels_description();

}  // namespace fmalens
