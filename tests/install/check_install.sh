#!/bin/sh
# The installed program, away from its source tree (ctest label `install`):
#  1. `cmake --install` into a temporary prefix: every file the install rules promise is there,
#     and no path of the source or build tree is compiled into the installed binary;
#  2. from another folder, with only the prefix's data folder reachable: --version, info,
#     inspect and one headless export on the bundled text model;
#  3. the desktop entry and AppStream metainfo pass their validators;
#  4. `cpack -G DEB` builds the package: its files and its computed dependencies are checked;
#  5. in CI as root on Debian: the .deb installs with apt, /usr/bin/fmalens passes the same
#     smoke test, and the package is removed again.
# Usage: tests/install/check_install.sh SOURCE_DIR BUILD_DIR
set -eu
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install: FAIL: $*" >&2; exit 1; }
missing_tool() {
  echo "install: SKIPPED: $1"
  if [ -n "${CI:-}" ]; then fail "CI is set: $1"; fi
  exit 77
}

# 1. Install rules.
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install failed"; }
for f in bin/fmalens share/fmalens/models/text_fma.safetensors share/fmalens/models/image_fma.safetensors \
         share/fmalens/models/text_dense.safetensors share/fmalens/models/image_dense.safetensors \
         share/fmalens/samples/sample.txt share/fmalens/samples/fashion_mnist_sneaker.png share/fmalens/desktop/fmalens-64.png \
         share/man/man1/fmalens.1 share/doc/fmalens/README.md share/applications/io.github.fmalens.FmaLens.desktop \
         share/metainfo/io.github.fmalens.FmaLens.metainfo.xml share/mime/packages/fmalens.xml \
         share/icons/hicolor/scalable/apps/fmalens.svg share/icons/hicolor/16x16/apps/fmalens.png \
         share/icons/hicolor/256x256/apps/fmalens.png; do
  [ -f "$prefix/$f" ] || fail "the install lacks $f"
done
if strings "$prefix/bin/fmalens" | grep -F -e "$src/" -e "$build/" > "$tmp/paths"; then
  head -3 "$tmp/paths" >&2
  fail "the installed binary holds paths of this machine's source or build tree"
fi
grep -q "^\.SH COMMAND: inspect" "$prefix/share/man/man1/fmalens.1" || fail "the man page lacks the inspect command"
grep -q -- "--tokenizer" "$prefix/share/man/man1/fmalens.1" || fail "the man page is not the program's help"

# 2. The installed program from elsewhere: only the prefix's data folder can be found.
smoke() {
  bin=$1
  work=$(mktemp -d "$tmp/work.XXXXXX")
  (
    cd "$work"
    export XDG_DATA_DIRS="$tmp/nothing" XDG_CONFIG_HOME="$work/config"
    unset FMALENS_ASSETS
    "$bin" --version | grep -q "^fmalens [0-9]" || fail "$bin --version"
    model="$(dirname "$bin")/../share/fmalens/models/text_fma.safetensors"
    "$bin" info --checkpoint "$model" > info.txt || fail "$bin info"
    grep -q "tokenizer   bytes" info.txt || fail "$bin info: no tokenizer line"
    "$bin" inspect --checkpoint "$model" --text "The quick brown fox" --out run > inspect.txt || fail "$bin inspect on the bundled text model"
    [ -f run/manifest.json ] && [ -f run/tokens.npy ] || fail "$bin inspect wrote no manifest"
    "$bin" export --view matrix --out matrix.png > export.txt 2>&1 || { cat export.txt; fail "$bin export"; }
    [ -s matrix.png ] || fail "$bin export wrote no figure"
  ) || exit 1
  echo "install: $bin works from $work with only its own data folder"
}
smoke "$prefix/bin/fmalens"

# 3. Validators.
command -v desktop-file-validate > /dev/null || missing_tool "desktop-file-validate is not installed (tools/setup.sh installs desktop-file-utils)"
command -v appstreamcli > /dev/null || missing_tool "appstreamcli is not installed (tools/setup.sh installs appstream)"
desktop-file-validate "$prefix/share/applications/io.github.fmalens.FmaLens.desktop" || fail "desktop-file-validate"
appstreamcli validate --no-net "$prefix/share/metainfo/io.github.fmalens.FmaLens.metainfo.xml" > "$tmp/as.log" 2>&1 ||
  { cat "$tmp/as.log"; fail "appstreamcli validate"; }

# 4. The Debian package.
command -v dpkg-shlibdeps > /dev/null || missing_tool "dpkg-shlibdeps is not installed (tools/setup.sh installs dpkg-dev)"
(cd "$build" && cpack -G DEB -B "$tmp/package" > "$tmp/cpack.log" 2>&1) || { tail -20 "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/package/fmalens_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no fmalens_*_amd64.deb"
dpkg-deb -c "$deb" > "$tmp/files"
for f in ./usr/bin/fmalens ./usr/share/fmalens/models/text_fma.safetensors ./usr/share/applications/io.github.fmalens.FmaLens.desktop \
         ./usr/share/man/man1/fmalens.1 ./usr/share/icons/hicolor/256x256/apps/fmalens.png; do
  grep -q " $f\$" "$tmp/files" || fail "the package lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libtorch libglfw3 libc6; do
  echo "$depends" | grep -q "$lib" || fail "the package's computed dependencies lack $lib: $depends"
done
echo "install: $(basename "$deb") ($(du -h "$deb" | cut -f1)); Depends: $depends"

# 5. Installed with apt, where CI may change the system.
if [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && ! dpkg -s fmalens > /dev/null 2>&1; then
  apt-get install -y "$deb" > "$tmp/apt.log" 2>&1 || { tail -20 "$tmp/apt.log"; fail "apt-get install of the package"; }
  status=0
  smoke /usr/bin/fmalens || status=1
  apt-get remove -y fmalens > /dev/null 2>&1 || fail "apt-get remove fmalens"
  [ $status = 0 ] || fail "the installed package's fmalens"
fi
echo "install: PASS"
