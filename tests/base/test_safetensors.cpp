// safetensors: round trip of every dtype, each rule the reader enforces (one hand-made file
// per rule), format detection, and atomic writes that leave existing files alone on failure.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>

#include "fmalens/checkpoint.h"
#include "test_util.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;

class SafeTensorsTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return tmp_.path(name); }

  // A file of: the header length (or `length` when given), `header`, then `data`.
  std::string hand_made(const std::string& header, const std::string& data = "", int64_t length = -1) {
    const uint64_t n = length >= 0 ? static_cast<uint64_t>(length) : header.size();
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    bytes += header + data;
    const std::string p = path("hand.safetensors");
    test::write_file(p, bytes);
    return p;
  }

  void expect_refused(const std::string& file, const std::string& rule) {
    test::expect_error([&] { read_safetensors(file); }, file + ": ", rule);
  }

  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    return out;
  }

  test::TempDir tmp_;
  const std::string& dir_ = tmp_.str();
};

TensorData make_tensor(DType dtype, std::vector<int64_t> shape) {
  TensorData t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.resize(static_cast<size_t>(t.numel()) * dtype_size(dtype));
  for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  return t;
}

TEST(DType, NamesAndSizesRoundTrip) {
  const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                       DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};
  const size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1};
  for (size_t i = 0; i < std::size(all); ++i) {
    EXPECT_EQ(dtype_size(all[i]), sizes[i]);
    EXPECT_EQ(dtype_from_name(dtype_name(all[i])), all[i]);
  }
  EXPECT_STREQ(dtype_name(DType::BF16), "BF16");
  EXPECT_STREQ(dtype_name(DType::BOOL), "BOOL");
  EXPECT_THROW(dtype_from_name("F128"), Error);
  EXPECT_THROW(dtype_from_name("U16"), Error);
  EXPECT_THROW(dtype_from_name("f32"), Error);
}

TEST_F(SafeTensorsTest, RoundTripsEveryDTypeWithMetadata) {
  SafeTensorsFile file;
  file.metadata = {{"fmalens_config", "{\"n_layer\": 2}"}, {"note", "caf\xc3\xa9"}, {"empty", ""}};
  file.tensors["a.f64"] = make_tensor(DType::F64, {3});
  file.tensors["b.f32"] = make_tensor(DType::F32, {2, 3});
  file.tensors["c.f16"] = make_tensor(DType::F16, {5});
  file.tensors["d.bf16"] = make_tensor(DType::BF16, {1, 1, 3});
  file.tensors["e.i64"] = make_tensor(DType::I64, {2});
  file.tensors["f.i32"] = make_tensor(DType::I32, {3, 1});
  file.tensors["g.i16"] = make_tensor(DType::I16, {7});
  file.tensors["h.i8"] = make_tensor(DType::I8, {9});
  file.tensors["i.u8"] = make_tensor(DType::U8, {4, 4});
  file.tensors["j.bool"] = make_tensor(DType::BOOL, {3});
  file.tensors["k.scalar"] = make_tensor(DType::F32, {});
  file.tensors["l.empty"] = make_tensor(DType::F32, {0, 4});
  file.tensors["m.empty2"] = make_tensor(DType::I8, {0});
  const std::string p = path("all.safetensors");
  write_safetensors(p, file);
  std::ifstream in(p, std::ios::binary);
  uint8_t len[8] = {};
  in.read(reinterpret_cast<char*>(len), 8);
  EXPECT_EQ(len[0] % 8, 0);  // the header is padded so that the data area starts 8-aligned
  const SafeTensorsFile back = read_safetensors(p);
  EXPECT_EQ(back.metadata, file.metadata);
  ASSERT_EQ(back.tensors.size(), file.tensors.size());
  for (const auto& [name, t] : file.tensors) {
    const TensorData& b = back.tensors.at(name);
    EXPECT_EQ(b.dtype, t.dtype) << name;
    EXPECT_EQ(b.shape, t.shape) << name;
    EXPECT_EQ(b.bytes, t.bytes) << name;
  }
  EXPECT_EQ(detect_checkpoint_format(p), CheckpointFormat::safetensors);
}

