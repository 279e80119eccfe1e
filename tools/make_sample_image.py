#!/usr/bin/env python3
"""Writes one Fashion-MNIST test image as an 8-bit greyscale PNG (the GUI's sample image).

Usage: tools/make_sample_image.py [--label 7] [--out assets/samples/fashion_mnist_sneaker.png]
Reads the IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist);
standard library only (gzip, zlib, struct).
"""
import argparse
import gzip
import struct
import zlib

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def png_grey(width, height, pixels):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--label", type=int, default=7, help="class to take the first test image of (7: Sneaker)")
    ap.add_argument("--out", default="assets/samples/fashion_mnist_sneaker.png")
    a = ap.parse_args()
    (count, rows, cols), images = read_idx(f"{a.data}/t10k-images-idx3-ubyte.gz")
    (_,), labels = read_idx(f"{a.data}/t10k-labels-idx1-ubyte.gz")
    index = next(i for i in range(count) if labels[i] == a.label)
    size = rows * cols
    with open(a.out, "wb") as f:
        f.write(png_grey(cols, rows, images[index * size:(index + 1) * size]))
    print(f"{a.out}: test image {index}, {CLASSES[a.label]}, {cols}x{rows}")


if __name__ == "__main__":
    main()
