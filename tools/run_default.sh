#!/usr/bin/env bash
# Starts FMA Lens on the bundled text model: the GUI when a display is available, otherwise
# the same model from the command line (info, and a run over the sample text).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
model="$here/assets/models/text_fma.safetensors"
bin="$build/app/fmalens"
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin"
fi
echo "No display: showing the bundled model from the command line (the GUI needs X11 or Wayland)."
"$bin" info --checkpoint "$model"
exec "$bin" eval --checkpoint "$model" --limit 65536
