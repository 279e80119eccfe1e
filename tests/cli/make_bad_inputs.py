#!/usr/bin/env python3
"""Helpers of the bad-inputs suite (bad_inputs.py) and the generator of its committed images:
run it to rewrite tests/cli/bad_inputs/img_*. Images named img_ok_* are legitimate (the CLI
must run them), img_bad_* must be refused. The tiny models in bad_inputs/ were made with
`fmalens train` (see README.md there). Standard library only.
"""
import io
import os
import pickle
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fuzz"))
from make_corpus import png, png_images, bmp  # noqa: E402,F401


def global_call_pickle(module, name, arg):
    """PROTO 2; GLOBAL module.name; (arg,); REDUCE; STOP: what a malicious torch.save holds."""
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n" + pickle.dumps(arg, 2)[2:-1] + b"\x85R."


def torch_zip(pkl, extra=None):
    """A torch.save-style archive around `pkl`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")
        for name, data in (extra or {}).items():
            z.writestr("archive/" + name, data)
    return buf.getvalue()


def _rewrite(pt, keep):
    src = zipfile.ZipFile(io.BytesIO(pt))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            data = keep(info.filename, src.read(info.filename))
            if data is not None:
                z.writestr(info.filename, data)
    return buf.getvalue()


def drop_zip_member(pt, suffix):
    return _rewrite(pt, lambda n, d: None if n.endswith("/" + suffix) else d)


def flip_zip_member(pt, suffix):
    """Flips one byte inside a stored member's data (its CRC no longer matches)."""
    src = zipfile.ZipFile(io.BytesIO(pt))
    info = next(i for i in src.infolist() if i.filename.endswith("/" + suffix))
    out = bytearray(pt)
    name_len, extra_len = struct.unpack("<HH", pt[info.header_offset + 26:info.header_offset + 30])
    out[info.header_offset + 30 + name_len + extra_len + 1] ^= 0x5A
    return bytes(out)


def images():
    p = png_images()
    ok = {
        "img_ok_gray8.png": p["gray8.png"],
        "img_ok_gray16.png": p["gray16.png"],
        "img_ok_rgb16.png": p["rgb16.png"],
        "img_ok_rgba.png": p["rgba8.png"],
        "img_ok_gray_alpha.png": p["gray_alpha.png"],
        "img_ok_palette.png": p["palette.png"],
        "img_ok_palette4bit.png": p["palette4bit.png"],
        "img_ok_1bit.png": p["gray1bit.png"],
        "img_ok_1x1.png": p["one_pixel.png"],
        "img_ok_rgb.bmp": bmp(5, 3),
    }
    good = p["rgb8.png"]
    bad = {
        "img_bad_empty.png": b"",
        "img_bad_zero_width.png": png(0, 6, 0, 8, [b""] * 6),
        "img_bad_zero_height.png": png(8, 0, 0, 8, []),
        "img_bad_truncated.png": good[: len(good) - 30],
        "img_bad_header_only.png": good[:33],
        "img_bad_garbage_idat.png": good[:41] + bytes(range(7, 200, 3)) + good[-12:],
        "img_bad_text.png": b"this is not an image at all\n",
        "img_bad_bit_depth.png": png(8, 6, 2, 3, [b"\0" * 24] * 6),
    }
    jpg_path = os.path.join(HERE, "..", "fuzz", "corpus", "image", "rgb.jpg")
    if os.path.exists(jpg_path):
        with open(jpg_path, "rb") as f:
            jpg = f.read()
        ok["img_ok_rgb.jpg"] = jpg
        bad["img_bad_truncated_header.jpg"] = jpg[:100]
        sof = jpg.find(b"\xff\xc0")
        broken = bytearray(jpg)
        broken[sof + 9] = 0  # number of components: 0
        bad["img_bad_sof_no_components.jpg"] = bytes(broken)
        bad["img_bad_only_soi.jpg"] = b"\xff\xd8\xff\xd9"
    return {**ok, **bad}


if __name__ == "__main__":
    out = os.path.join(HERE, "bad_inputs")
    os.makedirs(out, exist_ok=True)
    for name, data in images().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("images written to", out)
