// The torch.save reader (libzip container + restricted unpickler + tensor materialisation).
// Two kinds of input, told apart by the zip magic:
//  - "PK...": a whole checkpoint file (mutations of the committed fixtures);
//  - anything else: a data.pkl, put into an archive "archive/" beside storages data/0 .. data/31
//    of 4 KB each, so that mutated pickles get past the container and reach the converter.
#include <zip.h>

#include <cstring>
#include <vector>

#include "fmalens/checkpoint.h"
#include "fuzz_util.h"

using namespace fmalens;

namespace {

constexpr int kStorages = 32;
constexpr size_t kStorageBytes = 4096;  // the nanoGPT seed's largest storage is 2 KB

// The archive without data.pkl, built once (storages deflated: the file stays small).
const std::vector<uint8_t>& storage_template() {
  static const std::vector<uint8_t> bytes = [] {
    const fuzz::Scratch& scratch = fuzz::Scratch::get();
    const std::string path = scratch.path("template.zip");
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) fuzz::finding("cannot create the template archive");
    static std::vector<uint8_t> pattern(kStorageBytes);
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>((i * 131) >> 4);
    for (int k = 0; k < kStorages; ++k) {
      zip_source_t* src = zip_source_buffer(z, pattern.data(), pattern.size(), 0);
      if (!src || zip_file_add(z, ("archive/data/" + std::to_string(k)).c_str(), src, ZIP_FL_ENC_UTF_8) < 0)
        fuzz::finding("cannot add a storage to the template archive");
    }
    static const char version[] = "3\n";
    zip_source_t* src = zip_source_buffer(z, version, 2, 0);
    if (!src || zip_file_add(z, "archive/version", src, ZIP_FL_ENC_UTF_8) < 0) fuzz::finding("cannot add version");
    if (zip_close(z) != 0) fuzz::finding("cannot write the template archive");
    FILE* f = std::fopen(path.c_str(), "rb");
    std::vector<uint8_t> out;
    uint8_t buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
    std::fclose(f);
    return out;
  }();
  return bytes;
}

// The template plus `pickle` as archive/data.pkl, stored uncompressed.
std::string archive_with_pickle(const uint8_t* data, size_t size) {
  const fuzz::Scratch& scratch = fuzz::Scratch::get();
  const std::vector<uint8_t>& tmpl = storage_template();
  const std::string path = scratch.write("input.pt", tmpl.data(), tmpl.size());
  int err = 0;
  zip_t* z = zip_open(path.c_str(), 0, &err);
  if (!z) fuzz::finding("cannot reopen the template archive");
  zip_source_t* src = zip_source_buffer(z, data, size, 0);
  const zip_int64_t index = src ? zip_file_add(z, "archive/data.pkl", src, ZIP_FL_ENC_UTF_8) : -1;
  if (index < 0 || zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0)
    fuzz::finding("cannot add data.pkl");
  if (zip_close(z) != 0) fuzz::finding("cannot write the archive");
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bool whole_file = size >= 2 && data[0] == 'P' && data[1] == 'K';
  const std::string path =
      whole_file ? fuzz::Scratch::get().write("input.pt", data, size) : archive_with_pickle(data, size);
  TorchCheckpoint ckpt;
  try {
    ckpt = read_torch_checkpoint(path);
  } catch (const Error& e) {
    fuzz::check_message(e, path);
    return 0;
  }
  for (const auto& [name, t] : ckpt.state_dict) {
    fuzz::check(t.numel() >= 0 && t.bytes.size() == static_cast<size_t>(t.numel()) * dtype_size(t.dtype),
                "tensor " + name + " holds the wrong number of bytes");
  }
  fuzz::check(!ckpt.model_args_json.empty() && !ckpt.extras_json.empty(), "empty JSON");
  return 0;
}
