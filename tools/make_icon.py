#!/usr/bin/python3
"""Draws FMA Lens's icon: the hierarchical attention matrix of causal FMA (single tokens on the
diagonal, ever larger summary blocks further from it, coloured by level) in a rounded dark tile.

    /usr/bin/python3 tools/make_icon.py assets/desktop

Writes fmalens.svg and fmalens-{16,32,48,64,128,256}.png from the same list of rectangles
(standard library only: the PNGs are rasterised here, 4x4 supersampled).
"""
import os
import struct
import sys
import zlib

BG = (23, 23, 26)
# Level colours: fine (orange) to coarse (viridis-like greens and blues), as the app tints them.
LEVELS = [(245, 166, 35), (94, 201, 98), (33, 145, 140), (59, 82, 139)]


def rectangles():
    """(x0, y0, x1, y1, rgb) in a 0..1 square: the causal H-matrix over 16 tokens. Each diagonal
    block's lower-left quarter is one summary block, its two diagonal halves recurse; single
    tokens on the diagonal meet at full resolution (the fine level)."""
    n, pad, size = 16, 0.14, 0.72
    cell = size / n
    blocks = []

    def split(start, width):
        if width == 1:
            blocks.append((start, start, 1, 0))
            return
        half = width // 2
        level = {1: 0, 2: 1, 4: 2, 8: 3}[half]
        blocks.append((start + half, start, half, level))
        split(start, half)
        split(start + half, half)

    split(0, n)
    out = []
    gap = 0.14 * cell
    for i, j, w, level in blocks:
        x0, y0 = pad + j * cell + gap / 2, pad + i * cell + gap / 2
        out.append((x0, y0, x0 + w * cell - gap, y0 + w * cell - gap, LEVELS[level]))
    return out


def svg(path):
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">',
             '<rect x="8" y="8" width="240" height="240" rx="36" fill="rgb(%d,%d,%d)"/>' % BG]
    for x0, y0, x1, y1, c in rectangles():
        parts.append('<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" rx="1.5" fill="rgb(%d,%d,%d)"/>'
                     % (x0 * 256, y0 * 256, (x1 - x0) * 256, (y1 - y0) * 256, *c))
    parts.append("</svg>\n")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def inside_tile(x, y):
    """The rounded tile of the SVG: (8..248) with corner radius 36, in 0..1 units."""
    lo, hi, r = 8 / 256, 248 / 256, 36 / 256
    if not (lo <= x <= hi and lo <= y <= hi):
        return False
    cx = min(max(x, lo + r), hi - r)
    cy = min(max(y, lo + r), hi - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def png(path, size):
    rects = rectangles()
    ss = 4
    rows = []
    for py in range(size):
        row = bytearray(b"\x00")
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    x, y = (px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size
                    if not inside_tile(x, y):
                        continue
                    c = BG
                    for x0, y0, x1, y1, rc in rects:
                        if x0 <= x < x1 and y0 <= y < y1:
                            c = rc
                            break
                    acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            k = ss * ss
            a = acc[3] / k
            rgb = [int(round(v / max(1, acc[3] / 255))) if acc[3] else 0 for v in acc[:3]]
            row += bytes(rgb + [int(round(a))])
        rows.append(bytes(row))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    svg(os.path.join(out, "fmalens.svg"))
    for size in (16, 32, 48, 64, 128, 256):
        png(os.path.join(out, "fmalens-%d.png" % size), size)


if __name__ == "__main__":
    main()
