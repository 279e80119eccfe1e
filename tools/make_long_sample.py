#!/usr/bin/env python3
"""Writes assets/samples/long_sources.txt: FMA Lens's own C++ sources (core/ then app/, each
file under a '// ==== path' line), cut to exactly 65,536 bytes, the long model's context. The
project's own code is free to ship, has structure that reaches far back (includes, names
declared thousands of bytes before their use), and is what a long-context viewer should show.
Usage: tools/make_long_sample.py [OUT]  (run from anywhere; paths are the repository's)."""
import sys
from pathlib import Path

SIZE = 65536


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "assets" / "samples" / "long_sources.txt"
    parts = []
    for folder in ("core/src/fma", "core/src/base/fma", "core/src/base", "app/render"):
        for path in sorted((root / folder).glob("*.cpp")):
            parts.append(f"// ==== {path.relative_to(root)}\n".encode() + path.read_bytes())
    data = b"".join(parts)
    if len(data) < SIZE:
        print(f"only {len(data)} bytes of sources; need {SIZE}", file=sys.stderr)
        return 1
    data = data[:SIZE]
    out.write_bytes(data)
    print(f"wrote {out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
