// safetensors: 8-byte little-endian header length N, N bytes of JSON (padded with spaces),
// then the data area; every tensor's data_offsets are relative to the data area, which the
// tensors must cover exactly (no gaps, no overlaps, no trailing bytes).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fmalens/quote.h"
#include "fmalens/atomic_file.h"
#include "fmalens/checkpoint.h"
#include "base/io/checkpoint_detail.h"

namespace fmalens {
namespace {

using detail::shape_string;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kMaxRank = 64;

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {{DType::F64, "F64", 8},   {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
                                 {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
                                 {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
                                 {DType::BOOL, "BOOL", 1}};

// A read-only file descriptor that closes itself.
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; it is refused below.
    // Reads of regular files ignore the flag.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) throw Error(shown_path(path) + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const { return size_; }
  // Reads up to `n` bytes; fewer only at the end of the file.
  size_t read_some(void* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::read(fd_, static_cast<char*>(out) + done, n - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail(std::string("read error: ") + std::strerror(errno));
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }
  void read_exact(void* out, size_t n) {
    if (read_some(out, n) != n) fail("file ended early (was it changed while being read?)");
  }
  [[noreturn]] void fail(const std::string& rule) const { throw Error(shown_path(path_) + ": " + rule); }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Entry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint64_t> offsets;
  bool has_dtype = false, has_shape = false, has_offsets = false;
};

// Validates the header's schema while it is parsed (SAX), so that hostile headers never build
// a large JSON tree: nesting beyond the schema is refused at the first unexpected event.
class HeaderParser : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string error;  // the first rule broken
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;

  bool null() override { return unexpected(); }
  bool boolean(bool) override { return unexpected(); }
  bool number_integer(number_integer_t v) override {
    if (state_ == State::shape) return fail(entry_name() + " has a negative dimension " + std::to_string(v));
    if (state_ == State::offsets) return fail(entry_name() + " has a negative data offset");
    return unexpected();
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (state_ == State::shape) {
      if (v > static_cast<uint64_t>(INT64_MAX)) return fail(entry_name() + " has a dimension too large");
      if (entries.back().shape.size() >= kMaxRank)
        return fail(entry_name() + " has more than " + std::to_string(kMaxRank) + " dimensions");
      entries.back().shape.push_back(static_cast<int64_t>(v));
      return true;
    }
    if (state_ == State::offsets) {
      if (entries.back().offsets.size() >= 2) return unexpected();
      entries.back().offsets.push_back(v);
      return true;
    }
    return unexpected();
  }
  bool number_float(number_float_t, const string_t&) override { return unexpected(); }
  bool binary(binary_t&) override { return unexpected(); }
  bool string(string_t& v) override {
    if (state_ == State::meta_value) {
      metadata[meta_key_] = v;
      state_ = State::meta;
      return true;
    }
    if (state_ == State::dtype) {
      try {
        entries.back().dtype = dtype_from_name(v);
      } catch (const Error& e) {
        return fail(entry_name() + " has " + e.what());
      }
      state_ = State::entry;
      return true;
    }
    return unexpected();
  }
  bool start_object(std::size_t) override {
    switch (state_) {
      case State::start: state_ = State::top; return true;
      case State::meta_start: state_ = State::meta; return true;
      case State::entry_start: state_ = State::entry; return true;
      default: return unexpected();
    }
  }
  bool key(string_t& k) override {
    if (state_ == State::top) {
      if (!names_.insert(k).second) return fail("duplicate name " + quote(k) + " in the header");
      if (k == "__metadata__") {
        state_ = State::meta_start;
      } else {
        entries.emplace_back();
        entries.back().name = k;
        state_ = State::entry_start;
      }
      return true;
    }
    if (state_ == State::meta) {
      if (metadata.count(k)) return fail("duplicate key " + quote(k) + " in __metadata__");
      meta_key_ = k;
      state_ = State::meta_value;
      return true;
    }
    // State::entry: one of the three fields, each once.
    Entry& e = entries.back();
    bool* seen = k == "dtype"          ? &e.has_dtype
                 : k == "shape"        ? &e.has_shape
                 : k == "data_offsets" ? &e.has_offsets
                                       : nullptr;
    if (!seen) return fail(entry_name() + " has an unknown field " + quote(k));
    if (*seen) return fail(entry_name() + " has a duplicate field " + quote(k));
    *seen = true;
    state_ = k == "dtype" ? State::dtype : k == "shape" ? State::shape_start : State::offsets_start;
    return true;
  }
  bool end_object() override {
    if (state_ == State::top) {
      state_ = State::done;
      return true;
    }
    if (state_ == State::meta) {
      state_ = State::top;
      return true;
    }
    const Entry& e = entries.back();  // State::entry
    if (!e.has_dtype) return fail(entry_name() + " has no dtype");
    if (!e.has_shape) return fail(entry_name() + " has no shape");
    if (!e.has_offsets) return fail(entry_name() + " has no data_offsets");
    state_ = State::top;
    return true;
  }
  bool start_array(std::size_t) override {
    if (state_ == State::shape_start)
      state_ = State::shape;
    else if (state_ == State::offsets_start)
      state_ = State::offsets;
    else
      return unexpected();
    return true;
  }
  bool end_array() override {
    if (state_ == State::shape) {
      state_ = State::entry;
      return true;
    }
    if (state_ == State::offsets && entries.back().offsets.size() == 2) {
      state_ = State::entry;
      return true;
    }
    return unexpected();
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    const bool utf8 = std::strstr(ex.what(), "UTF-8") != nullptr;
    return fail(std::string(utf8 ? "header is not valid UTF-8" : "header is not valid JSON") + " (at byte " +
                std::to_string(position) + " of the header)");
  }

 private:
  enum class State {
    start,
    top,
    meta_start,
    meta,
    meta_value,
    entry_start,
    entry,
    dtype,
    shape_start,
    shape,
    offsets_start,
    offsets,
    done
  };

  std::string entry_name() const { return "tensor " + quote(entries.back().name); }
  bool fail(const std::string& rule) {
    if (error.empty()) error = rule;
    return false;
  }
  // An event the schema does not allow where it happened.
  bool unexpected() {
    switch (state_) {
      case State::start: return fail("header is not a JSON object");
      case State::meta_start:
      case State::meta:
      case State::meta_value: return fail("__metadata__ must map strings to strings");
      case State::entry_start:
      case State::entry: return fail(entry_name() + " is not an object with dtype, shape and data_offsets");
      case State::dtype: return fail(entry_name() + ": dtype is not a string");
      case State::shape_start:
      case State::shape: return fail(entry_name() + ": shape is not a list of non-negative integers");
      case State::offsets_start:
      case State::offsets: return fail(entry_name() + ": data_offsets is not a list of two non-negative integers");
      case State::top:
      case State::done: break;
    }
    return fail("header is not valid");
  }

  State state_ = State::start;
  std::set<std::string> names_;
  std::string meta_key_;
};

}  // namespace

size_t dtype_size(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.size;
  throw Error("invalid dtype value");
}

const char* dtype_name(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  throw Error("invalid dtype value");
}

DType dtype_from_name(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return d.dtype;
  for (const char* other : {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64"})
    if (name == other) throw Error("unsupported dtype " + quote(name));
  throw Error("unknown dtype " + quote(name));
}

int64_t TensorData::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

void write_safetensors(const std::string& path, const SafeTensorsFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {  // std::map: sorted by name
    if (name == "__metadata__") throw Error(shown_path(path) + ": the tensor name '__metadata__' is reserved");
    const int64_t numel = detail::checked_numel(t.shape, static_cast<int64_t>(dtype_size(t.dtype)));
    if (numel < 0) throw Error(shown_path(path) + ": tensor " + quote(name) + " has an invalid shape " + shape_string(t.shape));
    const uint64_t bytes = static_cast<uint64_t>(numel) * dtype_size(t.dtype);
    if (t.bytes.size() != bytes)
      throw Error(shown_path(path) + ": tensor " + quote(name) + " holds " + std::to_string(t.bytes.size()) +
                  " bytes, but shape " + shape_string(t.shape) + " of " + dtype_name(t.dtype) + " needs " +
                  std::to_string(bytes));
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(shown_path(path) + ": a tensor name or metadata string is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderBytes) throw Error(shown_path(path) + ": the header would be larger than 100 MB");

  std::string out;
  out.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((uint64_t{text.size()} >> (8 * i)) & 0xff));
  out += text;
  for (const auto& kv : file.tensors) out.append(kv.second.bytes.begin(), kv.second.bytes.end());
  write_file_atomically(path, out);
}

SafeTensorsFile read_safetensors(const std::string& path) {
  InputFile in(path);
  if (in.size() < 8) in.fail("file is shorter than 8 bytes (not a safetensors file)");
  uint8_t len_bytes[8];
  in.read_exact(len_bytes, 8);
  const uint64_t header_len = read_le64(len_bytes);
  if (header_len > in.size() - 8)
    in.fail("header length " + std::to_string(header_len) + " is larger than the file (" + std::to_string(in.size()) +
            " bytes)");
  if (header_len > kMaxHeaderBytes) in.fail("header length " + std::to_string(header_len) + " is larger than 100 MB");
  std::string text(header_len, '\0');
  in.read_exact(text.data(), text.size());

  HeaderParser parser;
  nlohmann::json::sax_parse(text, &parser);
  if (!parser.error.empty()) in.fail(parser.error);

  // Every tensor's byte range: consistent with its shape, inside the data area, and together
  // covering the data area exactly.
  const uint64_t data_size = in.size() - 8 - header_len;
  std::vector<Entry>& entries = parser.entries;
  for (const Entry& e : entries) {
    const std::string name = "tensor " + quote(e.name);
    const int64_t numel = detail::checked_numel(e.shape, static_cast<int64_t>(dtype_size(e.dtype)));
    if (numel < 0) in.fail(name + " has a shape too large: " + shape_string(e.shape));
    const uint64_t begin = e.offsets[0], end = e.offsets[1];
    if (end < begin) in.fail(name + " has data_offsets that end before they begin");
    if (end > data_size)
      in.fail(name + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
              "] outside the data area (" + std::to_string(data_size) + " bytes)");
    const uint64_t bytes = static_cast<uint64_t>(numel) * dtype_size(e.dtype);
    if (end - begin != bytes)
      in.fail(name + " has " + std::to_string(end - begin) + " bytes, but shape " + shape_string(e.shape) + " of " +
              dtype_name(e.dtype) + " needs " + std::to_string(bytes));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.offsets < b.offsets; });
  uint64_t covered = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.offsets[0] < covered)
      in.fail("tensors " + quote(entries[i - 1].name) + " and " + quote(e.name) + " overlap");
    if (e.offsets[0] > covered)
      in.fail("the data area has " + std::to_string(e.offsets[0] - covered) + " unused bytes before tensor " +
              quote(e.name));
    covered = e.offsets[1];
  }
  if (covered != data_size)
    in.fail("the data area has " + std::to_string(data_size - covered) + " unused bytes at its end");

  // Sorted by offset, the tensors follow each other: read them in one pass.
  SafeTensorsFile out;
  out.metadata = std::move(parser.metadata);
  for (Entry& e : entries) {
    TensorData t;
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.bytes.resize(e.offsets[1] - e.offsets[0]);
    in.read_exact(t.bytes.data(), t.bytes.size());
    out.tensors.emplace(std::move(e.name), std::move(t));
  }
  return out;
}

CheckpointFormat detect_checkpoint_format(const std::string& path) {
  InputFile in(path);
  uint8_t head[9] = {};
  const size_t n = in.read_some(head, sizeof head);
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return CheckpointFormat::torch_zip;
  // A plausible header length, or a JSON object after the length field (even when the length is
  // wrong), is safetensors, so that the reader names the broken rule rather than "unknown".
  if (n == sizeof head) {
    const uint64_t len = read_le64(head);
    if (head[8] == '{' || (len >= 2 && len <= in.size() - 8 && len <= kMaxHeaderBytes))
      return CheckpointFormat::safetensors;
  }
  return CheckpointFormat::unknown;
}

}  // namespace fmalens
