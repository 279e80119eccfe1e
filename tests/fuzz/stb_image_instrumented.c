// stb_image's implementation compiled into fuzz_image with coverage and sanitizers, so that
// libFuzzer sees (and ASan checks) the decoders that load_image calls. These definitions take
// the place of Debian's libstb in that one binary.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
