// The FMA band kernel built for AVX-512 (compiled with -mavx512f -mavx512vl -mavx512dq -mfma).
#define FMALENS_KERNEL_NS avx512
#define FMALENS_KERNEL_NAME "avx512"
#define FMALENS_VW 16
#define FMALENS_MR 8
#define FMALENS_NV 2
#include "base/fma/kernel_impl.h"
