// Checkpoint containers, independent of torch: safetensors (the native format) and the
// zip + pickle files that torch.save writes (reference / nanoGPT checkpoints, import only).
// Readers validate every field before they read data and refuse bad input with an
// fmalens::Error whose one-line message names the file and the rule that was broken.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fmalens/config.h"

namespace fmalens {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // safetensors spelling: "F32", "BF16", "I64", "BOOL", ...
// Throws Error for a name safetensors does not define or this program does not support.
DType dtype_from_name(const std::string& name);

// One tensor, contiguous, row-major, little-endian.
struct TensorData {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel() * dtype_size(dtype) bytes
  int64_t numel() const;
};

using TensorMap = std::map<std::string, TensorData>;

struct SafeTensorsFile {
  std::map<std::string, std::string> metadata;  // the header's "__metadata__" (string -> string)
  TensorMap tensors;
};

// Writes `file` atomically (temporary file in the same folder, fsync, rename). Throws Error
// naming the path when it cannot be written; an existing file is then left untouched.
void write_safetensors(const std::string& path, const SafeTensorsFile& file);

// Reads and validates a safetensors file: header length within the file and below 100 MB,
// valid JSON object, known dtypes, shapes whose byte size matches [begin, end), offsets in
// order inside the data area, no overlaps, no gaps, no duplicate names, metadata string to
// string. Memory stays bounded by the file size.
SafeTensorsFile read_safetensors(const std::string& path);

// What torch.save wrote for a nanoGPT-style checkpoint: {'model': state_dict, 'model_args':
// {...}, 'iter_num', 'best_val_loss', 'config', ...}. Tensors are materialised contiguous
// (strides and storage offsets applied); tensors that shared a storage (tied weights) are
// copies of the same bytes. Keys keep any `_orig_mod.` prefix (the loader strips it).
struct TorchCheckpoint {
  TensorMap state_dict;         // from 'model' (or the top-level dict when it is a state_dict)
  std::string model_args_json;  // 'model_args' as JSON ("{}" when absent)
  std::string extras_json;      // the other top-level entries that are plain data, as JSON
                                // (iter_num, best_val_loss as a number, config); tensors and
                                // unsupported values are left out
};

// Reads a torch.save zip with a restricted unpickler: only the globals a state_dict needs
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the
// torch.*Storage types) are allowed; any other global (os.system, builtins.eval, ...) is
// refused by name. Nothing is ever executed. Nesting, memo size and element counts are bounded.
TorchCheckpoint read_torch_checkpoint(const std::string& path);

enum class CheckpointFormat { safetensors, torch_zip, unknown };
// By content (zip magic "PK\x03\x04", or a plausible safetensors header), not by extension.
CheckpointFormat detect_checkpoint_format(const std::string& path);

}  // namespace fmalens
