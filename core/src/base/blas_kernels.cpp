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

using IntQuery = int (*)();

// openblas_get_parallel(): 0 single-threaded, 1 its own pthreads, 2 OpenMP; -1 when unknown.
int openblas_parallel_mode() {
  auto get = reinterpret_cast<IntQuery>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  return get ? get() : -1;
}

int openblas_threads() {
  auto get = reinterpret_cast<IntQuery>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 1;
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

void use_fast_blas(char** argv) {
  const char* core = openblas_core();
  if (core == nullptr) return;  // not OpenBLAS: nothing known to tune
  bool again = false;
  // The user's OPENBLAS_CORETYPE (or our own first start's) always wins.
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && is_pre_avx2_core(core))
    if (const char* wider = widest_core_for_this_cpu()) {
      ::setenv("OPENBLAS_CORETYPE", wider, 1);
      again = true;
    }
  // Two thread teams that spin while idle: OpenBLAS's pthreads and LibTorch's OpenMP team.
  if (openblas_parallel_mode() == 1 && openblas_threads() > 1) {
    if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
      ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
      again = true;
    }
    if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) {
      ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);  // 2^4 cycles of spinning, then sleep
      again = true;
    }
  }
  // The same program and arguments; on failure we go on as we are (the variables stay set,
  // so children start right).
  if (again) ::execv("/proc/self/exe", argv);
}

std::string blas_kernels_description() {
  const char* core = openblas_core();
  if (core == nullptr) return "";
  std::string d = std::string("OpenBLAS ") + core;
  const int mode = openblas_parallel_mode();
  if (mode == 1) {
    const int threads = openblas_threads();
    d += threads == 1 ? ", 1 thread" : ", " + std::to_string(threads) + " pthreads";
  }
  if (mode == 2) d += ", OpenMP";
  std::string set;
  for (const char* name : {"OPENBLAS_CORETYPE", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT"})
    if (const char* value = std::getenv(name)) set += (set.empty() ? "" : ", ") + std::string(name) + "=" + value;
  return set.empty() ? d : d + " (" + set + ")";
}

}  // namespace fmalens
