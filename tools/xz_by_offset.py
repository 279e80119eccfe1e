#!/usr/bin/env python3
"""What a general-purpose compressor finds in the held-out bytes, by offset in the file: the
xz (LZMA, preset 9 extreme) code length of each 1 KiB chunk given the C bytes of its own file
before it, 8 * (len(xz(context + chunk)) - len(xz(context))) bits, summed per offset bucket of
`fmalens eval --context` (0-1K, 1K-4K, 4K-16K, 16K-64K, 64K+) over the same bytes: the first
128 KiB of each held-out file, byte 0 of each file left out (the models have nothing to predict
it from). The README's long-context table puts these rows beside the models'.
Usage: tools/xz_by_offset.py --data DIR [--context 4096] [--context 61440] [--json OUT]"""
import argparse
import json
import lzma
import sys
from pathlib import Path

FILE_BYTES = 128 * 1024
CHUNK = 1024
BUCKETS = [("0-1K", 0, 1024), ("1K-4K", 1024, 4096), ("4K-16K", 4096, 16384), ("16K-64K", 16384, 65536), ("64K+", 65536, None)]
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def xz_bytes(data: bytes) -> int:
    return len(lzma.compress(data, format=lzma.FORMAT_RAW, filters=FILTERS))


def heldout_files(root: Path):
    folder = root / "heldout" if (root / "heldout").is_dir() else root
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else [folder]
    for p in files:
        data = p.read_bytes()[:FILE_BYTES]
        if len(data) >= 2:
            yield p, data


def measure(root: Path, context: int):
    bits = [0.0] * len(BUCKETS)
    count = [0] * len(BUCKETS)
    for _, data in heldout_files(root):
        start = 1  # byte 0 is not scored
        while start < len(data):
            # Chunks stay inside one bucket, so each bucket's bits are its own bytes'.
            bucket = next(k for k, (_, a, b) in enumerate(BUCKETS) if start >= a and (b is None or start < b))
            end = min(len(data), start + CHUNK, BUCKETS[bucket][2] or len(data))
            ctx = data[max(0, start - context):start]
            cost = 8 * (xz_bytes(ctx + data[start:end]) - (xz_bytes(ctx) if ctx else 0))
            bits[bucket] += cost
            count[bucket] += end - start
            start = end
    total_bits, total = sum(bits), sum(count)
    return {"context": context, "bits_per_byte": total_bits / max(total, 1), "items": total,
            "by_offset": [{"offset": name, "from": a, "to": b, "bytes": c, "bits_per_byte": (x / c if c else 0.0)}
                          for (name, a, b), x, c in zip(BUCKETS, bits, count)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--context", type=int, action="append")
    ap.add_argument("--json")
    a = ap.parse_args()
    results = [measure(Path(a.data), c) for c in (a.context or [4096, 61440])]
    for r in results:
        rows = "  ".join(f"{b['offset']} {b['bits_per_byte']:.3f}" for b in r["by_offset"] if b["bytes"])
        print(f"xz -9e given {r['context']} bytes: {r['bits_per_byte']:.3f} bits/byte on {r['items']} bytes; {rows}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
