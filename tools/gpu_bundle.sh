#!/usr/bin/env bash
# Downloads, with `apt-get download`, the Debian 12 packages that the core, the CLI, the tests and
# headless figure export need besides LibTorch, with their runtime libraries, into one folder
# that travels to a GPU machine with no network and no Debian -dev packages. There
# tools/gpu_check.sh unpacks it with `dpkg -x` into a prefix of its own (never into /).
#
# Usage: tools/gpu_bundle.sh [DIR]   (default: gpu-bundle/ at the repository's root, git-ignored)
#
# Then it proves the bundle whole: unpacked into a scratch prefix, every shared library and
# program in it finds each library it needs (DT_NEEDED) in the bundle itself or among the C and
# C++ runtimes that every Linux machine with a compiler has; and the bundle stays under the room
# the working tree leaves it on the way to the GPU machine (64 MiB in all).
# Exit codes: 0 done, 1 a check failed, 2 bad usage, 3 Debian's archive cannot be reached.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/gpu-bundle}
case "${1:-}" in -h | --help) sed -n '2,13p' "$0"; exit 0 ;; -*) echo "gpu_bundle.sh: unknown option $1" >&2; exit 2 ;; esac
max_mib=${GPU_BUNDLE_MAX_MIB:-32}

# Grouped by what needs them. -dev packages bring headers, CMake / pkg-config files and link
# libraries; the others are the shared libraries those link to at run time.
packages=(
  # pkg-config itself (CMake's FindPkgConfig runs it)
  pkgconf pkgconf-bin pkg-config libpkgconf3
  # core and CLI: JSON, command line, checkpoints (zip), images (stb, libjpeg-turbo), zlib
  nlohmann-json3-dev libcli11-dev libzip-dev libzip4 libstb-dev libstb0 libturbojpeg0-dev libturbojpeg0
  zlib1g-dev zlib1g libbz2-1.0 liblzma5 libzstd1 libssl3
  # tests: GoogleTest (static) and Google Benchmark
  libgtest-dev libbenchmark-dev libbenchmark1debian
  # headless export: GL and EGL through glvnd (the GPU driver, or Mesa, is the vendor library)
  libegl-dev libgl-dev libglx-dev libopengl-dev libegl1 libgl1 libglx0 libopengl0 libglvnd0
  # ... and the window's ImGui (static) and GLFW, linked into the same program
  libimgui-dev libglfw3-dev libglfw3
  # ... and Cairo for SVG / PDF, with the pkg-config files its cairo.pc requires
  libcairo2-dev libcairo2 libpixman-1-dev libpixman-1-0 libfontconfig-dev libfontconfig1 libfreetype-dev
  libfreetype6 libpng-dev libpng16-16 libbrotli-dev libbrotli1 libexpat1-dev libexpat1 libglib2.0-dev
  libpcre2-dev libffi-dev libx11-dev libx11-6 libx11-data libxcb1-dev libxcb1 libxcb-render0-dev libxcb-render0
  libxcb-shm0-dev libxcb-shm0 libxrender-dev libxrender1 libxext-dev libxext6 libxau-dev libxau6 libxdmcp-dev
  libxdmcp6 libbsd0 libmd0 x11proto-dev x11proto-core-dev xtrans-dev libpthread-stubs0-dev
  # ... and a font for the figures' labels (fontconfig is pointed at it)
  fonts-dejavu-core
)

# Libraries every machine that builds C++ has: glibc's and GCC's runtimes (never bundled: the
# host's own must be used). GL vendor libraries are loaded by glvnd at run time, not linked.
base_sonames='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|ld-linux-x86-64\.so\.2|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'

mkdir -p "$out"
cd "$out"
rm -f ./*.deb
echo "gpu_bundle: downloading ${#packages[@]} Debian packages into $out"
if ! apt-get download "${packages[@]}" >download.log 2>&1; then
  # Package lists may be missing or stale (a fresh machine): refresh them once.
  apt-get update -qq >>download.log 2>&1 || { tail -5 download.log; echo "gpu_bundle: Debian's archive cannot be reached"; exit 3; }
  apt-get download "${packages[@]}" >>download.log 2>&1 || { tail -5 download.log; echo "gpu_bundle: apt-get download failed (see $out/download.log)"; exit 3; }
fi
ls ./*.deb | sed 's|^\./||' | sort >MANIFEST
sha256sum ./*.deb | sed 's|\./||' >SHA256SUMS

# The proof: unpack into a scratch prefix and resolve every DT_NEEDED.
scratch=$(mktemp -d /tmp/gpu-bundle-check.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for deb in ./*.deb; do dpkg-deb -x "$deb" "$scratch"; done
declare -A have
while IFS= read -r lib; do have[$(basename "$lib")]=1; done < <(find "$scratch" \( -type f -o -type l \) -name 'lib*.so*')
missing=0
checked=0
while IFS= read -r elf; do
  head -c 4 "$elf" 2>/dev/null | grep -q 'ELF' || continue
  checked=$((checked + 1))
  while IFS= read -r needed; do
    [[ $needed =~ $base_sonames ]] && continue
    [ -n "${have[$needed]:-}" ] && continue
    echo "gpu_bundle: ${elf#"$scratch"} needs $needed, which the bundle lacks"
    missing=$((missing + 1))
  done < <(readelf -d "$elf" 2>/dev/null | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
done < <(find "$scratch/usr/lib" "$scratch/usr/bin" -type f \( -name '*.so*' -o -perm -u+x \) 2>/dev/null)
size_bytes=$(cat ./*.deb | wc -c)
echo "gpu_bundle: $(wc -l <MANIFEST) packages, $size_bytes bytes ($(awk -v b="$size_bytes" 'BEGIN {printf "%.1f", b / 1048576}') MiB); $checked ELF files checked, $missing unresolved libraries"
[ "$missing" -eq 0 ] || { echo "gpu_bundle: incomplete: add the packages that hold the libraries above"; exit 1; }
[ "$size_bytes" -le $((max_mib * 1048576)) ] || { echo "gpu_bundle: over $max_mib MiB (GPU_BUNDLE_MAX_MIB): the working tree must travel with it under 64 MiB"; exit 1; }
echo "gpu_bundle: ok"
