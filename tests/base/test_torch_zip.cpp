// torch.save checkpoints: real files from Python's torch (when installed) and the committed
// fixture, compared byte for byte with what Python wrote; hand-made pickles for every rule of
// the restricted unpickler (forbidden globals, nesting, bounds); damaged zips.
#include <gtest/gtest.h>
#include <zip.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "fmalens/checkpoint.h"
#include "test_util.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::string_literals;

const std::string kFixtures = FMALENS_FIXTURES_DIR;
const std::string kPython = "/usr/bin/python3";

bool shell_ok(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

bool has_python() {
  static const bool ok = shell_ok(kPython + " -c 'import pickle, zipfile'");
  return ok;
}
bool has_python_torch() {
  static const bool ok = shell_ok(kPython + " -c 'import torch'");
  return ok;
}

// A zip archive of stored (uncompressed) entries, in the order given, as torch.save writes.
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  for (const auto& [name, data] : entries) {
    zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
    const zip_int64_t i = zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE);
    ASSERT_GE(i, 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i), ZIP_CM_STORE, 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

// Pickle protocol 2 bytes, written opcode by opcode.
class PickleBytes {
 public:
  PickleBytes() { s_ = "\x80\x02"; }
  PickleBytes& op(char c) {
    s_ += c;
    return *this;
  }
  PickleBytes& raw(const std::string& b) {
    s_ += b;
    return *this;
  }
  PickleBytes& str(const std::string& v) {
    s_ += 'X';
    le(v.size(), 4);
    s_ += v;
    return *this;
  }
  PickleBytes& integer(int32_t v) {
    s_ += 'J';
    le(static_cast<uint32_t>(v), 4);
    return *this;
  }
  PickleBytes& global(const std::string& module, const std::string& name) {
    s_ += "c" + module + "\n" + name + "\n";
    return *this;
  }
  PickleBytes& ints(const std::vector<int>& v) {
    op('(');
    for (int x : v) integer(x);
    return op('t');
  }
  // torch._utils._rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset,
  // size, stride, False, OrderedDict())
  PickleBytes& tensor(const std::string& type, const std::string& key, int numel, int offset,
                      const std::vector<int>& size, const std::vector<int>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", type).str(key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset).ints(size).ints(stride).op('\x89');
    return global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  }
  const std::string& bytes() const { return s_; }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string s_;
};

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::vector<float> as_f32(const TensorData& t) {
  EXPECT_EQ(t.dtype, DType::F32);
  std::vector<float> out(t.bytes.size() / 4);
  std::memcpy(out.data(), t.bytes.data(), out.size() * 4);
  return out;
}

std::string hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Every value Python wrote to `expected_json` (make_nanogpt_tiny.py), compared exactly.
void expect_matches(const TorchCheckpoint& ckpt, const std::string& expected_json) {
  const json expected = json::parse(test::read_file(expected_json));
  const json& sd = expected.at("state_dict");
  EXPECT_EQ(ckpt.state_dict.size(), sd.size());
  for (const auto& [key, want] : sd.items()) {
    const auto it = ckpt.state_dict.find(key);
    if (it == ckpt.state_dict.end()) {
      ADD_FAILURE() << "missing tensor " << key;
      continue;
    }
    EXPECT_EQ(dtype_name(it->second.dtype), want.at("dtype").get<std::string>()) << key;
    EXPECT_EQ(it->second.shape, want.at("shape").get<std::vector<int64_t>>()) << key;
    EXPECT_EQ(hex(it->second.bytes), want.at("hex").get<std::string>()) << key;
  }
  EXPECT_EQ(json::parse(ckpt.model_args_json), expected.at("model_args"));
  EXPECT_EQ(json::parse(ckpt.extras_json), expected.at("extras"));
}

class TorchZipTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return tmp_.path(name); }

  // archive/data.pkl plus the given storages, as torch.save lays them out.
  std::string checkpoint(const PickleBytes& pickle, std::vector<std::pair<std::string, std::string>> storages = {}) {
    std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pickle.bytes()}};
    for (auto& [key, bytes] : storages) entries.emplace_back("archive/data/" + key, std::move(bytes));
    entries.emplace_back("archive/version", "3\n");
    const std::string p = path("ckpt" + std::to_string(count_++) + ".pt");
    write_zip(p, entries);
    return p;
  }

  // {'model': {'w': <one tensor>}} and a 4-float storage holding 1, 2, 3, 4.
  std::string one_tensor(int numel, int offset, const std::vector<int>& size, const std::vector<int>& stride,
                         const std::string& storage_bytes = f32_bytes({1, 2, 3, 4})) {
    PickleBytes p;
    p.op('}').op('(').str("model").op('}').op('(').str("w");
    p.tensor("FloatStorage", "0", numel, offset, size, stride).op('u').op('u').op('.');
    return checkpoint(p, {{"0", storage_bytes}});
  }

  void expect_refused(const std::string& file, const std::string& rule) {
    test::expect_error([&] { read_torch_checkpoint(file); }, file + ": ", rule);
  }

  test::TempDir tmp_;
  int count_ = 0;
};

