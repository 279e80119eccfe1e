#!/usr/bin/env bash
# The GPU path proved in one call, on a machine with CUDA, nvcc, CMake and a Python torch 2.x
# but no network and no Debian -dev packages; and, in its CPU mode, here.
#
# Usage: tools/gpu_check.sh [options] OUT_DIR
#   --cpu               CPU mode: any LibTorch (Debian's with --torch-prefix) stands in; the CUDA
#                       steps are reported as skipped, never as passed
#   --quick             a tiny subset (CI): configure against the bundle and build the base tests
#                       only; the later steps run --prebuilt's programs on small sizes
#   --torch-prefix DIR  LibTorch's CMake folder, holding Torch/TorchConfig.cmake (default:
#                       python3's torch.utils.cmake_prefix_path, and its C++ ABI flag)
#   --bundle DIR        the Debian packages of tools/gpu_bundle.sh (default: gpu-bundle/; the
#                       CPU mode downloads them when missing)
#   --build DIR         build folder (default: build-gpu/); the bundle is unpacked in BUILD/prefix
#   --prebuilt DIR      with --quick: the build whose programs run the steps
#   --hide-system-dev   hide the system's copies of the bundle's -dev packages (a private mount
#                       namespace), so that only the bundle can be found: the proof it is whole
#   --jobs N            parallel jobs (default: every core)
#
# Steps: host, bundle (dpkg -x into a prefix of its own, never into /), configure, build, unit
# (ctest -L unit), cuda_tests (the agreement tests on the CUDA device), reference (the committed
# reference checkpoints' logits on the device in float32, bfloat16 and float16), bench (fmalens
# bench on the device: FMA against LibTorch's fused dense attention and a matmul, peak memory
# from the CUDA allocator; the text model with capture at 4096 bytes), export (fmalens export of
# the matrix view through EGL: on the NVIDIA driver in CUDA mode). Writes three files into
# OUT_DIR: gpu_check.log (all output), gpu_check.json (the figures) and export_matrix.png; the
# steps' own reports go to BUILD/gpu-check. Prints a summary.
# Exit: 0 when every step that ran passed, 1 when one failed, 2 bad usage, 77 (CPU mode outside
# CI) when the bundle or a mount namespace cannot be had.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
script=$repo/tools/gpu_check.sh
usage() { sed -n '5,19p' "$script"; }

mode=cuda quick=0 hide=0 in_namespace=0 torch_prefix="" prebuilt="" out=""
bundle=$repo/gpu-bundle build=$repo/build-gpu jobs=$(nproc) python=${PYTHON:-python3}
args=("$@")
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "gpu_check.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) mode=cpu ;;
    --quick) quick=1 ;;
    --hide-system-dev) hide=1 ;;
    --in-namespace) in_namespace=1 ;;  # internal: the re-run inside the mount namespace
    --torch-prefix) need_value "$@"; torch_prefix=$2; shift ;;
    --bundle) need_value "$@"; bundle=$2; shift ;;
    --build) need_value "$@"; build=$2; shift ;;
    --prebuilt) need_value "$@"; prebuilt=$2; shift ;;
    --jobs) need_value "$@"; jobs=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$out" ] || { echo "gpu_check.sh: one OUT_DIR only (got $out and $1)" >&2; exit 2; }; out=$1 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "gpu_check.sh: OUT_DIR is missing (see --help)" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "gpu_check.sh: --jobs must be a positive number (got $jobs)" >&2; exit 2; }
[ "$quick" = 0 ] || [ -n "$prebuilt" ] || { echo "gpu_check.sh: --quick needs --prebuilt BUILD_DIR" >&2; exit 2; }
out=$(realpath -m "$out") bundle=$(realpath -m "$bundle") build=$(realpath -m "$build")
[ -z "$prebuilt" ] || prebuilt=$(realpath -m "$prebuilt")
[ -z "$torch_prefix" ] || torch_prefix=$(realpath -m "$torch_prefix")
prefix=$build/prefix

