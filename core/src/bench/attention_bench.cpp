// One benchmark case, run in-process (see bench.h).
#include "fmalens/bench.h"

#include "device.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>

#include "fma/attention.h"
#include "model/network.h"
#include "fmalens/model.h"
#include "fmalens/quote.h"
#include "threads.h"

#include <torch/version.h>
#if defined(FMALENS_HAVE_CUDA_RUNTIME)
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

namespace fmalens {
namespace {

using Clock = std::chrono::steady_clock;

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

constexpr double kMB = 1024.0 * 1024.0;

torch::Dtype bench_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kHalf;
  throw Error("bench: dtype must be float32, bfloat16 or float16 (got " + quote(name) + ")");
}

// What the CUDA caching allocator has handed out (allocated bytes, all pools), now and at most
// since the last reset_device_peak; zeros on the CPU and in builds without the CUDA runtime.
struct DeviceMemory {
  double now_mb = 0, peak_mb = 0;
};

#if defined(FMALENS_HAVE_CUDA_RUNTIME)
c10::DeviceIndex cuda_index(const torch::Device& device) { return device.has_index() ? device.index() : 0; }
#endif

void reset_device_peak(const torch::Device& device) {
#if defined(FMALENS_HAVE_CUDA_RUNTIME)
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(cuda_index(device));
#endif
}

DeviceMemory device_memory(const torch::Device& device) {
#if defined(FMALENS_HAVE_CUDA_RUNTIME)
  if (device.is_cuda()) {
    // Entry 0 of the stat arrays is the aggregate over pools (StatType::AGGREGATE, whose
    // namespace differs between LibTorch releases).
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(cuda_index(device));
    return {static_cast<double>(stats.allocated_bytes[0].current) / kMB, static_cast<double>(stats.allocated_bytes[0].peak) / kMB};
  }
#endif
  return {};
}

AttentionConfig attention_for(const BenchCase& c) {
  AttentionConfig a;
  a.variant = c.variant == "causal" ? Variant::causal : Variant::bidirectional;
  a.n = c.n;
  a.m = c.m;
  a.p = c.p;
  a.heads = kBenchHeads;
  a.head_dim = kBenchHeadDim;
  a.downsampling = downsampling_from_string(c.downsampling);
  if (c.impl == "local") a.max_coarse_levels = 0;
  a.boundary = c.variant == "causal" ? Boundary::zero_pad : Boundary::mask;  // the reference's semantics
  a.query_downsampling = c.variant == "linear";
  return a;
}

}  // namespace

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double dense_bytes_needed(int64_t n, bool backward, const std::string& device, int layers) {
  const double nn = static_cast<double>(n) * static_cast<double>(n) * 4.0;  // one float n x n matrix
#if TORCH_VERSION_MAJOR >= 2
  if (device == "cuda") {  // q, k, v, the output and the softmax statistics; their gradients
    const double rows = static_cast<double>(kBenchHeads) * static_cast<double>(n) * 4.0;
    return layers * (backward ? 2.0 : 1.0) * rows * (4.0 * static_cast<double>(kBenchHeadDim) + 1.0);
  }
#endif
  // dense_attention on the CPU: one (batch, head) slice per thread at a time, its scores,
  // weights and (backward) their gradients; the backward keeps every head's weights.
  const double in_flight = static_cast<double>(std::min<int64_t>(kBenchHeads, at::get_num_threads()));
  return (backward ? 3.0 : 2.0) * in_flight * nn + (backward ? layers * kBenchHeads * nn : 0.0);
}

double device_memory_mb(const std::string& device) {
#if defined(FMALENS_HAVE_CUDA_RUNTIME)
  if (device == "cuda") {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) return static_cast<double>(total_bytes) / kMB;
  }
#endif
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE)) / kMB;
}

std::string describe_bench_device(const std::string& device) {
  return describe_device(select_device(device)) + ", " + describe_torch();
}

