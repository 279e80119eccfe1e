// Picks the best build of the FMA band kernel for this CPU (FMALENS_KERNEL overrides).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "base/fma/kernel.h"

namespace fmalens::kernel {
namespace {

bool supported(const Ops& ops) {
#if defined(__x86_64__) || defined(__i386__)
  if (&ops == &avx512::ops)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (&ops == &avx2::ops) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  if (&ops != &generic::ops) return false;
#endif
  return true;
}

}  // namespace

const Ops* ops_by_name(const char* name) {
  for (const Ops* o : {&avx512::ops, &avx2::ops, &generic::ops})
    if (std::strcmp(o->name, name) == 0) return supported(*o) ? o : nullptr;
  return nullptr;
}

namespace {
std::atomic<const Ops*> forced{nullptr};
}  // namespace

void force_ops(const Ops* ops) { forced.store(ops); }

const Ops& best_ops() {
  if (const Ops* f = forced.load()) return *f;
  static const Ops* chosen = [] {
    if (const char* forced = std::getenv("FMALENS_KERNEL"))
      if (const Ops* o = ops_by_name(forced)) return o;
    for (const Ops* o : {&avx512::ops, &avx2::ops})
      if (supported(*o)) return o;
    return &generic::ops;
  }();
  return *chosen;
}

}  // namespace fmalens::kernel
