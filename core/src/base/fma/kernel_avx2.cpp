// The FMA band kernel built for AVX2 + FMA (compiled with -mavx2 -mfma).
#define FMALENS_KERNEL_NS avx2
#define FMALENS_KERNEL_NAME "avx2"
#define FMALENS_VW 8
#define FMALENS_MR 6
#define FMALENS_NV 2
#include "base/fma/kernel_impl.h"
