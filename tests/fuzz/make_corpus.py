#!/usr/bin/env python3
"""Writes the fuzz seed corpora under tests/fuzz/corpus/<target>/: small valid files and
near-valid ones (a rule broken each), a few KB at most. Standard library only; the committed
seeds are this script's output (rerun it to regenerate; the JPEG seeds are kept as committed).

Usage: tests/fuzz/make_corpus.py [corpus_dir]
"""
import gzip
import io
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")

TEXT_CONFIG = {"kind": "text", "attention_kind": "fma", "n_layer": 1, "n_head": 2, "n_embd": 8,
               "bias": True, "block_size": 64, "vocab_size": 256,
               "attention": {"variant": "causal", "m": 8, "p": 2, "downsampling": "groupedconv",
                             "boundary": "mask", "query_downsampling": False, "scale_attn": True}}
IMAGE_CONFIG = {"kind": "image", "attention_kind": "fma", "n_layer": 1, "n_head": 2, "n_embd": 8,
                "image_size": 28, "patch_size": 7, "channels": 1, "num_classes": 10,
                "attention": {"variant": "2d", "m": 2, "p": 1}}
DENSE_CONFIG = {"kind": "text", "attention_kind": "dense", "n_layer": 2, "n_head": 1, "n_embd": 4,
                "block_size": 16}


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- safetensors
def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes). Returns the file's bytes."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def safetensors_seeds():
    meta = {"format": "fmalens", "fmalens_config": json.dumps(TEXT_CONFIG)}
    good = safetensors([("a", "F32", [2, 3], f32(*range(6))), ("b", "I64", [2], struct.pack("<2q", 1, -1)),
                        ("c", "BF16", [1], b"\x80\x3f"), ("d", "U8", [0], b""), ("e", "BOOL", [], b"\x01")],
                       meta)
    put("safetensors", "valid_small", good)
    put("safetensors", "valid_empty", safetensors([]))
    put("safetensors", "valid_scalar", safetensors([("x", "F64", [], struct.pack("<d", 1.5))]))
    put("safetensors", "valid_image_config",
        safetensors([("w", "F16", [2, 2], b"\x00\x3c" * 4)], {"fmalens_config": json.dumps(IMAGE_CONFIG)}))
    put("safetensors", "truncated", good[: len(good) - 5])
    put("safetensors", "header_too_long", struct.pack("<Q", 1 << 40) + good[8:])
    put("safetensors", "overlap",
        safetensors([]) [:0] + (lambda h: struct.pack("<Q", len(h)) + h + f32(1, 2))(
            b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'))
    put("safetensors", "bad_dtype", (lambda h: struct.pack("<Q", len(h)) + h + b"\0" * 4)(
        b'{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}'))
    put("safetensors", "bad_config",
        safetensors([("w", "F32", [1], f32(0))], {"fmalens_config": json.dumps(dict(TEXT_CONFIG, block_size=60))}))


# ---------------------------------------------------------------- torch zip / pickle
class Global:
    """Pickles as GLOBAL module.name (protocol 2) when reduced with args."""


def raw_global_call(module, name, arg):
    # PROTO 2, GLOBAL 'module name', (arg,), REDUCE, STOP
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n" + pickle.dumps(arg, 2)[2:-1] +
            b"\x85R.")


def torch_zip_seeds():
    src = os.path.join(ROOT, "tests", "fixtures", "nanogpt_tiny.pt")
    with open(src, "rb") as f:
        whole = f.read()
    put("torch_zip", "nanogpt_tiny.pt", whole)
    with zipfile.ZipFile(src) as z:
        pkl = z.read("nanogpt_tiny/data.pkl")
    put("torch_zip", "nanogpt_tiny.pkl", pkl)  # no PK magic: wrapped with storages by the target
    put("torch_zip", "plain_dict.pkl", pickle.dumps({"model": {}, "model_args": {"n_layer": 1, "bias": False},
                                                     "iter_num": 3, "best_val_loss": 1.25}, 2))
    put("torch_zip", "os_system.pkl", raw_global_call("os", "system", "true"))
    put("torch_zip", "builtins_eval.pkl", raw_global_call("builtins", "eval", "1+1"))
    put("torch_zip", "deep_lists.pkl", b"\x80\x02" + b"]" * 2000 + b".")
    put("torch_zip", "deep_marks.pkl", b"\x80\x02" + b"(" * 2000 + b".")
    # A whole archive whose pickle names os.system (stored, so mutations reach it).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", raw_global_call("os", "system", "true"))
        z.writestr("archive/version", "3\n")
    put("torch_zip", "os_system.pt", buf.getvalue())


# ---------------------------------------------------------------- config
def config_seeds():
    put("config", "text_fma.json", json.dumps(TEXT_CONFIG))
    put("config", "image_fma.json", json.dumps(IMAGE_CONFIG))
    put("config", "text_dense.json", json.dumps(DENSE_CONFIG))
    put("config", "bidirectional.json", json.dumps(dict(TEXT_CONFIG, attention=dict(
        TEXT_CONFIG["attention"], variant="bidirectional", query_downsampling=True, downsampling="avgpool"))))
    put("config", "zero_pad.json", json.dumps(dict(TEXT_CONFIG, attention=dict(
        TEXT_CONFIG["attention"], boundary="zero_pad", downsampling="conv"))))
    put("config", "m_not_power.json", json.dumps(dict(TEXT_CONFIG, attention=dict(TEXT_CONFIG["attention"], m=6))))
    put("config", "missing_kind.json", json.dumps({k: v for k, v in TEXT_CONFIG.items() if k != "kind"}))
    put("config", "huge_numbers.json", json.dumps(dict(TEXT_CONFIG, block_size=2 ** 62, n_embd=-1)))
    put("config", "class_names.json", json.dumps(dict(IMAGE_CONFIG, num_classes=2, class_names=["a", "b"])))


# ---------------------------------------------------------------- idx
def idx(type_code, shape, data):
    return b"\0\0" + bytes([type_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + data


def idx_seeds():
    images = idx(0x08, [2, 4, 4], bytes(range(32)))
    put("idx", "images_u8", images)
    put("idx", "images_u8.gz", gzip.compress(images, mtime=0))
    put("idx", "labels_u8", idx(0x08, [5], bytes([0, 1, 2, 9, 3])))
    put("idx", "truncated", images[:-3])
    put("idx", "huge_dims", idx(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 28], b"\0" * 16))
    put("idx", "float_type", idx(0x0D, [2], f32(1, 2)[::-1]))


# ---------------------------------------------------------------- image
def png(width, height, color_type, bit_depth, rows, palette=None, trns=None):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", palette)
    if trns:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def png_images():
    """name -> bytes of small valid PNGs in every colour type stb reads."""
    w, h = 8, 6
    return {
        "gray8.png": png(w, h, 0, 8, [bytes((x * 30 + y) & 255 for x in range(w)) for y in range(h)]),
        "gray16.png": png(w, h, 0, 16, [b"".join(struct.pack(">H", x * 8000 + y) for x in range(w)) for y in range(h)]),
        "rgb8.png": png(w, h, 2, 8, [bytes((x * 30 + c * 80) & 255 for x in range(w) for c in range(3)) for y in range(h)]),
        "rgb16.png": png(w, h, 2, 16, [b"".join(struct.pack(">H", x * 7000 + c) for x in range(w) for c in range(3)) for y in range(h)]),
        "rgba8.png": png(w, h, 6, 8, [bytes((x * 30 + c * 60) & 255 for x in range(w) for c in range(4)) for y in range(h)]),
        "gray_alpha.png": png(w, h, 4, 8, [bytes((x * 30 + c) & 255 for x in range(w) for c in range(2)) for y in range(h)]),
        "palette.png": png(w, h, 3, 8, [bytes((x + y) % 4 for x in range(w)) for y in range(h)],
                           palette=bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]), trns=bytes([0, 255])),
        "palette4bit.png": png(w, h, 3, 4, [bytes(((x % 4) << 4) | ((x + 1) % 4) for x in range(w // 2)) for y in range(h)],
                               palette=bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])),
        "gray1bit.png": png(w, h, 0, 1, [bytes([0b10101010]) for y in range(h)]),
        "one_pixel.png": png(1, 1, 2, 8, [b"\x10\x20\x30"]),
        "interlaced_header_only.png": png(w, h, 0, 8, [])[:33],
    }


def bmp(width, height):
    row = bytes((x * 40) & 255 for x in range(width) for _ in range(3))
    row += b"\0" * (-len(row) % 4)
    pixels = row * height
    return (b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)


def pgm(width, height):
    return b"P5\n%d %d\n255\n" % (width, height) + bytes((i * 7) & 255 for i in range(width * height))


def image_seeds():
    for name, data in png_images().items():
        put("image", name, data)
    put("image", "rgb.bmp", bmp(5, 3))
    # No PNM seeds: load_image refuses PNM (stb 2.27's PNM header parser overflows).
    put("image", "gif_header", b"GIF89a\x04\x00\x04\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,"
        b"\x00\x00\x00\x00\x04\x00\x04\x00\x00\x02\x04\x84\x8f\x10\x05\x00;")
    # JPEG seeds (baseline and progressive) are committed as made once by ImageMagick; kept if present.


# ---------------------------------------------------------------- text window
def text_seeds():
    def seed(context, start, text):
        return struct.pack("<ii", context, start) + text
    put("text_window", "tail", seed(16, -1, b"hello world, this is a fortune.\n"))
    put("text_window", "start", seed(8, 3, b"abcdefghijklmnop"))
    put("text_window", "nul_invalid_utf8", seed(32, -1, b"a\0b\xff\xfe\xc3(\xe2\x82"))
    put("text_window", "past_end", seed(4, 100, b"short"))
    put("text_window", "empty", seed(4, -1, b""))


if __name__ == "__main__":
    safetensors_seeds()
    torch_zip_seeds()
    config_seeds()
    idx_seeds()
    image_seeds()
    text_seeds()
    print("seeds written to", OUT)
