// Google Benchmark programs over the same cases as `fmalens bench` (core/src/bench): FMA's
// kernel, FMA in plain LibTorch ops and dense softmax attention, for each variant, pass and n,
// plus the 2048^2 matmul that sets the machine's FLOP rate. Run:
//   build/tests/fmalens_bench --benchmark_filter='causal/.*/forward/16384'
// Counters: GFLOP/s (useful work, as the peer counts it) and the resident memory the case
// added (for peak memory per case, use `fmalens bench`, which runs each in its own process).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "fmalens/bench.h"
#include "fmalens/blas_kernels.h"

namespace {

void run_case(benchmark::State& state, fmalens::BenchCase c) {
  const double before = fmalens::resident_mb();
  std::unique_ptr<fmalens::PreparedBench> bench;
  try {
    bench = fmalens::prepare_bench_case(c, "cpu");
    bench->call();  // warm-up: plans and workspaces
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) bench->call();
  state.counters["GFLOP/s"] =
      benchmark::Counter(bench->flops() * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["added_MB"] = fmalens::resident_mb() - before;
}

}  // namespace

int main(int argc, char** argv) {
  fmalens::use_fast_blas(argv);  // the program's BLAS kernels (fmalens/blas_kernels.h)
  using fmalens::BenchCase;
  benchmark::RegisterBenchmark("matmul/dense/forward/2048", run_case, BenchCase{"matmul", "dense", 2048, "forward"})
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const char* variant : {"causal", "bidirectional", "linear"})
    for (const char* pass : {"forward", "forward_backward"})
      for (int64_t n : {1024, 4096, 16384, 65536})
        for (const char* impl : {"fma", "fma_ops", "dense"}) {
          const bool backward = std::string(pass) == "forward_backward";
          if (std::string(impl) == "dense" && (std::string(variant) == "linear" || fmalens::dense_bytes_needed(n, backward) > 12e9))
            continue;
          if (std::string(impl) == "fma_ops" && n > 16384) continue;
          const std::string name = std::string(variant) + "/" + impl + "/" + pass + "/" + std::to_string(n);
          benchmark::RegisterBenchmark(name.c_str(), run_case, BenchCase{variant, impl, n, pass})
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
