// The image loader (load_image: stb behind size limits) on arbitrary bytes: PNG, JPEG, BMP,
// GIF, TGA, PNM and whatever else stb recognises.
#include "fmalens/image.h"
#include "fuzz_util.h"

using namespace fmalens;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::Scratch::get().write("input.img", data, size);
  Image img;
  try {
    img = load_image(path);
  } catch (const Error& e) {
    fuzz::check_message(e, path);
    return 0;
  }
  fuzz::check(img.width >= 1 && img.height >= 1 && img.width <= 8192 && img.height <= 8192, "image size out of range");
  fuzz::check(img.channels >= 1 && img.channels <= 4, "image channels out of range");
  fuzz::check(img.pixels.size() == static_cast<size_t>(img.width) * img.height * img.channels,
              "pixel count disagrees with the size");
  return 0;
}