# Ends the run with the log complete (tee has written everything) and exit code $1.
tee_pid=""
finish() {
  if [ -n "$tee_pid" ]; then
    exec 1>&- 2>&-
    wait "$tee_pid" 2>/dev/null
  fi
  exit "$1"
}
# What cannot be had here: a failure in CUDA mode and in CI, a skip (77) elsewhere.
unavailable() {
  echo "gpu_check: $1"
  if [ "$mode" = cuda ] || [ -n "${CI:-}" ]; then finish 1; fi
  finish 77
}

if [ "$hide" = 1 ] && [ "$in_namespace" = 0 ]; then
  unshare -m true 2>/dev/null || unavailable "cannot make a private mount namespace (unshare -m) to hide the system's -dev packages"
  exec unshare -m --propagation private "$script" --in-namespace "${args[@]}"
fi

work=$build/gpu-check  # the steps' own reports, gathered into gpu_check.json at the end
mkdir -p "$out" "$work"
rm -f "$work"/*.json "$work"/*.txt
log=$out/gpu_check.log
steps=$work/steps.tsv
: >"$log"
: >"$steps"
exec > >(tee -a "$log") 2>&1
tee_pid=$!
t_start=$(date +%s)

# --- steps: each records name, passed / failed / skipped, seconds and a detail in steps.tsv
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\t'/ }" >>"$steps"; }
skip() {
  echo "== $1: skipped ($2)"
  record "$1" skipped 0 "$2"
}
# run NAME LIMIT_S DETAIL COMMAND...: a failure or a timeout is recorded, and the run goes on.
run() {
  local name=$1 limit=$2 detail=$3 t0 rc
  shift 3
  echo "== $name: $*"
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  local s
  s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  if [ $rc -eq 0 ]; then
    record "$name" passed "$s" "$detail"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    record "$name" failed "$s" "timed out after ${limit} s"
  else
    record "$name" failed "$s" "exit $rc"
  fi
  echo "== $name: $([ $rc -eq 0 ] && echo passed || echo "failed (exit $rc)") in $s s"
  return $rc
}

# --- host
echo "== host: $(uname -srm); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); mode $mode$([ "$quick" = 1 ] && echo ", quick")"
{
  ldd --version 2>/dev/null | head -1
  "${CXX:-c++}" --version 2>/dev/null | head -1
  cmake --version 2>/dev/null | head -1
  command -v ninja >/dev/null && echo "ninja $(ninja --version)"
  command -v nvcc >/dev/null && nvcc --version | tail -2 | head -1
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
} 2>&1 | sed 's/^/   /'
gpu_name=""
if [ "$mode" = cuda ]; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
  [ -n "$gpu_name" ] || echo "gpu_check: nvidia-smi names no GPU; the CUDA steps will say whether LibTorch sees one"
fi
record host passed 0 "$(uname -m); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"

# --- LibTorch: its CMake folder and its C++ ABI (Debian's GoogleTest and Benchmark use the new one)
abi=1
torch_python=""
if [ -z "$torch_prefix" ]; then
  torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) ||
    unavailable "$python has no torch: give --torch-prefix (the folder holding Torch/TorchConfig.cmake)"
  abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  torch_python=$("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')
  echo "   python torch $torch_python at $torch_prefix (C++ ABI $abi)"
fi
torch_dir=$torch_prefix/Torch
[ -f "$torch_dir/TorchConfig.cmake" ] || torch_dir=$torch_prefix
[ -f "$torch_dir/TorchConfig.cmake" ] || unavailable "no TorchConfig.cmake in $torch_prefix or $torch_prefix/Torch"
[ "$abi" = 1 ] || unavailable "this LibTorch uses the old C++ ABI (_GLIBCXX_USE_CXX11_ABI=0); Debian's GoogleTest and Benchmark need the new one"

# --- the bundle, unpacked into a prefix of its own
if [ ! -s "$bundle/MANIFEST" ]; then
  [ "$mode" = cpu ] || unavailable "no bundle at $bundle: run tools/gpu_bundle.sh where Debian's archive is reachable, and carry gpu-bundle/"
  "$repo/tools/gpu_bundle.sh" "$bundle" || unavailable "the bundle cannot be downloaded (tools/gpu_bundle.sh failed)"
fi
libdirs=$prefix/usr/lib/x86_64-linux-gnu:$prefix/lib/x86_64-linux-gnu
unpack_bundle() {
  rm -rf "$prefix" && mkdir -p "$prefix/runtime" || return 1
  local deb lib soname tmp
  for deb in "$bundle"/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$prefix" || return 1
    else  # no dpkg: a .deb is an ar archive around data.tar.*
      tmp=$(mktemp -d) && (cd "$tmp" && ar x "$deb" && tar -xf data.tar.* -C "$prefix") || return 1
      rm -rf "$tmp"
    fi
  done
  # Absolute links point into the prefix; .pc files and CMake locations name the prefix, not /usr
  # (Debian's "/usr move" checks stay as they are: they compare against the real /usr).
  find "$prefix" -type l -lname '/*' | while IFS= read -r l; do ln -sfn "$prefix$(readlink "$l")" "$l"; done
  find "$prefix" -name '*.pc' -exec sed -i -E "s#(=|-I|-L)/usr(/|\$)#\1$prefix/usr\2#g" {} +
  find "$prefix" -name '*.cmake' -exec sed -i -E "/_realOrig|PACKAGE_PREFIX_DIR|_IMPORT_PREFIX/! s#\"/usr/#\"$prefix/usr/#g" {} +
  # pkg-config: the bundle's pkgconf over the bundle's .pc files alone.
  cat >"$prefix/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$libdirs" PKG_CONFIG_LIBDIR="$prefix/usr/lib/x86_64-linux-gnu/pkgconfig:$prefix/usr/share/pkgconfig" exec "$prefix/usr/bin/pkgconf" "\$@"
EOF
  chmod +x "$prefix/pkg-config"
  # At run time the host's own copy of a library wins; the bundle fills in what the host lacks.
  ldconfig -p 2>/dev/null | sed -nE 's/^[[:space:]]+([^ ]+) .*/\1/p' | sort -u >"$prefix/host-sonames"
  for lib in "$prefix"/usr/lib/x86_64-linux-gnu/lib*.so.* "$prefix"/lib/x86_64-linux-gnu/lib*.so.*; do
    [ -e "$lib" ] || continue
    soname=$(readelf -d "$lib" 2>/dev/null | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
    [ -n "$soname" ] && [ "$(basename "$lib")" = "$soname" ] || continue
    grep -qxF "$soname" "$prefix/host-sonames" || ln -sfn "$lib" "$prefix/runtime/$soname"
  done
  echo "   $(ls "$bundle"/*.deb | wc -l) packages unpacked; $(ls "$prefix/runtime" | wc -l) of their libraries are missing on this host and come from the bundle"
  # Fonts for the figures' labels: the bundle's DejaVu and the host's own.
  cat >"$prefix/fonts.conf" <<EOF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>$prefix/usr/share/fonts</dir><dir>/usr/share/fonts</dir><cachedir>$prefix/fontconfig-cache</cachedir></fontconfig>
EOF
}
echo "== bundle: $bundle -> $prefix"
t0=$(date +%s)
if unpack_bundle; then record bundle passed $(($(date +%s) - t0)) "$(wc -l <"$bundle/MANIFEST") packages"; else record bundle failed 0 "unpacking failed"; fi

