#!/usr/bin/env bash
# Installs the Debian 12 packages FMA Lens needs, if any is missing (idempotent).
# Usage: tools/setup.sh [--gui|--no-gui]
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libtorch-dev libopenblas0-pthread nlohmann-json3-dev libcli11-dev libzip-dev libstb-dev libturbojpeg0-dev libpcre2-dev
  desktop-file-utils appstream dpkg-dev  # the install test: desktop entry, metainfo, the .deb's dependencies
  libgtest-dev libbenchmark-dev
  fortunes dataset-fashion-mnist
  python3-torch poppler-utils
)
gui_packages=(libimgui-dev libglfw3-dev libfontconfig-dev fonts-dejavu-core libgl-dev libegl-dev libegl-mesa0 libcairo2-dev xvfb xauth mesa-utils xdotool xclip)
fuzz_packages=(clang-14 libclang-rt-14-dev)

want=("${packages[@]}")
if [ "${1:-}" != "--no-gui" ]; then want+=("${gui_packages[@]}" "${fuzz_packages[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
