#include "fmalens/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace fmalens {
namespace {

using CoreName = char* (*)();

// OpenBLAS's name of the kernels it chose, or nullptr when OpenBLAS is not loaded.
const char* openblas_core() {
  auto get = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return get ? get() : nullptr;
}

// OpenBLAS's cores from before AVX2 and FMA: what it falls back to on a CPU it does not know.
bool is_pre_avx2_core(const char* name) {
  static const char* const kOld[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Atom",
                                     "Katmai",   "Coppermine", "Northwood", "Banias", "Barcelona", "Opteron", "Bobcat"};
  for (const char* old : kOld)
    if (::strcasecmp(name, old) == 0) return true;
  return false;
}

// The widest OpenBLAS kernels this CPU runs, or nullptr.
const char* widest_core_for_this_cpu() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

}  // namespace

void use_fast_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or our own second start
  const char* core = openblas_core();
  if (core == nullptr || !is_pre_avx2_core(core)) return;
  const char* wider = widest_core_for_this_cpu();
  if (wider == nullptr) return;
  ::setenv("OPENBLAS_CORETYPE", wider, 1);
  // The same program and arguments; on failure we go on with the slow kernels (the variable
  // stays set, so children would get the fast ones).
  ::execv("/proc/self/exe", argv);
}

std::string blas_kernels_description() {
  const char* core = openblas_core();
  if (core == nullptr) return "";
  std::string d = std::string("OpenBLAS ") + core;
  if (const char* chosen = std::getenv("OPENBLAS_CORETYPE")) d += std::string(" (OPENBLAS_CORETYPE=") + chosen + ")";
  return d;
}

}  // namespace fmalens
