// torch.save checkpoints (the zip format, default since torch 1.6) read without torch and
// without executing anything: libzip reads the archive and checks each CRC; a restricted
// unpickler (unpickler.h) knows only the opcodes and globals that a state_dict and plain data need.
// Layout: <prefix>/data.pkl (pickle), <prefix>/data/<key> (raw little-endian storages),
// <prefix>/version, maybe <prefix>/byteorder.
#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "fmalens/checkpoint.h"
#include "base/io/checkpoint_detail.h"
#include "base/io/unpickler.h"

namespace fmalens {
namespace {

using Json = nlohmann::ordered_json;
using pickle::Value;

constexpr uint64_t kMaxEntryBytes = uint64_t{4} << 30;
// Plain data (model_args, config) is small; shared references could make it exponential.
constexpr size_t kMaxPlainValues = 1'000'000;

// The zip archive, open for reading; every refusal names the file.
class Archive {
 public:
  explicit Archive(const std::string& path) : path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail(std::string("cannot open: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    file_size_ = static_cast<uint64_t>(st.st_size);
    if (file_size_ == 0) fail("the file is empty (not a zip archive)");
    int code = 0;
    zip_.reset(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
    if (!zip_) {
      zip_error_t err;
      zip_error_init_with_code(&err, code);
      const std::string why = zip_error_strerror(&err);
      zip_error_fini(&err);
      if (code == ZIP_ER_NOZIP) fail("not a zip archive, or a truncated one (not a torch.save checkpoint)");
      if (code == ZIP_ER_INCONS) fail("the zip archive is damaged or truncated (" + why + ")");
      fail("cannot open the zip archive: " + why);
    }
    // The prefix is the archive's name: the folder that holds data.pkl.
    const zip_int64_t n = zip_get_num_entries(zip_.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(zip_.get(), static_cast<zip_uint64_t>(i), 0);
      if (!name) continue;
      const std::string s = name;
      const size_t slash = s.find('/');
      if (slash == 0 || slash == std::string::npos || s.compare(slash, std::string::npos, "/data.pkl") != 0) continue;
      if (!prefix_.empty()) fail("the zip archive holds more than one data.pkl");
      prefix_ = s.substr(0, slash + 1);
    }
    if (prefix_.empty()) fail("the zip archive has no <name>/data.pkl (not a torch.save checkpoint)");
  }

  [[noreturn]] void fail(const std::string& rule) const { throw Error(shown_path(path_) + ": " + rule); }
  const std::string& prefix() const { return prefix_; }
  uint64_t file_size() const { return file_size_; }

  std::optional<zip_uint64_t> locate(const std::string& name) const {
    const zip_int64_t i = zip_name_locate(zip_.get(), name.c_str(), 0);
    if (i < 0) return std::nullopt;
    return static_cast<zip_uint64_t>(i);
  }

  // Uncompressed size, refused beyond 4 GB or 1000 times the file (a zip bomb).
  uint64_t entry_size(zip_uint64_t index, const std::string& name) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_.get(), index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
      fail("cannot read the size of " + quote(name));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      fail(quote(name) + " is encrypted");
    const uint64_t limit = file_size_ > kMaxEntryBytes / 1000 ? kMaxEntryBytes : file_size_ * 1000;
    if (st.size > limit)
      fail(quote(name) + " would uncompress to " + std::to_string(st.size) +
           " bytes, more than 4 GB or 1000 times the file");
    return st.size;
  }

  // The whole entry. Reading to the end is what makes libzip compare the CRC.
  std::vector<uint8_t> read(zip_uint64_t index, const std::string& name) const {
    const uint64_t size = entry_size(index, name);
    const std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(zip_fopen_index(zip_.get(), index, 0), &zip_fclose);
    if (!f) fail("cannot read " + quote(name) + ": " + zip_strerror(zip_.get()));
    std::vector<uint8_t> out(size);
    uint64_t done = 0;
    std::string why;
    for (;;) {
      uint8_t extra = 0;
      const bool full = done == size;
      const zip_int64_t r = zip_fread(f.get(), full ? &extra : out.data() + done, full ? 1 : size - done);
      if (r < 0) why = zip_file_strerror(f.get());
      if (r > 0 && full) why = "longer than the zip directory says";
      if (r <= 0 || full) break;
      done += static_cast<uint64_t>(r);
    }
    if (!why.empty()) fail(quote(name) + " is damaged (" + why + ")");
    if (done != size) fail(quote(name) + " is truncated");
    return out;
  }

 private:
  std::string path_, prefix_;
  uint64_t file_size_ = 0;
  std::unique_ptr<zip_t, decltype(&zip_discard)> zip_{nullptr, &zip_discard};  // freed when a constructor throws too
};

std::string storage_name(const Archive& zip, const std::string& key) { return zip.prefix() + "data/" + key; }

float half_to_float(uint16_t h) {
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  float v = exp == 0    ? std::ldexp(static_cast<float>(mant), -24)
            : exp == 31 ? (mant ? NAN : INFINITY)
                        : std::ldexp(static_cast<float>(mant | 0x400), exp - 25);
  return (h & 0x8000) ? -v : v;
}

// Turns the unpickled values into what TorchCheckpoint holds. Storages are read from the zip
// only when a tensor that is kept needs them (an optimizer's are never read).
class Converter {
 public:
  Converter(const Archive& zip, const pickle::Pickle& p) : zip_(zip), pickle_(p), loaded_(p.storages.size()) {}