TEST_F(SafeTensorsTest, RoundTripsAnEmptyFile) {
  const std::string p = path("none.safetensors");
  write_safetensors(p, SafeTensorsFile{});
  const SafeTensorsFile back = read_safetensors(p);
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

TEST_F(SafeTensorsTest, ReadsWhatOtherWritersWrite) {
  // Unsorted keys, spaces, metadata last, offsets not in name order.
  const std::string header =
      R"({ "z": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},)"
      R"( "a": {"data_offsets": [2, 6], "shape": [], "dtype": "F32"}, "__metadata__": {"k": "v"} }    )";
  const SafeTensorsFile f = read_safetensors(hand_made(header, std::string("\x01\x02\x00\x00\x80\x3f", 6)));
  EXPECT_EQ(f.metadata.at("k"), "v");
  EXPECT_EQ(f.tensors.at("z").bytes, (std::vector<uint8_t>{1, 2}));
  EXPECT_EQ(f.tensors.at("a").bytes, (std::vector<uint8_t>{0, 0, 0x80, 0x3f}));
  EXPECT_TRUE(f.tensors.at("a").shape.empty());
}

TEST_F(SafeTensorsTest, RefusesShortFilesAndBadHeaderLengths) {
  const std::string p = path("short.safetensors");
  test::write_file(p, "1234567");
  expect_refused(p, "shorter than 8 bytes");
  expect_refused(hand_made("{}", "", 1000), "header length 1000 is larger than the file");
  // Larger than 100 MB: a sparse file, so that only the length rule can refuse it.
  const std::string big = hand_made("{}", "", 100'000'001);
  fs::resize_file(big, 100'000'100);
  expect_refused(big, "larger than 100 MB");
}

TEST_F(SafeTensorsTest, RefusesHeadersThatAreNotJsonObjects) {
  expect_refused(hand_made("{\"a\": "), "header is not valid JSON");
  expect_refused(hand_made("{} trailing"), "header is not valid JSON");
  expect_refused(hand_made("{\"a\xff\": 1}"), "header is not valid UTF-8");
  expect_refused(hand_made("[1, 2]"), "header is not a JSON object");
  expect_refused(hand_made("\"text\""), "header is not a JSON object");
  expect_refused(hand_made(""), "header is not valid JSON");
}

TEST_F(SafeTensorsTest, RefusesMalformedTensorEntries) {
  const std::string ok_offsets = R"("data_offsets": [0, 4])";
  expect_refused(hand_made(R"({"t": {"shape": [1], "data_offsets": [0, 4]}})", "abcd"), "tensor 't' has no dtype");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "data_offsets": [0, 4]}})", "abcd"), "tensor 't' has no shape");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1]}})", "abcd"), "tensor 't' has no data_offsets");
  expect_refused(hand_made(R"({"t": [1, 2]})", "abcd"), "tensor 't' is not an object");
  expect_refused(hand_made(R"({"t": {"dtype": 4, "shape": [1], )" + ok_offsets + "}}", "abcd"),
                 "dtype is not a string");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": "1", )" + ok_offsets + "}}", "abcd"),
                 "shape is not a list of non-negative integers");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1.0], )" + ok_offsets + "}}", "abcd"),
                 "shape is not a list of non-negative integers");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [[1]], )" + ok_offsets + "}}", "abcd"),
                 "shape is not a list of non-negative integers");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", "abcd"),
                 "data_offsets is not a list of two non-negative integers");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", "abcd"),
                 "data_offsets is not a list of two non-negative integers");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 4]}})", "abcd"),
                 "negative data offset");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1], "extra": 1, )" + ok_offsets + "}}", "abcd"),
                 "unknown field 'extra'");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "dtype": "F32", "shape": [1], )" + ok_offsets + "}}", "abcd"),
                 "duplicate field 'dtype'");
}

TEST_F(SafeTensorsTest, RefusesUnknownDTypesByName) {
  expect_refused(hand_made(R"({"t": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}})", std::string(16, 'x')),
                 "unknown dtype 'F128'");
  expect_refused(hand_made(R"({"t": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}})", "xx"),
                 "unsupported dtype 'U16'");
}

TEST_F(SafeTensorsTest, RefusesNegativeAndOverflowingShapes) {
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 4]}})", "abcd"),
                 "negative dimension -1");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})"),
                 "shape too large");
  // numel fits in int64, numel * 8 bytes does not.
  expect_refused(hand_made(R"({"t": {"dtype": "F64", "shape": [2305843009213693952], "data_offsets": [0, 0]}})"),
                 "shape too large");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 0]}})"),
                 "dimension too large");
}