// (e) The committed fixture: tested even where Python's torch is missing.
TEST_F(TorchZipTest, ReadsTheCommittedNanoGptFixture) {
  const TorchCheckpoint ckpt = read_torch_checkpoint(kFixtures + "/nanogpt_tiny.pt");
  expect_matches(ckpt, kFixtures + "/nanogpt_tiny.json");
  const auto& sd = ckpt.state_dict;
  ASSERT_TRUE(sd.count("_orig_mod.lm_head.weight"));
  EXPECT_EQ(sd.at("_orig_mod.lm_head.weight").bytes, sd.at("_orig_mod.transformer.wte.weight").bytes);
  EXPECT_EQ(sd.at("_orig_mod.transformer.wpe.weight").shape, (std::vector<int64_t>{16, 8}));
  EXPECT_EQ(sd.at("_orig_mod.transformer.h.0.attn.c_attn.weight").dtype, DType::F16);
  EXPECT_EQ(sd.at("_orig_mod.transformer.h.0.mlp.c_fc.weight").dtype, DType::BF16);
  EXPECT_EQ(sd.at("_orig_mod.transformer.h.0.attn.bias").dtype, DType::I64);
  const json args = json::parse(ckpt.model_args_json);
  EXPECT_EQ(args.at("m"), 4);
  EXPECT_EQ(args.at("downsampling"), "groupedconv");
  const json extras = json::parse(ckpt.extras_json);
  EXPECT_EQ(extras.at("best_val_loss"), 1.5);
  EXPECT_FALSE(extras.contains("optimizer"));
}

