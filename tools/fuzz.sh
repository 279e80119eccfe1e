#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-14 in their own build folder and runs
# each one, seeded from tests/fuzz/corpus/<target>/. Fails on any crash, leak, sanitizer report,
# timeout, out-of-memory or broken invariant, and keeps the input that did it.
#
# Two ways to run:
#  - a fixed number of runs per target (--runs, what ctest and CI do): libFuzzer's seed fixed
#    (FUZZ_SEED, default 1), only the committed seeds as the corpus (new inputs go to a fresh
#    scratch folder that is removed afterwards), no timer-driven reload and no comparison-table
#    mutations, so every run of a build executes the same inputs and CI fails or passes for the
#    commit, not for the speed of the machine (the final "cov: ft: corp:" line is the same);
#  - open-ended (the default, `make fuzz`): FUZZ_SECONDS per target, a new seed each run, the
#    grown corpus kept under $FUZZ_OUT/corpus for the next run. Commit what it finds as
#    regress_* seeds, with a test.
#
# Usage: tools/fuzz.sh [--build-only | --no-build] [--runs] [target ...]   (targets: safetensors
#        torch_zip config idx image text_window tokenizer; default all)
# Environment:
#   FUZZ_SECONDS  open-ended: seconds per target (default 60)
#   FUZZ_RUNS     --runs: runs per target instead of each target's default (see runs_of below)
#   FUZZ_BUILD    build folder (default build-fuzz in the repository)
#   FUZZ_OUT      where the grown corpus and crashing inputs go (default $FUZZ_BUILD/findings)
#   FUZZ_SEED     libFuzzer's random seed (default: 1 with --runs, 0 = a new one otherwise)
# Exit codes: 0 clean, 1 a finding (its input is under $FUZZ_OUT/crashes/), 77 clang-14 or its
# libFuzzer runtime is missing (ctest reports the test as skipped; with CI set it is a failure).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
fixed_runs=0
build=${FUZZ_BUILD:-$root/build-fuzz}
out=${FUZZ_OUT:-$build/findings}
mode=all
targets=()
for a in "$@"; do
  case "$a" in
    --build-only) mode=build ;;
    --no-build) mode=run ;;
    --runs) fixed_runs=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) targets+=("$a") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(safetensors torch_zip config idx image text_window tokenizer)

# Longest input per target: a bit above the largest seed, so that mutations stay fast.
max_len() {
  case "$1" in
    torch_zip) echo 32768 ;;
    image) echo 16384 ;;
    safetensors) echo 8192 ;;
    tokenizer) echo 12288 ;;
    *) echo 4096 ;;
  esac
}

# Runs per target in --runs mode: about 30 s each on a 2-core CI machine, seeds included.
runs_of() {
  if [ -n "${FUZZ_RUNS:-}" ]; then echo "$FUZZ_RUNS"; return; fi
  case "$1" in
    torch_zip) echo 50000 ;;
    image) echo 250000 ;;
    tokenizer) echo 60000 ;;
    *) echo 400000 ;;
  esac
}

# A missing tool skips (77) on a developer's machine, but fails in CI (CI is set there).
skip() {
  echo "fuzz: SKIPPED: $1"
  if [ -n "${CI:-}" ]; then echo "fuzz: CI is set: a missing tool is a failure"; exit 1; fi
  exit 77
}

if ! command -v clang++-14 >/dev/null || ! command -v clang-14 >/dev/null; then
  skip "clang-14 is not installed (tools/setup.sh installs clang-14 libclang-rt-14-dev)"
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    clang++-14 -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  skip "clang-14 cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)"
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
  mkdir -p "$out/crashes"
  log=$out/$t.log
  if [ $fixed_runs = 1 ]; then
    # The first folder gathers new inputs: a fresh one, so that the next run starts from the
    # committed seeds again.
    work=$(mktemp -d "${TMPDIR:-/tmp}/fmalens-fuzz-$t.XXXXXX")
    # What libFuzzer does is then a function of the seed and the inputs alone: no corpus reload
    # on a timer, and no mutations from the table of recent comparisons (it holds values that
    # differ between processes, such as addresses: with it, two runs of one build diverged).
    budget=(-runs="$(runs_of "$t")" -seed="${FUZZ_SEED:-1}" -reload=0 -use_cmp=0)
    echo "fuzz: $t for $(runs_of "$t") runs, seed ${FUZZ_SEED:-1} (seeds: $(ls "$seeds" | wc -l), max_len $(max_len "$t"))"
  else
    work=$out/corpus/$t
    mkdir -p "$work"
    budget=(-max_total_time="$seconds" -seed="${FUZZ_SEED:-0}")
    echo "fuzz: $t for ${seconds}s (seeds: $(ls "$seeds" | wc -l), max_len $(max_len "$t"))"
  fi
  # The committed seeds are only read.
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "$work" "$seeds" "${budget[@]}" -max_len="$(max_len "$t")" \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 -error_exitcode=1 \
      -artifact_prefix="$out/crashes/$t-" >"$log" 2>&1
  rc=$?
  set -e
  [ $fixed_runs = 1 ] && rm -rf "$work"
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