TEST_F(SafeTensorsTest, RefusesBadOffsets) {
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", "abcd"),
                 "end before they begin");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", "abcd"),
                 "tensor 't' has 4 bytes, but shape [2] of F32 needs 8");
  expect_refused(hand_made(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", "abcd"),
                 "outside the data area (4 bytes)");
  expect_refused(
      hand_made(
          R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551611, 18446744073709551615]}})",
          "abcd"),
      "outside the data area");
}

TEST_F(SafeTensorsTest, RefusesOverlapsGapsAndTrailingBytes) {
  expect_refused(hand_made(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                           R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})",
                           "abcdef"),
                 "tensors 'a' and 'b' overlap");
  expect_refused(hand_made(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},)"
                           R"( "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}})",
                           "abcdef"),
                 "2 unused bytes before tensor 'b'");
  expect_refused(hand_made(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}})", "abcd"),
                 "2 unused bytes before tensor 'a'");
  expect_refused(hand_made(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})", "abcd"),
                 "2 unused bytes at its end");
  expect_refused(hand_made(R"({})", "x"), "1 unused bytes at its end");
}

TEST_F(SafeTensorsTest, RefusesDuplicateNames) {
  expect_refused(hand_made(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},)"
                           R"( "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
                           "ab"),
                 "duplicate name 'a'");
  expect_refused(hand_made(R"({"__metadata__": {}, "__metadata__": {}})"), "duplicate name '__metadata__'");
  expect_refused(hand_made(R"({"__metadata__": {"k": "1", "k": "2"}})"), "duplicate key 'k' in __metadata__");
}

TEST_F(SafeTensorsTest, RefusesMetadataThatIsNotStringToString) {
  expect_refused(hand_made(R"({"__metadata__": {"k": 1}})"), "__metadata__ must map strings to strings");
  expect_refused(hand_made(R"({"__metadata__": {"k": {"nested": "x"}}})"), "__metadata__ must map strings to strings");
  expect_refused(hand_made(R"({"__metadata__": ["k", "v"]})"), "__metadata__ must map strings to strings");
  expect_refused(hand_made(R"({"__metadata__": null})"), "__metadata__ must map strings to strings");
}

TEST_F(SafeTensorsTest, MessagesStayOnOneLineForHostileNames) {
  expect_refused(hand_made("{\"bad\\nname\": 5}"), "tensor 'bad\\nname' is not an object");
}

TEST_F(SafeTensorsTest, RefusesDeeplyNestedHeadersWithoutRecursing) {
  expect_refused(hand_made(std::string(1'000'000, '[')), "header is not a JSON object");
  expect_refused(hand_made("{\"__metadata__\": {\"k\": " + std::string(1'000'000, '[')),
                 "__metadata__ must map strings");
}

TEST_F(SafeTensorsTest, WriterRefusesInconsistentTensors) {
  SafeTensorsFile file;
  file.tensors["t"] = make_tensor(DType::F32, {2, 2});
  file.tensors["t"].bytes.pop_back();
  const std::string p = path("bad.safetensors");
  test::expect_error([&] { write_safetensors(p, file); }, p + ": ",
                     "tensor 't' holds 15 bytes, but shape [2, 2] of F32 needs 16");
  file.tensors.clear();
  file.tensors["__metadata__"] = make_tensor(DType::U8, {1});
  EXPECT_THROW(write_safetensors(p, file), Error);
  file.tensors.clear();
  file.tensors["neg"] = make_tensor(DType::U8, {1});
  file.tensors["neg"].shape = {-1};
  EXPECT_THROW(write_safetensors(p, file), Error);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(files().empty());
}

TEST_F(SafeTensorsTest, FailedWriteOverADirectoryLeavesNoTemporaries) {
  const std::string target = path("model.safetensors");
  fs::create_directory(target);
  test::write_file(path("model.safetensors/inside"), "keep");
  SafeTensorsFile file;
  file.tensors["t"] = make_tensor(DType::F32, {2});
  test::expect_error([&] { write_safetensors(target, file); }, "cannot write " + target, "is a directory");
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_TRUE(fs::exists(path("model.safetensors/inside")));
  EXPECT_EQ(files(), std::vector<std::string>{"model.safetensors"});
}

