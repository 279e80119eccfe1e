#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-14 in their own build folder and runs
# each for a bounded time, seeded from tests/fuzz/corpus/<target>/. Fails on any crash, leak,
# sanitizer report, timeout, out-of-memory or broken invariant, and keeps the input that did it.
#
# Usage: tools/fuzz.sh [--build-only | --no-build] [target ...]   (targets: safetensors torch_zip
#        config idx image text_window; default all)
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_BUILD    build folder (default build-fuzz in the repository)
#   FUZZ_OUT      where the grown corpus and crashing inputs go (default $FUZZ_BUILD/findings)
#   FUZZ_SEED     libFuzzer's random seed (default 1, so that CI explores what was explored before
#                 a commit; 0 picks a new seed each run, for longer hunts)
# Exit codes: 0 clean, 1 a finding (its input is under $FUZZ_OUT/crashes/), 77 clang-14 or its
# libFuzzer runtime is missing (ctest reports the test as skipped).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-$root/build-fuzz}
out=${FUZZ_OUT:-$build/findings}
mode=all
targets=()
for a in "$@"; do
  case "$a" in
    --build-only) mode=build ;;
    --no-build) mode=run ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) targets+=("$a") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(safetensors torch_zip config idx image text_window)

# Longest input per target: a bit above the largest seed, so that mutations stay fast.
max_len() {
  case "$1" in
    torch_zip) echo 32768 ;;
    image) echo 16384 ;;
    safetensors) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

if ! command -v clang++-14 >/dev/null || ! command -v clang-14 >/dev/null; then
  echo "fuzz: SKIPPED: clang-14 is not installed (tools/setup.sh installs clang-14 libclang-rt-14-dev)"
  exit 77
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    clang++-14 -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "fuzz: SKIPPED: clang-14 cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)"
  exit 77
fi

if [ "$mode" != run ]; then
  # Only the `fuzzers` target: fmalens_base and the targets, no LibTorch code is compiled.
  mkdir -p "$build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DFMALENS_FUZZ=ON -DFMALENS_GUI=OFF -DFMALENS_TESTS=OFF -DFMALENS_BENCH=OFF >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; echo "fuzz: configure failed"; exit 1; }
  cmake --build "$build" -j"${FUZZ_JOBS:-$(nproc)}" --target fuzzers
fi
[ "$mode" = build ] && exit 0

status=0
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  seeds=$root/tests/fuzz/corpus/$t
  [ -x "$bin" ] || { echo "fuzz: $bin is missing (build first)"; exit 1; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds"; exit 1; }
  work=$out/corpus/$t
  mkdir -p "$work" "$out/crashes"
  log=$out/$t.log
  echo "fuzz: $t for ${seconds}s (seeds: $(ls "$seeds" | wc -l), max_len $(max_len "$t"))"
  # The first folder gathers new inputs; the committed seeds are only read.
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "$work" "$seeds" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -max_len="$(max_len "$t")" \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 -error_exitcode=1 \
      -artifact_prefix="$out/crashes/$t-" >"$log" 2>&1
  rc=$?
  set -e
  stats=$(grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | tr '\n' ' ')
  cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' || true)
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); log $log; inputs:"
    ls -1 "$out/crashes/$t-"* 2>/dev/null || true
    grep -E 'ERROR|FINDING|SUMMARY|runtime error|Test unit written' "$log" | head -20 || tail -30 "$log"
    status=1
  else
    echo "fuzz: $t ok: $stats $cov"
  fi
done
exit $status