namespace {

// Holds whatever a case needs alive (tensors, modules, a model) and the call that uses it.
class TorchBench : public PreparedBench {
 public:
  TorchBench(const BenchCase& c, const std::string& device_name, const std::string& checkpoint)
      : device(select_device(device_name)), backward(c.pass == "forward_backward") {
    device_ = device.str();
    if (c.variant == "matmul") {
      a = torch::randn({c.n, c.n}, torch::TensorOptions().device(device).dtype(bench_dtype(c.dtype)));
      b = torch::randn({c.n, c.n}, torch::TensorOptions().device(device).dtype(bench_dtype(c.dtype)));
      flops_ = 2.0 * static_cast<double>(c.n) * c.n * c.n;
      body = [this] { auto y = torch::matmul(a, b); };
    } else if (c.variant == "train_step") {
      // One training step of a whole byte model (4 layers, 4 heads, 128 wide, no position
      // table, so that every length has the same weights but the attention's): forward,
      // cross-entropy and backward over one sequence of n bytes.
      ModelConfig mc;
      mc.kind = ModelKind::text;
      mc.n_layer = 4;
      mc.n_head = 4;
      mc.n_embd = 128;
      mc.block_size = c.n;
      mc.learned_positions = false;
      mc.attention_kind = c.impl == "dense" ? AttentionKind::dense : AttentionKind::fma;
      mc.attention.m = c.m;
      mc.attention.p = c.p;
      mc.attention.downsampling = downsampling_from_string(c.downsampling);
      validate(mc);
      network = std::make_shared<Network>(mc);
      network->to(device);
      tokens = torch::randint(0, 256, {1, c.n + 1}, torch::TensorOptions().dtype(torch::kLong).device(device));
      backward = true;
      body = [this] {
        const int64_t n = tokens.size(1) - 1;
        const auto logits = network->forward(tokens.narrow(1, 0, n));
        torch::cross_entropy_loss(logits.reshape({n, logits.size(2)}), tokens.narrow(1, 1, n).reshape({-1})).backward();
      };
      note_ = std::string(c.impl == "dense" ? "dense" : "FMA " + c.downsampling) + " model step";
    } else if (c.variant == "text_model" || c.variant == "image_model") {
      model = Model::load(checkpoint);
      RunOptions ro;
      ro.device = device_name;
      ro.dtype = c.dtype;
      if (c.variant == "text_model") {
        // Real English text, so that the run is the one a user makes.
        std::ifstream in("/usr/share/games/fortunes/literature", std::ios::binary);
        text.assign(std::istreambuf_iterator<char>(in), {});
        if (static_cast<int64_t>(text.size()) < c.n) text.append(static_cast<size_t>(c.n) - text.size(), ' ');
        text.resize(static_cast<size_t>(c.n));
        body = [this, ro] { model->run_text(text, ro); };
      } else {
        image.width = image.height = 28;
        image.channels = 1;
        image.pixels.assign(28 * 28, 0);
        for (int y = 6; y < 22; ++y)
          for (int x = 8; x < 20; ++x) image.pixels[static_cast<size_t>(y * 28 + x)] = 200;
        body = [this, ro] { model->run_image(image, ro); };
      }
      note_ = checkpoint;
    } else {
      if (c.variant != "causal" && c.variant != "bidirectional" && c.variant != "linear")
        throw Error("bench: unknown variant " + quote(c.variant));
      auto opts = torch::TensorOptions().device(device).dtype(bench_dtype(c.dtype)).requires_grad(backward);
      q = torch::randn({1, kBenchHeads, c.n, kBenchHeadDim}, opts);
      k = torch::randn({1, kBenchHeads, c.n, kBenchHeadDim}, opts);
      v = torch::randn({1, kBenchHeads, c.n, kBenchHeadDim}, opts);
      const bool causal = c.variant == "causal";
      if (c.impl == "dense") {
        flops_ = 2.0 * 2.0 * static_cast<double>(c.n) * c.n * kBenchHeadDim * kBenchHeads / (causal ? 2.0 : 1.0);
        body = [this, causal] {
          auto y = dense_attention(q, k, v, causal);
          if (backward) y.sum().backward();
        };
      } else if (c.impl == "elu_linear") {
        // phi(K)^T V and phi(Q) S per token (2 d^2 each), and within a chunk of 64 the masked
        // chunk x chunk products (as dense attention over the chunk).
        flops_ = (2.0 * 2.0 * kBenchHeadDim * kBenchHeadDim + 2.0 * 2.0 * 64 * kBenchHeadDim / 2.0) * static_cast<double>(c.n) * kBenchHeads;
        body = [this, causal] {
          auto y = elu_linear_attention(q, k, v, causal);
          if (backward) y.sum().backward();
        };
      } else {
        const AttentionConfig cfg = attention_for(c);
        attention = std::make_shared<FmaAttentionImpl>(cfg);
        attention->to(device);
        const Layout layout(cfg);
        // As the peer counts: QK^T and the weighted sum over every band slot (masked included),
        // per query; with query downsampling a coarse level has one query per block.
        const double query_slots = static_cast<double>(layout.stored_weights());
        flops_ = 2.0 * 2.0 * query_slots * kBenchHeadDim * kBenchHeads;
        const bool ops = c.impl == "fma_ops";
        if (!ops && c.impl != "fma" && c.impl != "local") throw Error("bench: unknown impl " + quote(c.impl));
        body = [this, ops] {
          auto y = ops ? attention->forward_ops(q, k, v) : attention->forward(q, k, v);
          if (backward) y.sum().backward();
        };
      }
    }
    if (backward) flops_ *= 3.0;  // backward ~ twice the forward
  }

