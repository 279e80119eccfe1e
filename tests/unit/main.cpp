// The unit tests' main: gtest's, after choosing OpenBLAS's fast kernels as the program does
// (fmalens/blas_kernels.h), so that the tests that train run at the program's speed.
#include <gtest/gtest.h>

#include "fmalens/blas_kernels.h"

int main(int argc, char** argv) {
  fmalens::use_fast_blas(argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