# --- hiding the system's copies of the bundle's build-time packages (inside the namespace)
# Each folder that holds one of their files is replaced by a tmpfs of links to its other
# entries, made aside and moved into place at once (the folder may hold the C library).
declare -A is_hidden
filtered_view() {
  local dir=$1 keep stage entry
  keep=$(mktemp -d "$mounts/orig.XXXXXX") stage=$(mktemp -d "$mounts/view.XXXXXX")
  mount --bind "$dir" "$keep" && mount -t tmpfs tmpfs "$stage" || return 1
  for entry in "$keep"/* "$keep"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    [ -n "${is_hidden[$dir/${entry##*/}]:-}" ] || ln -s "$entry" "$stage/${entry##*/}"
  done
  mount --move "$stage" "$dir"
}
if [ "$in_namespace" = 1 ]; then
  # Mount points of earlier runs are empty folders out here (their mounts ended with them).
  mounts=$work/mounts
  mkdir -p "$mounts" && find "$mounts" -mindepth 1 -maxdepth 1 -type d -empty -delete
  hidden=$work/hidden-files
  packages=()
  for deb in "$bundle"/*.deb; do
    name=$(dpkg-deb -f "$deb" Package)
    case $name in *-dev | pkgconf | pkgconf-bin | pkg-config) ;; *) continue ;; esac
    dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" && packages+=("$name")
  done
  # Their headers, libraries, .pc and CMake files, by real folder (Debian 12 links /lib to usr/lib).
  dpkg -L "${packages[@]}" 2>/dev/null | while IFS= read -r f; do
    [ -d "$f" ] && [ ! -L "$f" ] && continue
    [ -e "$f" ] || [ -L "$f" ] || continue
    echo "$(readlink -f "$(dirname "$f")")/$(basename "$f")"
  done | grep -E '^/usr/(include|lib|share/pkgconfig|share/cmake)' | sort -u >"$hidden"
  while IFS= read -r f; do is_hidden[$f]=1; done <"$hidden"
  while IFS= read -r d; do filtered_view "$d" || unavailable "cannot hide the files of $d"; done < <(
    xargs -r -n1 dirname <"$hidden" | sort -u | awk '{print length($0), $0}' | sort -n | cut -d' ' -f2-)
  echo "== hidden: $(wc -l <"$hidden") files of the system's ${#packages[@]} installed -dev packages that the bundle also holds"
fi

# --- configure and build against LibTorch and the bundle
prefix_path="$prefix/usr"
case $torch_prefix in /usr | /usr/*) ;; *) prefix_path="$torch_prefix;$prefix_path" ;; esac
cmake_args=(-S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" -DCMAKE_PREFIX_PATH="$prefix_path"
  -DPKG_CONFIG_EXECUTABLE="$prefix/pkg-config" -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$abi"
  # Every library named is kept (a LibTorch's CUDA library is otherwise dropped as unused); the
  # bundle's libraries find theirs in the prefix.
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--no-as-needed -Wl,-rpath-link,$libdirs" -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$libdirs"
  -DFMALENS_RENDER_TESTS=OFF -DPYTHON_EXECUTABLE="$(command -v "$python" || echo python3)"
  # CMake 4 refuses package files that ask for CMake < 3.5 policies unless told this.
  -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
command -v ninja >/dev/null && [ ! -f "$build/Makefile" ] && cmake_args+=(-G Ninja)
if [ "$mode" = cuda ]; then
  nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null | head -1)
  if [ -n "$nvcc" ]; then
    cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
    export PATH=$cuda_root/bin:$PATH CUDA_HOME=${CUDA_HOME:-$cuda_root}
    cmake_args+=(-DCUDAToolkit_ROOT="$cuda_root" -DCUDA_TOOLKIT_ROOT_DIR="$cuda_root" -DCMAKE_CUDA_COMPILER="$nvcc")
  fi
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1)
  [ -z "$cap" ] || export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$cap}
fi
configured=0
run configure 300 "LibTorch at $torch_dir" cmake "${cmake_args[@]}" && configured=1
cuda_build=0
grep -q "FMA Lens: LibTorch .*CUDA ON" "$log" && cuda_build=1
if [ "$mode" = cuda ] && [ "$configured" = 1 ] && [ "$cuda_build" = 0 ]; then
  record cuda_libtorch failed 0 "the LibTorch found has no CUDA"
fi
targets=(all)
[ "$quick" = 1 ] && targets=(fmalens_base_tests)
built=0
[ "$configured" = 1 ] && run build 900 "${targets[*]}" cmake --build "$build" -j "$jobs" --target "${targets[@]}" && built=1
[ "$configured" = 1 ] || skip build "not configured"

# --- the steps on the device, with the bundle's runtime libraries the host lacks
export LD_LIBRARY_PATH=$prefix/runtime${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export FONTCONFIG_FILE=$prefix/fonts.conf
# The NVIDIA driver's EGL library where the loader's cache does not list it (a mounted driver).
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  if [ "$mode" = cuda ] && [ -e "$dir/libEGL_nvidia.so.0" ] && ! ldconfig -p 2>/dev/null | grep -q libEGL_nvidia; then
    export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$dir
  fi
done
for vendor in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  if [ "$mode" = cuda ] && [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$vendor" ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor
  fi
done
programs=$build
[ "$quick" = 1 ] && programs=$prebuilt
fmalens=$programs/app/fmalens unit_tests=$programs/tests/fmalens_unit_tests
device=cuda
[ "$mode" = cpu ] && device=cpu
can_run=$built
[ "$quick" = 1 ] && [ -x "$fmalens" ] && [ -x "$unit_tests" ] && can_run=1

if [ "$built" = 1 ] && [ "$quick" = 1 ]; then
  run unit 300 "base tests built against the bundle" "$build/tests/fmalens_base_tests" --gtest_brief=1
elif [ "$built" = 1 ]; then
  run unit 900 "ctest -L unit (the Cuda* tests in cuda_tests)" ctest --test-dir "$build" -L unit -E '^Cuda' -j "$jobs" --output-on-failure --timeout 600
else
  skip unit "not built"
fi

if [ "$mode" = cpu ]; then
  skip cuda_tests "CPU mode: this LibTorch has no CUDA"
elif [ "$can_run" = 1 ]; then
  run cuda_tests 300 "Cuda* but the reference (next step), on $device" "$unit_tests" --gtest_filter='Cuda*:-CudaReferenceImport.*' \
    --gtest_output="json:$work/cuda_tests.json"
else
  skip cuda_tests "not built"
fi

filter='ReferenceImport.*'
[ "$mode" = cuda ] && filter='ReferenceImport.*:CudaReferenceImport.*'
if [ "$can_run" = 1 ]; then
  run reference 300 "$filter" "$unit_tests" --gtest_filter="$filter" --gtest_output="json:$work/reference.json"
else
  skip reference "not built"
fi
[ "$mode" = cpu ] && skip reference_cuda "CPU mode: float32, bfloat16 and float16 on CUDA not run"

bench=("$fmalens" bench --device "$device" --no-frames)
if [ "$can_run" != 1 ]; then
  skip bench "not built"
elif [ "$mode" = cuda ]; then
  run bench 420 "float32: 3 variants x 2 passes, n 4096..262144, models" "${bench[@]}" --repeats 3 \
    --n 4096,16384,65536,262144 --variants causal,bidirectional,linear --json "$work/bench_float32.json"
  run bench_bfloat16 240 "bfloat16 q, k, v: FlashAttention's dtype" "${bench[@]}" --repeats 3 --dtype bfloat16 \
    --n 4096,16384,65536,262144 --variants causal,bidirectional --text-model '' --image-model '' --json "$work/bench_bfloat16.json"
elif [ "$quick" = 1 ]; then
  run bench 300 "cpu, causal, n 1024, models" "${bench[@]}" --repeats 1 --n 1024 --variants causal --json "$work/bench_float32.json"
else
  run bench 1800 "cpu, 3 variants, n 1024 and 4096, models" "${bench[@]}" --repeats 3 --n 1024,4096 \
    --variants causal,bidirectional,linear --json "$work/bench_float32.json"
fi

if [ "$can_run" = 1 ]; then
  run export 180 "matrix view, PNG, through EGL" "$fmalens" export --device "$device" --view matrix --format png --width 800 \
    --height 720 --out "$out/export_matrix.png" | tee "$work/export.txt"
  gl_line=$(grep 'tokens; model' "$work/export.txt" | tail -1)
  if [ "$mode" = cuda ] && [ -n "$gl_line" ] && ! grep -qi nvidia <<<"$gl_line"; then
    record export_nvidia failed 0 "EGL did not render on the NVIDIA driver: $gl_line"
  fi
else
  skip export "not built"
fi

# --- the JSON of figures and the summary
total=$(($(date +%s) - t_start))
"$python" - "$out" "$work" "$mode" "$quick" "$total" "$gpu_name" "$torch_python" "$torch_dir" <<'EOF'
import json, os, sys, datetime, platform
out, work, mode, quick, total, gpu, torch_python, torch_dir = sys.argv[1:9]
def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
steps = []
for line in open(os.path.join(work, "steps.tsv")):
    name, status, seconds, detail = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    steps.append({"name": name, "status": status, "seconds": float(seconds or 0), "detail": detail})
def failures(report):  # gtest's JSON report: how many tests ran, and the names of those that failed
    if not report:
        return None
    failed = [s["name"] + "." + t["name"] for s in report.get("testsuites", []) for t in s.get("testsuite", []) if t.get("failures")]
    return {"tests": report.get("tests", 0), "failed": failed}
def properties(report):  # gtest's JSON report: every recorded property of every test
    found = {}
    for suite in (report or {}).get("testsuites", []):
        for test in suite.get("testsuite", []):
            for key, value in test.items():
                if key.endswith("_relative_error"):
                    found[key] = float(value)
    return found
export_line = ""
if os.path.exists(os.path.join(work, "export.txt")):
    lines = [l.strip() for l in open(os.path.join(work, "export.txt")) if l.strip() and not l.startswith("== ")]
    export_line = lines[-1] if lines else ""
result = {
    "mode": mode, "quick": quick == "1", "date": datetime.date.today().isoformat(), "gpu": gpu,
    "host": platform.platform(), "python_torch": torch_python, "torch_dir": torch_dir, "total_s": int(total),
    "steps": steps,
    "cuda_tests": failures(load("cuda_tests.json")),
    "reference_tests": failures(load("reference.json")),
    "reference_relative_errors": properties(load("reference.json")),
    "bench": {"float32": load("bench_float32.json") or [], "bfloat16": load("bench_bfloat16.json") or []},
    "export": export_line,
}
with open(os.path.join(out, "gpu_check.json"), "w") as f:
    json.dump(result, f, indent=1)
print("\n== summary (%s mode%s, %d s)" % (mode, ", quick" if quick == "1" else "", int(total)))
for s in steps:
    print("   %-14s %-8s %7.1f s  %s" % (s["name"], s["status"], s["seconds"], s["detail"]))
for key, value in sorted(result["reference_relative_errors"].items()):
    print("   reference %-40s %.2e" % (key, value))
for dtype, records in result["bench"].items():
    for r in records:
        if r.get("impl") in ("fma", "dense") and r.get("ms", 0) > 0 and r.get("variant") not in ("matmul",):
            print("   bench %-8s %-13s %-5s %-16s n=%-6s %10.2f ms  peak %8.1f MB" % (
                dtype, r["variant"], r["impl"], r["pass"], r["n"], r["ms"], r["peak_mb"]))
if export_line:
    print("   export", export_line)
print("   wrote %s" % os.path.join(out, "gpu_check.json"))
EOF
failed=$(awk -F'\t' '$2 == "failed"' "$steps" | wc -l)
echo "gpu_check: $(awk -F'\t' '$2 == "passed"' "$steps" | wc -l) passed, $failed failed, $(awk -F'\t' '$2 == "skipped"' "$steps" | wc -l) skipped"
[ "$failed" -eq 0 ]
finish $?