// (a) Files written now by the local torch.save, with every kind of tensor the importer meets.
TEST_F(TorchZipTest, ReadsWhatTorchSaveWritesByteForByte) {
  if (!has_python_torch()) GTEST_SKIP() << kPython << " has no torch (Debian package python3-torch)";
  const std::string cmd = kPython + " " + kFixtures + "/make_nanogpt_tiny.py " + tmp_.str() + " --variants";
  ASSERT_TRUE(shell_ok(cmd)) << cmd;
  const TorchCheckpoint ckpt = read_torch_checkpoint(path("nanogpt_tiny.pt"));
  expect_matches(ckpt, path("nanogpt_tiny.json"));
  const auto& sd = ckpt.state_dict;
  EXPECT_EQ(sd.at("_orig_mod.extra.expand").shape, (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(sd.at("_orig_mod.extra.empty").bytes.empty());
  EXPECT_TRUE(sd.at("_orig_mod.extra.scalar").shape.empty());
  const json extras = json::parse(ckpt.extras_json);
  EXPECT_FALSE(extras.contains("rng_state"));
  EXPECT_FALSE(extras.contains("ema"));
  EXPECT_EQ(extras.at("int_scalar"), 7);
}

// (b) A pickle that would run a shell command when loaded by Python.
TEST_F(TorchZipTest, RefusesPythonMadeMaliciousPickleWithoutRunningIt) {
  if (!has_python()) GTEST_SKIP() << "no " << kPython;
  const std::string marker = path("pwned");
  const std::string script = path("evil.py");
  test::write_file(script,
                   "import os, pickle, sys, zipfile\n"
                   "class Evil:\n"
                   "    def __reduce__(self):\n"
                   "        return (os.system, ('touch ' + sys.argv[2],))\n"
                   "class EvalEvil:\n"
                   "    def __reduce__(self):\n"
                   "        return (eval, (\"__import__('os').system('touch \" + sys.argv[2] + \"')\",))\n"
                   "evil = EvalEvil() if sys.argv[3] == 'eval' else Evil()\n"
                   "data = pickle.dumps({'model': {'w': evil}}, protocol=2)\n"
                   "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                   "    z.writestr('evil/data.pkl', data)\n"
                   "    z.writestr('evil/version', '3\\n')\n");
  for (const auto& [kind, global] : {std::pair{"system", "posix.system"}, std::pair{"eval", "__builtin__.eval"}}) {
    const std::string file = path(std::string("evil_") + kind + ".pt");
    ASSERT_TRUE(shell_ok(kPython + " " + script + " " + file + " " + marker + " " + kind));
    expect_refused(file, std::string("pickle names a forbidden global '") + global + "'");
    EXPECT_FALSE(fs::exists(marker));
  }
}

TEST_F(TorchZipTest, RefusesEveryGlobalOutsideTheStateDictTypes) {
  const std::string marker = path("pwned");
  const std::pair<const char*, const char*> forbidden[] = {{"os", "system"},
                                                           {"posix", "system"},
                                                           {"nt", "system"},
                                                           {"builtins", "eval"},
                                                           {"builtins", "exec"},
                                                           {"__builtin__", "getattr"},
                                                           {"subprocess", "Popen"},
                                                           {"torch", "load"},
                                                           {"torch._utils", "_rebuild_qtensor"},
                                                           {"torch", "UntypedStorage"},
                                                           {"collections", "defaultdict"},
                                                           {"numpy.core.multiarray", "scalar"}};
  for (const auto& [module, name] : forbidden) {
    PickleBytes p;
    p.op('}').op('(').str("model").global(module, name).str("touch " + marker).op('\x85').op('R').op('u').op('.');
    expect_refused(checkpoint(p), std::string("forbidden global '") + module + "." + name + "'");
  }
  // The same through STACK_GLOBAL (protocol 4).
  PickleBytes p;
  p.op('}').op('(').str("model").str("os").str("system").op('\x93').str("id").op('\x85').op('R').op('u').op('.');
  expect_refused(checkpoint(p), "forbidden global 'os.system'");
  EXPECT_FALSE(fs::exists(marker));
}

// (c) Nesting deep enough to overflow a recursive reader's stack.
TEST_F(TorchZipTest, RefusesDeepNestingWithoutRecursion) {
  const size_t n = 100'000;
  PickleBytes marks;
  marks.raw(std::string(n, '(')).op('.');
  expect_refused(checkpoint(marks), "pickle nests deeper than 1000 levels");

  PickleBytes lists;  // [[[[...]]]]: n empty lists, then n - 1 APPENDs
  lists.raw(std::string(n, ']')).raw(std::string(n - 1, 'a')).op('.');
  expect_refused(checkpoint(lists), "pickle nests deeper than 1000 levels");

  PickleBytes tuples;  // ((((),),),)
  tuples.op(')').raw(std::string(n, '\x85')).op('.');
  expect_refused(checkpoint(tuples), "pickle nests deeper than 1000 levels");

  PickleBytes dicts;  // {'k': {'k': ...}} built inside out through the memo
  dicts.op('}').raw("q\x00"s);
  for (size_t i = 0; i < 2000; ++i) dicts.op('}').str("k").raw("h\x00"s).op('s').raw("q\x00"s);
  dicts.op('.');
  expect_refused(checkpoint(dicts), "pickle nests deeper than 1000 levels");
}

TEST_F(TorchZipTest, RefusesCyclesAndExplodingSharedReferencesInPlainData) {
  PickleBytes cycle;  // config = L where L = [L]
  cycle.op('}').op('(').str("model").op('}').str("config").op(']').raw("q\x00h\x00"s).op('a').op('u').op('.');
  expect_refused(checkpoint(cycle), "pickle nests deeper than 1000 levels");

  PickleBytes dag;  // config = T40 where T(k+1) = (Tk, Tk): 2^40 paths through 41 values
  dag.op('}').op('(').str("model").op('}').str("config").op(')').raw("q\x00"s);
  for (int i = 0; i < 40; ++i) dag.raw("h\x00\x86q\x00"s);
  dag.op('u').op('.');
  expect_refused(checkpoint(dag), "shared references are expanded");
}

TEST_F(TorchZipTest, MaterialisesViewsWithOffsetsAndStrides) {
  TorchCheckpoint c = read_torch_checkpoint(one_tensor(4, 0, {2, 2}, {2, 1}));
  EXPECT_EQ(as_f32(c.state_dict.at("w")), (std::vector<float>{1, 2, 3, 4}));
  c = read_torch_checkpoint(one_tensor(4, 0, {2, 2}, {1, 2}));  // transposed
  EXPECT_EQ(as_f32(c.state_dict.at("w")), (std::vector<float>{1, 3, 2, 4}));
  c = read_torch_checkpoint(one_tensor(4, 1, {3}, {1}));  // storage offset
  EXPECT_EQ(as_f32(c.state_dict.at("w")), (std::vector<float>{2, 3, 4}));
  c = read_torch_checkpoint(one_tensor(4, 3, {}, {}));  // 0-dim
  EXPECT_EQ(as_f32(c.state_dict.at("w")), (std::vector<float>{4}));
  EXPECT_TRUE(c.state_dict.at("w").shape.empty());
  c = read_torch_checkpoint(one_tensor(4, 1, {2, 3}, {0, 1}));  // expand(): stride 0
  EXPECT_EQ(as_f32(c.state_dict.at("w")), (std::vector<float>{2, 3, 4, 2, 3, 4}));
  c = read_torch_checkpoint(one_tensor(4, 0, {2, 1, 2}, {1, 7, 2}));  // size-1 dims ignore their stride
  EXPECT_EQ(as_f32(c.state_dict.at("w")), (std::vector<float>{1, 3, 2, 4}));
  c = read_torch_checkpoint(one_tensor(4, 9, {0, 5}, {5, 1}));  // empty: addresses nothing
  EXPECT_TRUE(c.state_dict.at("w").bytes.empty());
  EXPECT_EQ(c.model_args_json, "{}");
  EXPECT_EQ(c.extras_json, "{}");
}

TEST_F(TorchZipTest, RefusesTensorsOutsideTheirStorage) {
  expect_refused(one_tensor(4, 3, {2}, {1}), "reads element 4 of a storage of 4");
  expect_refused(one_tensor(4, 0, {2, 2}, {3, 1}), "reads element 4 of a storage of 4");
  expect_refused(one_tensor(4, -1, {1}, {1}), "negative storage offset");
  expect_refused(one_tensor(4, 3, {2}, {-1}), "negative stride");
  expect_refused(one_tensor(4, 0, {-2}, {1}), "negative or too large shape");
  expect_refused(one_tensor(4, 0, {65536, 65536, 65536, 65536}, {0, 0, 0, 0}), "negative or too large shape");
  expect_refused(one_tensor(4, 0, {2, 2}, {1}), "has 1 strides");
  expect_refused(one_tensor(8, 0, {8}, {1}), "holds 16 bytes, fewer than 8 elements of F32");
  expect_refused(one_tensor(4, 0, {2000000000}, {0}), "far more than the file holds");
  PickleBytes p;
  p.op('}').op('(').str("model").op('}').op('(').str("w");
  p.tensor("FloatStorage", "7", 4, 0, {4}, {1}).op('u').op('u').op('.');
  expect_refused(checkpoint(p, {{"0", f32_bytes({1, 2, 3, 4})}}), "missing storage entry 'archive/data/7'");
}

TEST_F(TorchZipTest, ReadsATopLevelStateDictAndParameters) {
  PickleBytes p;  // {'a': Parameter(tensor), 'b': tensor on the same storage}, protocol 4 strings
  p.op('}')
      .op('(')
      .raw(
          "\x8c\x01"
          "a")
      .op('\x94')
      .global("torch._utils", "_rebuild_parameter");
  p.tensor("FloatStorage", "0", 4, 0, {2}, {1}).op('\x88').global("collections", "OrderedDict").op(')').op('R');
  p.op('\x87')
      .op('R')
      .raw(
          "\x8c\x01"
          "b")
      .tensor("FloatStorage", "0", 4, 2, {2}, {1})
      .op('u')
      .op('.');
  const TorchCheckpoint c = read_torch_checkpoint(checkpoint(p, {{"0", f32_bytes({1, 2, 3, 4})}}));
  EXPECT_EQ(as_f32(c.state_dict.at("a")), (std::vector<float>{1, 2}));
  EXPECT_EQ(as_f32(c.state_dict.at("b")), (std::vector<float>{3, 4}));
  EXPECT_EQ(c.extras_json, "{}");
}

TEST_F(TorchZipTest, ConvertsModelArgsAndExtrasToJson) {
  PickleBytes p;
  p.op('}').op('(').str("model").op('}').str("model_args").op('}').op('(');
  p.str("n_layer").raw("K\x06").str("neg").integer(-5).str("big").raw("\x8a\x05\x00\x00\x00\x00\x80"s);
  p.str("bias").op('\x89').str("m").op('N').str("lr").raw("G\x3f\x50\x62\x4d\xd2\xf1\xa9\xfc"s);
  p.str("sizes").op(']').op('(').raw("K\x01K\x02").op('e').op('u');
  p.str("iter_num").raw("M\x10\x27").str("optimizer").op('}').str("dup").raw("K\x01").str("dup").raw("K\x02");
  p.op('u').op('.');
  const TorchCheckpoint c = read_torch_checkpoint(checkpoint(p));
  EXPECT_EQ(json::parse(c.model_args_json),
            json::parse(R"({"n_layer": 6, "neg": -5, "big": -549755813888, "bias": false, "m": null,
                            "lr": 0.001, "sizes": [1, 2]})"));
  EXPECT_EQ(json::parse(c.extras_json), json::parse(R"({"iter_num": 10000, "dup": 2})"));
}

TEST_F(TorchZipTest, RefusesMalformedPickles) {
  auto model_is = [](const std::string& value_ops) {
    PickleBytes p;
    p.op('}').op('(').str("model").raw(value_ops).op('u').op('.');
    return p;
  };
  expect_refused(checkpoint(model_is("i__main__\nX\n")), "unsupported pickle opcode INST (0x69)");
  expect_refused(checkpoint(model_is("\xff"s)), "unsupported pickle opcode 0xff");
  expect_refused(checkpoint(model_is("h\x05"s)), "memo entry 5 was never stored");
  expect_refused(checkpoint(model_is("\x8a\x09" + std::string(9, '\x01'))), "integer wider than 64 bits");
  expect_refused(checkpoint(model_is("X\xff\xff\xff\x7f"
                                     "abc")),
                 "truncated pickle");
  expect_refused(checkpoint(model_is("X\x02\x00\x00\x00\xc3\x28"s)), "string is not valid UTF-8");
  expect_refused(checkpoint(model_is("K\x01")), "'model' is not a dict of tensors");
  expect_refused(checkpoint(model_is("}(X\x01\x00\x00\x00wK\x01u"s)), "state_dict entry 'w' is not a tensor");
  expect_refused(checkpoint(model_is("K\x01"
                                     "a")),
                 "APPEND to something that is not a list");
  expect_refused(checkpoint(model_is("(K\x01u")), "SETITEMS with an odd number of values");
  expect_refused(checkpoint(model_is("s")), "stack underflow");
  expect_refused(checkpoint(model_is("ccollections\nOrderedDict\n(K\x01tR")),
                 "OrderedDict(...) with arguments is not supported");
  PickleBytes list_root;
  list_root.op(']').op('.');
  expect_refused(checkpoint(list_root), "the checkpoint is not a dict");
  PickleBytes no_stop;
  no_stop.op('}');
  expect_refused(checkpoint(no_stop), "ends without STOP");
  PickleBytes proto9;
  proto9.raw("\x80\x09}.");
  expect_refused(checkpoint(proto9), "unsupported pickle protocol 9");
  PickleBytes no_model;
  no_model.op('}').op('(').str("iter_num").raw("K\x01").op('u').op('.');
  expect_refused(checkpoint(no_model), "no state_dict");
  PickleBytes bad_pid;
  bad_pid.op('}').op('(').str("model").str("storage").op('\x85').op('Q').op('u').op('.');
  expect_refused(checkpoint(bad_pid), "persistent id is not ('storage', type, key, location, numel)");
}

// (d) Damaged containers.
TEST_F(TorchZipTest, RefusesDamagedOrForeignFiles) {
  const std::string fixture = test::read_file(kFixtures + "/nanogpt_tiny.pt");
  ASSERT_GT(fixture.size(), 1000u);
  test::write_file(path("half.pt"), fixture.substr(0, fixture.size() / 2));
  expect_refused(path("half.pt"), "not a zip archive, or a truncated one");
  for (size_t cut = 0; cut < fixture.size(); cut += 1 + fixture.size() / 50) {  // never a crash
    test::write_file(path("cut.pt"), fixture.substr(0, cut));
    EXPECT_THROW(read_torch_checkpoint(path("cut.pt")), Error) << cut;
  }
  std::mt19937 rng(42);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  test::write_file(path("noise.pt"), noise);
  expect_refused(path("noise.pt"), "not a zip archive");
  test::write_file(path("empty.pt"), "");
  expect_refused(path("empty.pt"), "not a zip archive");
  expect_refused(path("missing.pt"), "cannot open");
  write_zip(path("nopkl.pt"), {{"archive/version", "3\n"}, {"archive/data/0", "abcd"}});
  expect_refused(path("nopkl.pt"), "has no <name>/data.pkl");
  write_zip(path("two.pt"), {{"a/data.pkl", "\x80\x02}."}, {"b/data.pkl", "\x80\x02}."}});
  expect_refused(path("two.pt"), "more than one data.pkl");
  write_zip(path("big_endian.pt"), {{"a/data.pkl", "\x80\x02}."}, {"a/byteorder", "big"}});
  expect_refused(path("big_endian.pt"), "only little-endian");
}

TEST_F(TorchZipTest, RefusesAStorageWithABadCrc) {
  const std::string good = one_tensor(4, 0, {4}, {1}, f32_bytes({1.25f, 2.5f, 3.75f, 5.0f}));
  std::string bytes = test::read_file(good);
  const size_t at = bytes.find(f32_bytes({1.25f, 2.5f, 3.75f, 5.0f}));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] ^= 0x40;
  test::write_file(path("crc.pt"), bytes);
  expect_refused(path("crc.pt"), "'archive/data/0' is damaged (CRC error)");
}

TEST_F(TorchZipTest, SurvivesEveryByteOfTheFixturePickleMutated) {
  // Rebuild the fixture with one byte of data.pkl changed at a time: every result is either a
  // checkpoint or an Error, never a crash or a hang.
  int err = 0;
  zip_t* z = zip_open((kFixtures + "/nanogpt_tiny.pt").c_str(), ZIP_RDONLY, &err);
  ASSERT_NE(z, nullptr);
  std::vector<std::pair<std::string, std::string>> entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st);
    std::string data(st.size, '\0');
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    ASSERT_EQ(zip_fread(f, data.data(), data.size()), static_cast<zip_int64_t>(data.size()));
    zip_fclose(f);
    entries.emplace_back(st.name, data);
  }
  zip_discard(z);
  const auto pkl = std::find_if(entries.begin(), entries.end(),
                                [](const auto& e) { return e.first.find("data.pkl") != std::string::npos; });
  ASSERT_NE(pkl, entries.end());
  const std::string original = pkl->second;
  std::mt19937 rng(7);
  int accepted = 0, refused = 0;
  for (size_t pos = 2; pos < original.size(); pos += 11) {
    pkl->second = original;
    pkl->second[pos] = static_cast<char>(rng());
    write_zip(path("mutant.pt"), entries);
    try {
      const TorchCheckpoint ck = read_torch_checkpoint(path("mutant.pt"));
      ++accepted;
      // What a mutant that still parses delivers is consistent: every tensor holds exactly
      // its shape's bytes.
      for (const auto& [name, t] : ck.state_dict) {
        ASSERT_GE(t.numel(), 0) << name;
        ASSERT_EQ(t.bytes.size(), static_cast<size_t>(t.numel()) * dtype_size(t.dtype)) << name << " at byte " << pos;
      }
    } catch (const Error&) {
      ++refused;
    }
  }
  // Both outcomes happen: the reader neither trusts every byte nor refuses harmless changes
  // (a byte inside a name or an unused field).
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace fmalens