  // A contiguous copy of the tensor (strides and offset applied, bounds checked when built).
  TensorData materialize(const Value* v) {
    const pickle::TensorView& t = pickle_.tensors[static_cast<size_t>(v->i)];
    const pickle::StorageRef& s = pickle_.storages[t.storage];
    std::vector<uint8_t>& storage = loaded_[t.storage];
    if (storage.empty() && s.numel > 0) {
      const std::string name = storage_name(zip_, s.key);
      storage = zip_.read(*zip_.locate(name), name);
      storage_bytes_ += storage.size();
    }
    const auto elem = static_cast<int64_t>(dtype_size(s.dtype));
    const int64_t numel = detail::checked_numel(t.size, elem);
    TensorData out;
    out.dtype = s.dtype;
    out.shape = t.size;
    // Views that repeat elements (expand) could ask for far more than the file holds.
    output_bytes_ += static_cast<uint64_t>(numel * elem);
    if (output_bytes_ > 4 * std::max(zip_.file_size(), storage_bytes_) + (uint64_t{64} << 20))
      zip_.fail("the tensors would take " + std::to_string(output_bytes_) + " bytes, far more than the file holds");
    out.bytes.resize(static_cast<size_t>(numel * elem));
    if (numel == 0) return out;
    const uint8_t* src = storage.data();
    const size_t rank = t.size.size();
    bool contiguous = true;
    int64_t expected = 1;
    for (size_t k = rank; k-- > 0;) {
      if (t.size[k] != 1 && t.stride[k] != expected) contiguous = false;
      expected *= t.size[k];
    }
    if (contiguous) {
      std::memcpy(out.bytes.data(), src + t.offset * elem, out.bytes.size());
      return out;
    }
    // Row-major walk over all but the last dimension; the last one is one run when dense.
    std::vector<int64_t> idx(rank, 0);
    const int64_t inner = t.size[rank - 1], inner_stride = t.stride[rank - 1];
    uint8_t* dst = out.bytes.data();
    for (;;) {
      int64_t base = t.offset;
      for (size_t k = 0; k + 1 < rank; ++k) base += idx[k] * t.stride[k];
      if (inner_stride == 1) {
        std::memcpy(dst, src + base * elem, static_cast<size_t>(inner * elem));
        dst += inner * elem;
      } else {
        for (int64_t j = 0; j < inner; ++j, dst += elem) std::memcpy(dst, src + (base + j * inner_stride) * elem, elem);
      }
      size_t k = rank - 1;
      while (k > 0 && ++idx[k - 1] == t.size[k - 1]) idx[--k] = 0;
      if (k == 0) break;
    }
    return out;
  }

  // Plain data (None, bools, numbers, strings, lists, tuples, dicts with string keys) as JSON;
  // nullopt for anything that holds something else (tensors, globals).
  std::optional<Json> plain(const Value* v, size_t depth = 0) {
    if (depth > pickle::kMaxDepth) zip_.fail(pickle::too_deep());
    if (++visited_ > kMaxPlainValues)
      zip_.fail("plain data (model_args, config, ...) holds more than " + std::to_string(kMaxPlainValues) +
                " values once its shared references are expanded");
    switch (v->kind) {
      case Value::Kind::none: return Json(nullptr);
      case Value::Kind::boolean: return Json(v->i != 0);
      case Value::Kind::integer: return Json(v->i);
      case Value::Kind::floating: return Json(v->f);
      case Value::Kind::string: return Json(v->s);
      case Value::Kind::tuple:
      case Value::Kind::list: {
        Json out = Json::array();
        for (const Value* item : v->items) {
          auto j = plain(item, depth + 1);
          if (!j) return std::nullopt;
          out.push_back(std::move(*j));
        }
        return out;
      }
      case Value::Kind::dict: {
        Json out = Json::object();
        for (const auto& [key, value] : pickle_.dict(v).entries) {
          auto j = key->kind == Value::Kind::string ? plain(value, depth + 1) : std::nullopt;
          if (!j) return std::nullopt;
          out[key->s] = std::move(*j);
        }
        return out;
      }
      default: return std::nullopt;
    }
  }

