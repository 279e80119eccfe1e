// Reference (nanoGPT-style) checkpoints: imported exactly as torch.save wrote them, they give
// the logits that FMA.md's reference semantics give (computed in Python, query by query).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "fmalens/model.h"
#include "test_util.h"

namespace fmalens {
namespace {

// Fresh files from Debian's python3-torch (the reference semantics computed in Python) when it
// is installed; then the script must succeed. Without it, the committed files of an earlier
// run, except in CI (CI set), where python3-torch is installed and its absence is a failure.
std::string reference_dir(test::TempDir& tmp) {
  if (test::python_torch_available()) {
    const std::string cmd = "/usr/bin/python3 " FMALENS_FIXTURES_DIR "/make_reference_fma.py " + tmp.path;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "the Python reference failed: " << cmd;
    return tmp.path;
  }
  EXPECT_EQ(std::getenv("CI"), nullptr) << "CI has no python3-torch: the reference cannot be recomputed";
  return FMALENS_FIXTURES_DIR "/reference";
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b, size_t count) {
  double m = 0;
  for (size_t i = 0; i < count; ++i) m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
  return m;
}

// Both committed reference models (tests/fixtures/reference: the values every machine must
// reproduce) run on `device` in each dtype: the largest logit error relative to the largest
// logit must stay under the dtype's bound. float32: 2e-4. bfloat16 and float16 hold weights and
// activations in 8 and 11 mantissa bits (softmax and FMA summaries stay float32), and these
// random models attend sharply (scores of tens), so rounding moves their logits far: PyTorch's
// own bfloat16 run of ref_dense is 8.5 % off, float16 rounding emulated on both models about
// 0.8 %. Bounds: 0.3 and 0.03. Each error is recorded as a property,
// `<model>_<dtype>_relative_error`, which tools/gpu_check.sh reads from the JSON report.
void check_precisions(const std::string& device, const std::vector<std::pair<std::string, double>>& bounds) {
  for (const std::string name : {"ref_fma", "ref_dense"}) {
    auto model = Model::load(FMALENS_FIXTURES_DIR "/reference/" + name + ".pt");
    const std::string input = test::read_file(FMALENS_FIXTURES_DIR "/reference/" + name + "_input.bin");
    const test::Npy expected = test::read_npy(FMALENS_FIXTURES_DIR "/reference/" + name + "_logits.npy");
    double largest = 0;
    for (float x : expected.data) largest = std::max(largest, static_cast<double>(std::abs(x)));
    for (const auto& [dtype, bound] : bounds) {
      SCOPED_TRACE(name + " " + device + " " + dtype);
      RunOptions options;
      options.device = device;
      options.dtype = dtype;
      const Snapshot snap = model->run_text(input, options);
      ASSERT_EQ(snap.logits.shape, expected.shape);
      const double error = max_diff(snap.logits.data, expected.data, expected.data.size()) / largest;
      ::testing::Test::RecordProperty(name + "_" + dtype + "_relative_error", std::to_string(error));
      EXPECT_LT(error, bound);
    }
  }
}

constexpr double kBfloat16Bound = 0.3, kFloat16Bound = 0.03;

TEST(ReferenceImport, CommittedLogitsInFloat32AndBfloat16) {
  check_precisions("cpu", {{"float32", 2e-4}, {"bfloat16", kBfloat16Bound}});
}

// Registered only in builds whose LibTorch has CUDA (tests/CMakeLists.txt); there, no device is
// a failure.
TEST(CudaReferenceImport, LogitsMatchTheReferenceInFloat32Bfloat16AndFloat16) {
  const auto devices = Model::devices();
  ASSERT_NE(std::find(devices.begin(), devices.end(), "cuda"), devices.end()) << "this LibTorch has CUDA, but no CUDA device";
  check_precisions("cuda", {{"float32", 2e-4}, {"bfloat16", kBfloat16Bound}, {"float16", kFloat16Bound}});
}

TEST(ReferenceImport, LogitsMatchTheReferenceSemantics) {
  test::TempDir tmp;
  const std::string dir = reference_dir(tmp);
  for (const std::string name : {"ref_fma", "ref_dense"}) {
    SCOPED_TRACE(name);
    auto model = Model::load(dir + "/" + name + ".pt");
    EXPECT_EQ(model->info().format, "torch_zip");
    const ModelConfig& c = model->config();
    if (name == "ref_fma") {
      ASSERT_EQ(c.attention_kind, AttentionKind::fma);
      EXPECT_EQ(c.attention.variant, Variant::causal);
      EXPECT_EQ(c.attention.boundary, Boundary::zero_pad);
      EXPECT_EQ(c.attention.m, 8);
      EXPECT_EQ(c.attention.p, 2);
    } else {
      EXPECT_EQ(c.attention_kind, AttentionKind::dense);
    }
    const std::string input = test::read_file(dir + "/" + name + "_input.bin");
    const test::Npy expected = test::read_npy(dir + "/" + name + "_logits.npy");
    ASSERT_EQ(expected.shape, (std::vector<int64_t>{64, 256}));
    Snapshot full = model->run_text(input);
    ASSERT_EQ(full.logits.shape, expected.shape);
    EXPECT_LT(max_diff(full.logits.data, expected.data, expected.data.size()), 1e-4);
    // A shorter input is right-padded (padding is future): the prefix of the same logits.
    Snapshot part = model->run_text(input.substr(0, 40));
    ASSERT_EQ(part.logits.shape, (std::vector<int64_t>{40, 256}));
    EXPECT_LT(max_diff(part.logits.data, expected.data, 40 * 256), 1e-4);
  }
}

TEST(ReferenceImport, InspectCommandWritesTheSameLogits) {
  test::TempDir tmp;
  const std::string dir = reference_dir(tmp);
  const std::string out = tmp.path + "/inspect";
  const std::string cmd = std::string(FMALENS_BINARY) + " inspect --checkpoint " + dir + "/ref_fma.pt --text-file " + dir +
                          "/ref_fma_input.bin --out " + out + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const test::Npy got = test::read_npy(out + "/logits.npy");
  const test::Npy expected = test::read_npy(dir + "/ref_fma_logits.npy");
  ASSERT_EQ(got.shape, expected.shape);
  EXPECT_LT(max_diff(got.data, expected.data, expected.data.size()), 1e-4);
  // Every array the manifest lists exists, with the dtype and shape it gives and exactly the
  // bytes they need; and the arrays a viewer needs are among them.
  const auto manifest = nlohmann::json::parse(test::read_file(out + "/manifest.json"));
  const std::map<std::string, std::pair<std::string, size_t>> dtypes{
      {"float32", {"<f4", 4}}, {"int32", {"<i4", 4}}, {"int64", {"<i8", 8}}};
  std::set<std::string> listed;
  for (const auto& a : manifest.at("arrays")) {
    const std::string file = a.at("file");
    SCOPED_TRACE(file);
    listed.insert(file);
    const test::NpyHeader h = test::read_npy_header(out + "/" + file);
    ASSERT_TRUE(dtypes.count(a.at("dtype")));
    const auto& [descr, item] = dtypes.at(a.at("dtype"));
    EXPECT_EQ(h.descr, descr);
    EXPECT_EQ(h.shape, a.at("shape").get<std::vector<int64_t>>());
    size_t count = 1;
    for (int64_t d : h.shape) count *= static_cast<size_t>(d);
    EXPECT_EQ(h.file_size, h.data_offset + count * item);
  }
  for (const char* needed : {"logits.npy", "layer1_head1_level2_weights.npy", "layer0_q.npy", "layer1_k.npy",
                             "layer1_row_norm.npy", "level2_slot_blocks.npy"})
    EXPECT_TRUE(listed.count(needed)) << needed;
  EXPECT_EQ(test::read_npy(out + "/layer1_head1_level2_weights.npy").shape, (std::vector<int64_t>{64, 4}));
}

}  // namespace
}  // namespace fmalens
