// Benchmarks of the attention (FMA kernel, FMA in plain LibTorch ops, dense softmax) and of
// the shipped models, for `fmalens bench`. Each case runs in a process of its own so that its
// peak memory can be measured (the caller spawns `fmalens bench --child ...`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fmalens {

struct BenchCase {
  // causal | bidirectional | linear | matmul | text_model | image_model | train_step (a whole
  // 4-layer byte model's forward + loss + backward at n; impl fma or dense)
  std::string variant = "causal";
  // fma (the kernel) | fma_ops (LibTorch ops) | dense | local (FMA's fine band alone) |
  // elu_linear (linear attention, elu+1 features)
  std::string impl = "fma";
  int64_t n = 4096;                // tokens (matmul: matrix side)
  std::string pass = "forward";    // forward | forward_backward
  std::string dtype = "float32";   // of q, k, v (float32 | bfloat16 | float16); FMA computes in float32
  std::string downsampling = "groupedconv";  // FMA's summaries: groupedconv | conv | avgpool
  int64_t m = 64, p = 4;                     // FMA's fine block size and summaries per block
};

struct BenchRecord {
  BenchCase c;
  double ms = 0, min_ms = 0, max_ms = 0;  // median, min and max of the timed repeats
  int repeats = 0;
  double flops = 0;                       // useful floating-point operations of one call
  double gflops = 0;                      // flops / median time
  // CPU: resident memory after the inputs were allocated, and the peak above it (filled by the
  // parent from the child's rusage). CUDA: the same from the CUDA caching allocator (allocated
  // bytes), filled by run_bench_case.
  double baseline_mb = 0;
  double peak_mb = 0;
  std::string device;
  std::string note;
};

// Shapes of the attention benchmarks (batch 1, 4 heads, head dimension 64; FMA's m and p are the
// case's, 64 and 4 unless it says otherwise).
constexpr int64_t kBenchHeads = 4, kBenchHeadDim = 64, kBenchM = 64, kBenchP = 4;

// One case made ready to run: inputs allocated, modules built. `call()` runs it once and waits
// for the device (forward under inference mode; forward_backward with autograd). Shared by
// `fmalens bench` and the Google Benchmark programs in tests/bench.
class PreparedBench {
 public:
  virtual ~PreparedBench() = default;
  virtual void call() = 0;
  double flops() const { return flops_; }      // useful floating-point operations of one call
  const std::string& device() const { return device_; }
  const std::string& note() const { return note_; }

 protected:
  double flops_ = 0;
  std::string device_, note_;
};

// For the model cases, `checkpoint` names the model. Throws Error for an unknown case.
std::unique_ptr<PreparedBench> prepare_bench_case(const BenchCase& c, const std::string& device,
                                                  const std::string& checkpoint = "");

// Runs one case in this process: a warm-up call, then `repeats` timed calls.
BenchRecord run_bench_case(const BenchCase& c, int repeats, const std::string& device, const std::string& checkpoint = "");

// Bytes the dense attention of n tokens (kBenchHeads heads) needs at least, to skip what
// cannot fit. On the CPU: the n x n scores and weights of the slices in flight (one per
// thread), and with `backward` every head's weights, kept for it in each of `layers` layers.
// On LibTorch 2.x with CUDA the fused attention keeps no n x n matrix: its inputs, outputs
// and gradients.
double dense_bytes_needed(int64_t n, bool backward, const std::string& device = "cpu", int layers = 1);

// Memory of the device in MB: the machine's RAM for "cpu", the GPU's for "cuda".
double device_memory_mb(const std::string& device);

// The device and LibTorch in words for the benchmark's header: "cuda:0 (NVIDIA H200),
// LibTorch 2.11.0, CUDA 13.0".
std::string describe_bench_device(const std::string& device);

// Resident set size of this process now, in MB (from /proc/self/statm).
double resident_mb();

}  // namespace fmalens
