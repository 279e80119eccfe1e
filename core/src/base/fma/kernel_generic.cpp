// The FMA band kernel for any x86-64 (SSE2) or other CPU: the fallback.
#define FMALENS_KERNEL_NS generic
#define FMALENS_KERNEL_NAME "generic"
#define FMALENS_VW 4
#define FMALENS_MR 4
#define FMALENS_NV 2
#include "base/fma/kernel_impl.h"