  void call() override {
    if (backward) {
      body();
    } else {
      c10::InferenceMode guard;
      body();
    }
    sync(device);
  }

 private:
  torch::Device device;
  bool backward;
  std::function<void()> body;
  torch::Tensor q, k, v, a, b;
  std::shared_ptr<FmaAttentionImpl> attention;
  std::shared_ptr<Network> network;
  torch::Tensor tokens;
  std::shared_ptr<Model> model;
  Image image;
  std::string text;
};

}  // namespace

std::unique_ptr<PreparedBench> prepare_bench_case(const BenchCase& c, const std::string& device, const std::string& checkpoint) {
  configure_threads(0);
  return std::make_unique<TorchBench>(c, device, checkpoint);
}

BenchRecord run_bench_case(const BenchCase& c, int repeats, const std::string& device_name, const std::string& checkpoint) {
  // Inputs and modules are built before the baseline is read.
  auto bench = prepare_bench_case(c, device_name, checkpoint);
  BenchRecord r;
  r.c = c;
  r.device = bench->device();
  r.note = bench->note();
  r.flops = bench->flops();
  // The baseline is read before the warm-up, so that the peak includes everything a call
  // needs (index plans, workspaces), as a first call would.
  const torch::Device device = select_device(device_name);
  reset_device_peak(device);
  r.baseline_mb = device.is_cuda() ? device_memory(device).now_mb : resident_mb();
  // Warm-up until the process's resident memory stops growing. The first calls fill the
  // heap (malloc keeps what a call frees, threads.h), and until it holds a call's working set
  // each call faults fresh pages in on the calling thread while the pool waits (about 3 s per
  // GB on a VM: on calls of a few ms, tens of ms; `local` at n = 16384 took 5 calls). Timed
  // calls measure the steady state a training or the window sees. At most 8 warm-up calls,
  // and no more once the warm-up has taken 2 s (dense at n = 16384 takes 13 s a call).
  const auto warm_start = Clock::now();
  for (int warm = 0; warm < 8; ++warm) {
    const double before_mb = resident_mb();
    bench->call();
    const double grown_mb = resident_mb() - before_mb;
    if (grown_mb < 1.0 || std::chrono::duration<double>(Clock::now() - warm_start).count() > 2.0) break;
  }
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    bench->call();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  r.repeats = repeats;
  r.ms = times[times.size() / 2];
  r.min_ms = times.front();
  r.max_ms = times.back();
  r.gflops = r.flops > 0 ? r.flops / (r.ms * 1e6) : 0;
  if (device.is_cuda()) r.peak_mb = device_memory(device).peak_mb - r.baseline_mb;
  return r;
}

}  // namespace fmalens
