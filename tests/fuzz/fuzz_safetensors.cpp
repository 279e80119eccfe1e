// The safetensors reader (read_safetensors, detect_checkpoint_format) on arbitrary bytes.
// What it accepts must be self-consistent and survive a write / read round trip unchanged;
// a model config in its metadata goes through the config parser.
#include "fmalens/checkpoint.h"
#include "fuzz_util.h"

using namespace fmalens;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Scratch& scratch = fuzz::Scratch::get();
  const std::string path = scratch.write("input.safetensors", data, size);
  try {
    (void)detect_checkpoint_format(path);
  } catch (const Error& e) {
    fuzz::check_message(e, path);
  }
  SafeTensorsFile file;
  try {
    file = read_safetensors(path);
  } catch (const Error& e) {
    fuzz::check_message(e, path);
    return 0;
  }
  uint64_t total = 0;
  for (const auto& [name, t] : file.tensors) {
    const uint64_t need = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype);
    fuzz::check(t.bytes.size() == need, "tensor " + name + " holds the wrong number of bytes");
    total += need;
  }
  fuzz::check(total <= size, "the tensors hold more bytes than the file");
  fuzz::check(detect_checkpoint_format(path) == CheckpointFormat::safetensors,
              "a file that reads as safetensors is not detected as one");

  const std::string copy = scratch.path("copy.safetensors");
  write_safetensors(copy, file);
  const SafeTensorsFile back = read_safetensors(copy);
  fuzz::check(back.metadata == file.metadata, "metadata changed in a round trip");
  fuzz::check(back.tensors.size() == file.tensors.size(), "tensor count changed in a round trip");
  for (const auto& [name, t] : file.tensors) {
    const auto it = back.tensors.find(name);
    fuzz::check(it != back.tensors.end() && it->second.dtype == t.dtype && it->second.shape == t.shape &&
                    it->second.bytes == t.bytes,
                "tensor " + name + " changed in a round trip");
  }

  const auto config = file.metadata.find("fmalens_config");
  if (config != file.metadata.end()) {
    try {
      validate(model_config_from_json(config->second));
    } catch (const ConfigError& e) {
      fuzz::check_message(e);
    }
  }
  return 0;
}
