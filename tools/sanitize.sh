#!/usr/bin/env bash
# Builds the torch-free base (fmalens_base: formats, configs, layout, images, atomic files) and
# its unit tests (fmalens_base_tests) with AddressSanitizer + UndefinedBehaviorSanitizer in
# their own folder, and runs the tests: any sanitizer report fails them. (The LibTorch-linked
# unit tests are not rebuilt this way: LibTorch is not instrumented and a second build of the
# core costs more than CI's budget.)
#
# Usage: tools/sanitize.sh [gtest filter]
# Environment: SANITIZE_BUILD build folder (default build-asan), SANITIZE_CXX compiler (default
# c++; clang++-14 works too).
# Exit codes: 0 clean, 1 a failure or sanitizer report, 77 the compiler cannot link -fsanitize
# (ctest reports the test as skipped; with CI set it is a failure).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD:-$root/build-asan}
cxx=${SANITIZE_CXX:-c++}
cc=${SANITIZE_CC:-$(case "$cxx" in clang++*) echo "${cxx/clang++/clang}" ;; g++*) echo "${cxx/g++/gcc}" ;; *) echo cc ;; esac)}

if ! echo 'int main() { return 0; }' | "$cxx" -x c++ -fsanitize=address,undefined - -o /dev/null 2>/dev/null; then
  echo "sanitize: SKIPPED: $cxx cannot link -fsanitize=address,undefined (install libasan / libubsan)"
  if [ -n "${CI:-}" ]; then echo "sanitize: CI is set: a missing tool is a failure"; exit 1; fi
  exit 77
fi

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DFMALENS_SANITIZE=ON -DFMALENS_GUI=OFF -DFMALENS_TESTS=ON -DFMALENS_BENCH=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; echo "sanitize: configure failed"; exit 1; }
cmake --build "$build" -j"${SANITIZE_JOBS:-$(nproc)}" --target fmalens_base_tests

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$build/base_tests.log
args=()
[ $# -gt 0 ] && args+=(--gtest_filter="$1")
set +e
"$build/tests/fmalens_base_tests" "${args[@]}" >"$log" 2>&1
rc=$?
set -e
tail -n 3 "$log"
if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
  grep -E 'FAILED|ERROR:|runtime error:|SUMMARY' "$log" | head -30
  echo "sanitize: FAILED (exit $rc); log $log"
  exit 1
fi
echo "sanitize: fmalens_base_tests clean under ASan+UBSan ($(grep -oE '[0-9]+ tests? from [0-9]+ test suites? ran' "$log"))"
