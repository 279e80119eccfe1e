// The restricted unpickler (see unpickler.h). Values live in an arena, so cycles and deep
// structures cost no recursion when freed; nothing here recurses on the input.
#include "base/io/unpickler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "base/io/checkpoint_detail.h"

namespace fmalens::pickle {
namespace {

using detail::shape_string;

std::optional<DType> storage_dtype(const std::string& global) {
  static const std::pair<const char*, DType> kTypes[] = {
      {"torch.FloatStorage", DType::F32},     {"torch.DoubleStorage", DType::F64}, {"torch.HalfStorage", DType::F16},
      {"torch.BFloat16Storage", DType::BF16}, {"torch.LongStorage", DType::I64},   {"torch.IntStorage", DType::I32},
      {"torch.ShortStorage", DType::I16},     {"torch.CharStorage", DType::I8},    {"torch.ByteStorage", DType::U8},
      {"torch.BoolStorage", DType::BOOL}};
  for (const auto& t : kTypes)
    if (global == t.first) return t.second;
  return std::nullopt;
}

bool allowed_global(const std::string& g) {
  return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
         g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state" ||
         storage_dtype(g).has_value();
}

// The opcodes this reader refuses, named in its messages.
std::string opcode_name(uint8_t op) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"}, {'L', "LONG"},
      {'P', "PERSID"}, {'S', "STRING"}, {'V', "UNICODE"}, {'d', "DICT"}, {'g', "GET"}, {'i', "INST"},
      {'l', "LIST"}, {'o', "OBJ"}, {'p', "PUT"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
      {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"},
      {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"}, {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
  static const char* hex = "0123456789abcdef";
  std::string code = std::string("0x") + hex[op >> 4] + hex[op & 15];
  for (const auto& n : kNames)
    if (n.first == op) return std::string(n.second) + " (" + code + ")";
  return code;
}

// Builds Python values from the pickle without calling anything: REDUCE only applies the few
// allowed globals, whose effect is written out here.
class Unpickler {
 public:
  Unpickler(const std::vector<uint8_t>& data, const std::string& path, const std::string& what, const StorageCheck& check)
      : data_(data), path_(path), what_(what), check_storage_(check), out_(std::make_unique<Pickle>()) {}

  std::unique_ptr<Pickle> run() {
    for (;;) {
      if (pos_ >= data_.size()) fail("ends without STOP (truncated)");
      at_ = pos_;
      const uint8_t op = data_[pos_++];
      switch (op) {
        case 0x80: {  // PROTO
          const uint8_t proto = u8();
          if (proto < 2 || proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
          break;
        }
        case 0x95: take(8); break;  // FRAME: only a read-ahead hint
        case 'c': {                 // GLOBAL
          const std::string module = line();
          push(global(module + "." + line()));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value* name = pop();
          Value* module = pop();
          if (module->kind != Value::Kind::string || name->kind != Value::Kind::string)
            fail("STACK_GLOBAL needs two strings");
          push(global(module->s + "." + name->s));
          break;
        }
        case 'Q': push(persistent_load(pop())); break;  // BINPERSID
        case 'R': {                                     // REDUCE
          Value* args = pop();
          push(reduce(pop(), args));
          break;
        }
        case 0x81: {  // NEWOBJ: only OrderedDict()
          Value* args = pop();
          Value* cls = pop();
          if (cls->kind != Value::Kind::global || cls->s != "collections.OrderedDict" || !args->items.empty())
            fail("NEWOBJ is only allowed for OrderedDict()");
          push(new_dict());
          break;
        }
        case 'b': {  // BUILD: object state (e.g. a state_dict's _metadata) is not needed
          pop();
          if (top()->kind != Value::Kind::dict && top()->kind != Value::Kind::tensor)
            fail("BUILD is only allowed on dicts and tensors");
          break;
        }
        case '(':  // MARK
          if (marks_.size() >= kMaxDepth) fail(too_deep());
          marks_.push_back(stack_.size());
          break;
        case '}': push(new_dict()); break;
        case ']': push(make(Value::Kind::list)); break;
        case ')': push(make(Value::Kind::tuple)); break;
        case 't': push(make_tuple(pop_mark())); break;
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          std::vector<Value*> items(op - 0x84);
          for (size_t k = items.size(); k-- > 0;) items[k] = pop();
          push(make_tuple(std::move(items)));
          break;
        }
        case 's': {  // SETITEM
          Value* v = pop();
          Value* k = pop();
          set_item(top(), k, v);
          break;
        }
        case 'u': {  // SETITEMS
          const std::vector<Value*> items = pop_mark();
          if (items.size() % 2) fail("SETITEMS with an odd number of values");
          Value* d = top();
          for (size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
          break;
        }
        case 'a': {  // APPEND
          Value* v = pop();
          append(top(), v);
          break;
        }
        case 'e': {  // APPENDS
          const std::vector<Value*> items = pop_mark();
          Value* list = top();
          for (Value* v : items) append(list, v);
          break;
        }
        case 'J': push(integer(static_cast<int32_t>(le(4)))); break;  // BININT
        case 'K': push(integer(u8())); break;                         // BININT1
        case 'M': push(integer(static_cast<int64_t>(le(2)))); break;  // BININT2
        case 0x8a: push(integer(long_int(u8()))); break;              // LONG1
        case 0x8b: push(integer(long_int(le(4)))); break;             // LONG4
        case 'G': {                                                   // BINFLOAT, big-endian
          const uint8_t* p = take(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
          Value* v = make(Value::Kind::floating);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 'X': push(string(le(4))); break;   // BINUNICODE
        case 0x8c: push(string(u8())); break;   // SHORT_BINUNICODE
        case 0x8d: push(string(le(8))); break;  // BINUNICODE8
        case 'T': push(string(le(4))); break;   // BINSTRING (Python 2 str, read as UTF-8)
        case 'U': push(string(u8())); break;    // SHORT_BINSTRING
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          Value* v = make(Value::Kind::boolean);
          v->i = op == 0x88;
          push(v);
          break;
        }
        case 'N': push(make(Value::Kind::none)); break;
        case 'q': put(u8()); break;           // BINPUT
        case 'r': put(le(4)); break;          // LONG_BINPUT
        case 0x94: put(memo_.size()); break;  // MEMOIZE
        case 'h': get(u8()); break;           // BINGET
        case 'j': get(le(4)); break;          // LONG_BINGET
        case '.':                             // STOP
          if (stack_.empty()) fail("STOP with an empty stack");
          out_->root = stack_.back();
          return std::move(out_);
        default: fail("unsupported pickle opcode " + opcode_name(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& rule) const {
    throw Error(shown_path(path_) + ": " + what_ + " at byte " + std::to_string(at_) + ": " + rule);
  }

  // ---- reading the byte stream
  const uint8_t* take(uint64_t n) {
    if (n > data_.size() - pos_) fail("truncated pickle");
    const uint8_t* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return *take(1); }
  uint64_t le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | p[k];
    return v;
  }
  std::string line() {
    const size_t start = pos_;
    while (pos_ < data_.size() && data_[pos_] != '\n') {
      if (pos_ - start > 256) fail("GLOBAL name longer than 256 bytes");
      ++pos_;
    }
    if (pos_ >= data_.size()) fail("truncated pickle");
    return std::string(reinterpret_cast<const char*>(data_.data() + start), pos_++ - start);
  }
  int64_t long_int(uint64_t n) {
    if (n > 8) fail("integer wider than 64 bits");
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | p[k];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }

  // ---- building values
  Value* make(Value::Kind kind) {
    if (out_->values.size() >= kMaxObjects) fail("pickle holds more than " + std::to_string(kMaxObjects) + " values");
    out_->values.emplace_back();
    out_->values.back().kind = kind;
    return &out_->values.back();
  }
  Value* integer(int64_t i) {
    Value* v = make(Value::Kind::integer);
    v->i = i;
    return v;
  }
  Value* string(uint64_t n) {
    const uint8_t* p = take(n);
    Value* v = make(Value::Kind::string);
    v->s.assign(reinterpret_cast<const char*>(p), n);
    if (!is_valid_utf8(v->s)) fail("string is not valid UTF-8");
    return v;
  }
  Value* new_dict() {
    Value* v = make(Value::Kind::dict);
    v->i = static_cast<int64_t>(out_->dicts.size());
    out_->dicts.emplace_back();
    return v;
  }
  Value* make_tuple(std::vector<Value*> items) {
    Value* v = make(Value::Kind::tuple);
    for (const Value* item : items) deepen(v, item->depth);
    v->items = std::move(items);
    return v;
  }
  void deepen(Value* container, uint32_t child_depth) {
    if (child_depth + 1 > kMaxDepth) fail(too_deep());
    container->depth = std::max(container->depth, child_depth + 1);
  }
  void append(Value* list, Value* v) {
    if (list->kind != Value::Kind::list) fail("APPEND to something that is not a list");
    deepen(list, v->depth);
    list->items.push_back(v);
  }
  void set_item(Value* d, Value* key, Value* value) {
    if (d->kind != Value::Kind::dict) fail("SETITEM on something that is not a dict");
    deepen(d, std::max(key->depth, value->depth));
    Dict& dict = out_->dicts[static_cast<size_t>(d->i)];
    // Python dict semantics for the key types a checkpoint uses (1 == True == 1.0).
    std::string h;
    if (key->kind == Value::Kind::string)
      h = "s" + key->s;
    else if (key->kind == Value::Kind::integer || key->kind == Value::Kind::boolean)
      h = "i" + std::to_string(key->i);
    else if (key->kind == Value::Kind::none)
      h = "n";
    else if (key->kind == Value::Kind::floating)
      h = key->f == std::trunc(key->f) && std::fabs(key->f) < 9e18 ? "i" + std::to_string(static_cast<int64_t>(key->f))
                                                                   : "f" + std::to_string(key->f);
    if (!h.empty()) {
      const auto [it, fresh] = dict.index.emplace(h, dict.entries.size());
      if (!fresh) {
        dict.entries[it->second].second = value;
        return;
      }
    }
    dict.entries.emplace_back(key, value);
  }

  // ---- the stack and the memo
  void push(Value* v) {
    if (stack_.size() >= kMaxStack) fail("pickle stack grows beyond " + std::to_string(kMaxStack) + " values");
    stack_.push_back(v);
  }
  Value* top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
    return stack_.back();
  }
  Value* pop() {
    Value* v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t start = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(start), stack_.end());
    stack_.resize(start);
    return items;
  }
  void put(uint64_t index) {
    Value* v = top();
    if (memo_.size() >= kMaxMemo && !memo_.count(index))
      fail("memo grows beyond " + std::to_string(kMaxMemo) + " entries");
    memo_[index] = v;
  }
  void get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // ---- the allowed globals
  Value* global(const std::string& name) {
    if (!allowed_global(name)) fail("pickle names a forbidden global " + quote(name));
    Value* v = make(Value::Kind::global);
    v->s = name;
    return v;
  }

  Value* reduce(Value* fn, Value* args) {
    if (fn->kind != Value::Kind::global || args->kind != Value::Kind::tuple) fail("REDUCE needs a global and a tuple");
    const std::vector<Value*>& a = args->items;
    if (fn->s == "collections.OrderedDict") {
      if (!a.empty()) fail("OrderedDict(...) with arguments is not supported");
      return new_dict();
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(a);
    if (fn->s == "torch._utils._rebuild_parameter" || fn->s == "torch._utils._rebuild_parameter_with_state") {
      if (a.size() < 3 || a[0]->kind != Value::Kind::tensor) fail(fn->s + " needs a tensor");
      return a[0];
    }
    fail("cannot call " + quote(fn->s));
  }

  // ('storage', torch.XStorage, key, location, numel) -> the storage <prefix>/data/<key>.
  Value* persistent_load(const Value* pid) {
    const auto& it = pid->items;
    if (pid->kind != Value::Kind::tuple || it.size() != 5 || it[0]->kind != Value::Kind::string ||
        it[0]->s != "storage" || it[1]->kind != Value::Kind::global || it[2]->kind != Value::Kind::string ||
        it[4]->kind != Value::Kind::integer)
      fail("persistent id is not ('storage', type, key, location, numel)");
    const std::optional<DType> dtype = storage_dtype(it[1]->s);
    if (!dtype) fail("persistent id names " + quote(it[1]->s) + ", not a storage type");
    const std::string& key = it[2]->s;
    const int64_t numel = it[4]->i;
    auto found = storage_index_.find(key);
    if (found == storage_index_.end()) {
      check_storage_(key, *dtype, numel);
      found = storage_index_.emplace(key, out_->storages.size()).first;
      out_->storages.push_back(StorageRef{key, *dtype, numel});
    }
    const StorageRef& s = out_->storages[found->second];
    if (s.dtype != *dtype || s.numel != numel) fail("storage " + quote(key) + " is named with two types or sizes");
    Value* v = make(Value::Kind::storage);
    v->i = static_cast<int64_t>(found->second);
    return v;
  }

  std::vector<int64_t> ints(const Value* v, const char* what) {
    if (v->kind != Value::Kind::tuple) fail(std::string("_rebuild_tensor_v2: ") + what + " is not a tuple");
    if (v->items.size() > kMaxRank) fail("tensor has more than " + std::to_string(kMaxRank) + " dimensions");
    std::vector<int64_t> out;
    for (const Value* x : v->items) {
      if (x->kind != Value::Kind::integer) fail(std::string("_rebuild_tensor_v2: ") + what + " holds a non-integer");
      out.push_back(x->i);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]).
  Value* rebuild_tensor(const std::vector<Value*>& a) {
    if (a.size() != 6 && a.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments");
    if (a[0]->kind != Value::Kind::storage || a[1]->kind != Value::Kind::integer)
      fail("_rebuild_tensor_v2 needs a storage and an integer offset");
    TensorView t;
    t.storage = static_cast<size_t>(a[0]->i);
    t.offset = a[1]->i;
    t.size = ints(a[2], "size");
    t.stride = ints(a[3], "stride");
    const StorageRef& s = out_->storages[t.storage];
    const std::string what = "tensor of shape " + shape_string(t.size) + " on storage " + quote(s.key);
    if (t.size.size() != t.stride.size()) fail(what + " has " + std::to_string(t.stride.size()) + " strides");
    if (t.offset < 0) fail(what + " has a negative storage offset");
    const int64_t numel = detail::checked_numel(t.size, static_cast<int64_t>(dtype_size(s.dtype)));
    if (numel < 0) fail(what + " has a negative or too large shape");
    // Every addressed element must lie inside the storage: the last one is offset + sum((size-1)*stride).
    int64_t last = t.offset;
    for (size_t k = 0; k < t.size.size() && numel > 0; ++k) {
      int64_t step = 0;
      if (t.stride[k] < 0) fail(what + " has a negative stride");
      if (__builtin_mul_overflow(t.size[k] - 1, t.stride[k], &step) || __builtin_add_overflow(last, step, &last))
        fail(what + " has strides too large");
    }
    if (numel > 0 && last >= s.numel)
      fail(what + " reads element " + std::to_string(last) + " of a storage of " + std::to_string(s.numel));
    Value* v = make(Value::Kind::tensor);
    v->i = static_cast<int64_t>(out_->tensors.size());
    out_->tensors.push_back(std::move(t));
    return v;
  }

  const std::vector<uint8_t>& data_;
  const std::string& path_;
  const std::string& what_;
  const StorageCheck& check_storage_;
  std::unique_ptr<Pickle> out_;
  size_t pos_ = 0, at_ = 0;
  std::unordered_map<std::string, size_t> storage_index_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
};

}  // namespace

const Value* Pickle::lookup(const Dict& d, const std::string& key) {
  const auto it = d.index.find("s" + key);
  return it == d.index.end() ? nullptr : d.entries[it->second].second;
}

std::unique_ptr<Pickle> unpickle(const std::vector<uint8_t>& data, const std::string& path,
                                 const StorageCheck& check_storage) {
  return Unpickler(data, path, "data.pkl", check_storage).run();
}

std::unique_ptr<Pickle> unpickle_plain(const std::vector<uint8_t>& data, const std::string& path) {
  const StorageCheck no_storages = [&](const std::string& key, DType, int64_t) {
    throw Error(shown_path(path) + ": names a tensor storage " + quote(key) + ", but plain data holds none");
  };
  return Unpickler(data, path, "pickle", no_storages).run();
}

}  // namespace fmalens::pickle