  // A 0-dim tensor (e.g. nanoGPT's best_val_loss) as a JSON number or bool.
  std::optional<Json> scalar(const Value* v) {
    if (!pickle_.tensors[static_cast<size_t>(v->i)].size.empty()) return std::nullopt;
    const TensorData t = materialize(v);
    const uint8_t* p = t.bytes.data();
    auto read = [p](auto x) {
      std::memcpy(&x, p, sizeof x);
      return x;
    };
    switch (t.dtype) {
      case DType::F64: return Json(read(double{}));
      case DType::F32: return Json(read(float{}));
      case DType::F16: return Json(half_to_float(read(uint16_t{})));
      case DType::BF16: {
        const uint32_t bits = uint32_t{read(uint16_t{})} << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return Json(f);
      }
      case DType::I64: return Json(read(int64_t{}));
      case DType::I32: return Json(read(int32_t{}));
      case DType::I16: return Json(read(int16_t{}));
      case DType::I8: return Json(read(int8_t{}));
      case DType::U8: return Json(read(uint8_t{}));
      case DType::BOOL: return Json(p[0] != 0);
    }
    return std::nullopt;
  }

 private:
  const Archive& zip_;
  const pickle::Pickle& pickle_;
  std::vector<std::vector<uint8_t>> loaded_;  // by storage index, read on first use
  uint64_t storage_bytes_ = 0, output_bytes_ = 0;
  size_t visited_ = 0;
};

}  // namespace

TorchCheckpoint read_torch_checkpoint(const std::string& path) {
  Archive zip(path);
  if (const auto order = zip.locate(zip.prefix() + "byteorder")) {
    const std::vector<uint8_t> b = zip.read(*order, zip.prefix() + "byteorder");
    if (std::string(b.begin(), b.end()) != "little") zip.fail("only little-endian checkpoints are supported");
  }
  const std::string pkl_name = zip.prefix() + "data.pkl";
  const std::vector<uint8_t> pkl = zip.read(*zip.locate(pkl_name), pkl_name);
  const auto check_storage = [&zip](const std::string& key, DType dtype, int64_t numel) {
    const std::string name = storage_name(zip, key);
    const auto entry = zip.locate(name);
    if (!entry) zip.fail("missing storage entry " + quote(name));
    const uint64_t have = zip.entry_size(*entry, name);
    const int64_t need = detail::checked_numel({numel}, static_cast<int64_t>(dtype_size(dtype)));
    if (need < 0 || have < static_cast<uint64_t>(need) * dtype_size(dtype))
      zip.fail("storage " + quote(name) + " holds " + std::to_string(have) + " bytes, fewer than " +
               std::to_string(numel) + " elements of " + dtype_name(dtype));
  };
  const std::unique_ptr<pickle::Pickle> pickled = pickle::unpickle(pkl, path, check_storage);
  const Value* root = pickled->root;
  if (root->kind != Value::Kind::dict) zip.fail("the checkpoint is not a dict");
  const pickle::Dict& top = pickled->dict(root);
  Converter converter(zip, *pickled);

  // The state_dict: 'model', or the whole dict when it holds only tensors.
  const Value* model = pickle::Pickle::lookup(top, "model");
  const pickle::Dict* state = nullptr;
  if (model) {
    if (model->kind != Value::Kind::dict) zip.fail("'model' is not a dict of tensors");
    state = &pickled->dict(model);
  } else {
    bool all_tensors = !top.entries.empty();
    for (const auto& kv : top.entries) all_tensors = all_tensors && kv.second->kind == Value::Kind::tensor;
    if (!all_tensors) zip.fail("no state_dict: no 'model' entry, and the checkpoint is not a dict of tensors");
    state = &top;
  }
  TorchCheckpoint out;
  for (const auto& [key, value] : state->entries) {
    if (key->kind != Value::Kind::string) zip.fail("the state_dict has a key that is not a string");
    if (value->kind != Value::Kind::tensor) zip.fail("state_dict entry " + quote(key->s) + " is not a tensor");
    out.state_dict[key->s] = converter.materialize(value);
  }

  const auto dump = [](const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); };
  out.model_args_json = "{}";
  out.extras_json = "{}";
  if (state == &top) return out;
  if (const Value* args = pickle::Pickle::lookup(top, "model_args")) {
    const auto j = converter.plain(args);
    if (j && j->is_object()) out.model_args_json = dump(*j);
  }
  Json extras = Json::object();
  for (const auto& [key, value] : top.entries) {
    if (key->kind != Value::Kind::string || key->s == "model" || key->s == "model_args" || key->s == "optimizer")
      continue;
    const auto j = value->kind == Value::Kind::tensor ? converter.scalar(value) : converter.plain(value);
    if (j) extras[key->s] = *j;
  }
  out.extras_json = dump(extras);
  return out;
}

}  // namespace fmalens
