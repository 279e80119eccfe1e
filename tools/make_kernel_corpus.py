#!/usr/bin/env python3
"""The long-context corpus (issue 22): Linux kernel C sources from Debian's linux-source-6.1.

Downloads the package with `apt-get download` (no other source), keeps the C files of at least
64 KiB in the core directories (kernel, mm, fs, net, block, lib, ipc, security, crypto, init),
and writes them to OUT/train/ and OUT/heldout/, split by file with a fixed hash of the path
(about 5 % held out). Each file keeps its path with '/' written as '__', so that a training
window never spans two files (the trainer reads files one by one). Writes OUT/manifest.json
(package version, each file's path, size, sha256 and split) and, with --update-manifest, the
committed copy in assets/corpora/. When Debian serves another version than the committed
manifest names (each 6.1.x update replaces the package), it says so: figures measured on the
committed manifest name that version.

Usage: tools/make_kernel_corpus.py OUT [--deb-cache DIR] [--update-manifest]
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "linux-source-6.1"
CORE_DIRS = ("kernel", "mm", "fs", "net", "block", "lib", "ipc", "security", "crypto", "init")
MIN_BYTES = 64 * 1024
HELDOUT_PER_MILLE = 50  # 5 %
REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "assets" / "corpora" / "linux-core-c.manifest.json"


def heldout(path: str) -> bool:
    """A fixed split: the first 8 bytes of sha256(path), modulo 1000, below 50."""
    return int.from_bytes(hashlib.sha256(path.encode()).digest()[:8], "big") % 1000 < HELDOUT_PER_MILLE


def served_version() -> str:
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", PACKAGE], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"error: apt-cache knows no version of {PACKAGE}")


def download(deb_cache: Path) -> Path:
    deb_cache.mkdir(parents=True, exist_ok=True)
    version = served_version()
    debs = sorted(deb_cache.glob(f"{PACKAGE}_{version.replace(':', '%3a')}_all.deb"))
    if not debs:
        print(f"downloading {PACKAGE} {version} (about 140 MB) with apt-get download", file=sys.stderr)
        subprocess.run(["apt-get", "download", f"{PACKAGE}={version}"], cwd=deb_cache, check=True)
        debs = sorted(deb_cache.glob(f"{PACKAGE}_*_all.deb"))
    if not debs:
        raise SystemExit(f"error: apt-get download left no {PACKAGE} package in {deb_cache}")
    return debs[-1]


def source_tarball(deb: Path) -> tarfile.TarFile:
    """The kernel's tar.xz inside the package's data, opened without unpacking the package."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True).stdout
    outer = tarfile.open(fileobj=io.BytesIO(data))
    for member in outer.getmembers():
        if member.name.endswith(".tar.xz") and "linux-source" in member.name:
            return tarfile.open(fileobj=outer.extractfile(member), mode="r:xz")
    raise SystemExit(f"error: {deb} holds no linux-source tarball")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--deb-cache", type=Path, default=Path(tempfile.gettempdir()) / "fmalens-debs")
    parser.add_argument("--update-manifest", action="store_true", help=f"also write {COMMITTED.relative_to(REPO)}")
    args = parser.parse_args()

    version = served_version()
    if COMMITTED.exists():
        committed = json.loads(COMMITTED.read_text())
        if committed.get("version") != version:
            print(f"note: Debian serves {PACKAGE} {version}; the committed manifest (and the README's figures) are of "
                  f"{committed.get('version')}: files and figures will differ", file=sys.stderr)
    deb = download(args.deb_cache)
    files = []
    for split in ("train", "heldout"):
        (args.out / split).mkdir(parents=True, exist_ok=True)
    with source_tarball(deb) as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".c") or member.size < MIN_BYTES:
                continue
            parts = member.name.split("/", 1)  # "linux-source-6.1/kernel/sched/core.c"
            if len(parts) != 2 or parts[1].split("/", 1)[0] not in CORE_DIRS:
                continue
            path = parts[1]
            data = tar.extractfile(member).read()
            split = "heldout" if heldout(path) else "train"
            target = args.out / split / path.replace("/", "__")
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, target)  # never half a file
            files.append({"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "split": split})
    files.sort(key=lambda f: f["path"])
    manifest = {
        "package": PACKAGE,
        "version": version,
        "deb": deb.name,
        "rule": f"C files of at least {MIN_BYTES} bytes under {', '.join(CORE_DIRS)}; held out: sha256(path)[:8] mod 1000 < "
                f"{HELDOUT_PER_MILLE}",
        "train_bytes": sum(f["bytes"] for f in files if f["split"] == "train"),
        "heldout_bytes": sum(f["bytes"] for f in files if f["split"] == "heldout"),
        "files": files,
    }
    text = json.dumps(manifest, indent=1) + "\n"
    (args.out / "manifest.json").write_text(text)
    if args.update_manifest:
        COMMITTED.parent.mkdir(parents=True, exist_ok=True)
        COMMITTED.write_text(text)
    n_train = sum(1 for f in files if f["split"] == "train")
    print(f"{PACKAGE} {version}: {len(files)} files ({n_train} train, {len(files) - n_train} held out), "
          f"{manifest['train_bytes'] / 1e6:.1f} MB train, {manifest['heldout_bytes'] / 1e6:.1f} MB held out -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
