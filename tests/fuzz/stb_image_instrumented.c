// stb_image's implementation compiled with coverage and sanitizers: into fuzz_image, so that
// libFuzzer sees (and ASan and UBSan check) the decoders that load_image calls, and into the
// base tests of the sanitizer build (tools/sanitize.sh), so that the image regressions fail on
// undefined behaviour inside stb. These definitions take the place of Debian's libstb in those
// binaries. Same source as the libstb the app links.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