// Runs `write` in a child process after `restrict` (a privilege drop or a resource limit that
// must not touch this process) and returns how it ended: 0 when it threw an Error whose one-line
// message starts with `prefix` and contains `rule`, 3 when it did not throw, 4 on a wrong
// message, 5 when `restrict` failed, else the signal or status.
int refusal_in_child(const std::function<bool()>& restrict, const std::function<void()>& write,
                     const std::string& prefix, const std::string& rule) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!restrict()) ::_exit(5);
    try {
      write();
    } catch (const Error& e) {
      const std::string msg = e.what();
      const bool ok = msg.rfind(prefix, 0) == 0 && msg.find(rule) != std::string::npos && msg.find('\n') == std::string::npos;
      if (!ok) std::fprintf(stderr, "unexpected message: %s\n", msg.c_str());
      ::_exit(ok ? 0 : 4);
    }
    ::_exit(3);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The atomic-write promise: a write that fails leaves the old file as it was and no temporary.
// As root (CI runs as root) the child drops to nobody, who owns the folder, so that the folder's
// missing write permission binds it.
TEST_F(SafeTensorsTest, FailedWriteInAReadOnlyFolderKeepsTheExistingFile) {
  SafeTensorsFile old_file;
  old_file.tensors["old"] = make_tensor(DType::U8, {3});
  const std::string p = path("model.safetensors");
  write_safetensors(p, old_file);
  const bool root = ::geteuid() == 0;
  constexpr uid_t kNobody = 65534;
  if (root) {
    ASSERT_EQ(::chown(dir_.c_str(), kNobody, kNobody), 0);
  }
  SafeTensorsFile new_file;
  new_file.tensors["new"] = make_tensor(DType::F32, {8});
  const int ended = refusal_in_child(
      [&] {
        if (root && (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) return false;
        return ::chmod(dir_.c_str(), 0555) == 0 && ::geteuid() != 0;
      },
      [&] { write_safetensors(p, new_file); }, "cannot write " + p, "Permission denied");
  ::chmod(dir_.c_str(), 0755);
  EXPECT_EQ(ended, 0) << "0: refused as expected, 3: the write succeeded, 4: another message, 5: cannot drop to a read-only folder";
  EXPECT_EQ(files(), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(read_safetensors(p).tensors.count("old"), 1u);
}

// The same promise when the disk fills up mid-write (RLIMIT_FSIZE with SIGXFSZ ignored, as the
// CLI does: the write fails with EFBIG), which binds root too.
TEST_F(SafeTensorsTest, FailedWriteOnAFullDiskKeepsTheExistingFile) {
  SafeTensorsFile old_file;
  old_file.tensors["old"] = make_tensor(DType::U8, {3});
  const std::string p = path("model.safetensors");
  write_safetensors(p, old_file);
  const std::string old_bytes = test::read_file(p);
  SafeTensorsFile new_file;
  new_file.tensors["new"] = make_tensor(DType::F32, {4096});  // 16 KB of data, over the 4 KB limit
  const int ended = refusal_in_child(
      [] {
        const rlimit limit{4096, 4096};
        return std::signal(SIGXFSZ, SIG_IGN) != SIG_ERR && ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
      },
      [&] { write_safetensors(p, new_file); }, "cannot write " + p, "File too large");
  EXPECT_EQ(ended, 0) << "0: refused as expected, 3: the write succeeded, 4: another message";
  EXPECT_EQ(files(), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(test::read_file(p), old_bytes);
}

TEST_F(SafeTensorsTest, DetectsFormatsByContent) {
  const std::string zip = path("model.bin");
  test::write_file(zip, std::string("PK\x03\x04rest", 8));
  EXPECT_EQ(detect_checkpoint_format(zip), CheckpointFormat::torch_zip);
  const std::string st = hand_made(R"({"__metadata__": {}})");
  EXPECT_EQ(detect_checkpoint_format(st), CheckpointFormat::safetensors);
  const std::string other = path("other.pt");
  test::write_file(other, "just some text that is long enough");
  EXPECT_EQ(detect_checkpoint_format(other), CheckpointFormat::unknown);
  const std::string tiny = path("tiny");
  test::write_file(tiny, "PK");
  EXPECT_EQ(detect_checkpoint_format(tiny), CheckpointFormat::unknown);
  EXPECT_THROW(detect_checkpoint_format(path("missing")), Error);
  EXPECT_EQ(detect_checkpoint_format(std::string(FMALENS_FIXTURES_DIR) + "/nanogpt_tiny.pt"),
            CheckpointFormat::torch_zip);
}

TEST_F(SafeTensorsTest, RefusesFilesThatAreNotRegular) {
  expect_refused(dir_, "not a regular file");
  expect_refused(path("missing.safetensors"), "cannot open");
}

}  // namespace
}  // namespace fmalens
