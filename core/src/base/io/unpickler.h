// A restricted unpickler for torch.save's data.pkl: it builds Python values without calling
// anything. Only the opcodes of pickle protocol 2 (plus FRAME, STACK_GLOBAL, MEMOIZE and the
// short strings of protocol 4) that a state_dict and plain data use are understood, and only
// the globals collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter
// and the torch.*Storage types are allowed; anything else is refused by name.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fmalens/checkpoint.h"

namespace fmalens::pickle {

constexpr size_t kMaxDepth = 1000;         // MARKs open at once, and containers inside containers
constexpr size_t kMaxStack = 1'000'000;    // values on the pickle stack
constexpr size_t kMaxMemo = 1'000'000;     // memo entries
constexpr size_t kMaxObjects = 4'000'000;  // values built (and, for readers, values visited)
constexpr size_t kMaxRank = 64;

inline std::string too_deep() { return "pickle nests deeper than " + std::to_string(kMaxDepth) + " levels"; }

struct Value {
  enum class Kind : uint8_t { none, boolean, integer, floating, string, tuple, list, dict, global, storage, tensor };
  Kind kind = Kind::none;
  uint32_t depth = 0;  // containers: levels of containers below, as far as known when built
  int64_t i = 0;       // integer, boolean; dict, storage, tensor: index into Pickle's tables
  double f = 0;
  std::string s;              // string; global: "module.name"
  std::vector<Value*> items;  // tuple, list
};

struct Dict {
  std::vector<std::pair<Value*, Value*>> entries;  // in insertion order, keys unique
  std::unordered_map<std::string, size_t> index;   // hashable keys -> entry
};

// A storage named by a persistent id ('storage', torch.XStorage, key, location, numel).
struct StorageRef {
  std::string key;
  DType dtype = DType::F32;
  int64_t numel = 0;
};

// _rebuild_tensor_v2(storage, offset, size, stride, ...): every element it addresses was
// checked to lie inside the storage's numel.
struct TensorView {
  size_t storage = 0;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

struct Pickle {
  std::deque<Value> values;  // the arena: references between values are plain pointers
  std::vector<Dict> dicts;
  std::vector<StorageRef> storages;
  std::vector<TensorView> tensors;
  const Value* root = nullptr;

  const Dict& dict(const Value* v) const { return dicts[static_cast<size_t>(v->i)]; }
  // The value under string key `key`, or null.
  static const Value* lookup(const Dict& d, const std::string& key);
};

// Called once per storage key when a persistent id first names it; throws Error when the
// checkpoint has no such storage or it holds fewer than `numel` elements of `dtype`.
using StorageCheck = std::function<void(const std::string& key, DType dtype, int64_t numel)>;

// Throws Error "<path>: data.pkl at byte N: <rule>" for anything it does not allow.
std::unique_ptr<Pickle> unpickle(const std::vector<uint8_t>& data, const std::string& path,
                                 const StorageCheck& check_storage);

// Plain data (dicts, lists, strings, numbers), such as nanoGPT's meta.pkl: the same rules,
// and no tensor storages. Throws Error "<path>: pickle at byte N: <rule>".
std::unique_ptr<Pickle> unpickle_plain(const std::vector<uint8_t>& data, const std::string& path);

}  // namespace fmalens::pickle
