// The IDX reader (Fashion-MNIST's format, gzip or plain) on arbitrary bytes.
#include "fuzz_util.h"
#include "base/io/idx.h"

using namespace fmalens;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::Scratch::get().write("input.idx", data, size);
  IdxArray a;
  try {
    a = read_idx(path, uint64_t{16} << 20);
  } catch (const Error& e) {
    fuzz::check_message(e, path);
    return 0;
  }
  uint64_t count = 1;
  for (const int64_t d : a.shape) count *= static_cast<uint64_t>(d);
  fuzz::check(!a.shape.empty() && a.shape.size() <= 4, "IDX rank out of range");
  fuzz::check(a.data.size() == count, "IDX data size disagrees with its shape");
  return 0;
}
