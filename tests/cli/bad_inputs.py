#!/usr/bin/env python3
"""Bad-inputs suite: runs the real fmalens binary over hostile and odd files and checks that it
fails safely, or works where the input is legitimate.

For each refusal: exit code 2, exactly one line on stderr, that line names the offending file
(and, where given, the rule), no crash, no hang (every run has a timeout), and no file left
behind: the scratch folder holds exactly what it held before (no outputs, no temporaries), and
an existing output file keeps its old bytes. Legitimate inputs (16-bit, gray, alpha, palette
and 1x1 images; NUL bytes and invalid UTF-8 in text; text longer than the context; a 100 MB
text file) must exit 0. Figure export gets the same treatment (bad checkpoint, image, view,
layer, format, size and output paths).

Small inputs are committed under tests/cli/bad_inputs/ (made by make_bad_inputs.py); the rest,
including the large ones (sparse files), are generated here in a temporary folder from the
committed tiny models.

Usage: bad_inputs.py FMALENS_BINARY [-k SUBSTRING] [-v]
"""
import argparse
import io
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMMITTED = os.path.join(HERE, "bad_inputs")
TINY_TEXT = os.path.join(COMMITTED, "tiny_text.safetensors")
TINY_IMAGE = os.path.join(COMMITTED, "tiny_image.safetensors")
NANOGPT = os.path.join(ROOT, "tests", "fixtures", "nanogpt_tiny.pt")
TOKENIZERS = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
CHAR_CKPT = os.path.join(TOKENIZERS, "nanogpt_char", "out-shakespeare-char", "ckpt.pt")
BPE_CKPT = os.path.join(TOKENIZERS, "nanogpt_bpe", "ckpt.pt")

sys.path.insert(0, HERE)
import make_bad_inputs as mk  # noqa: E402


# ------------------------------------------------------------------ safetensors surgery
def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return header, raw[8 + n:]


def st_bytes(header, data, pad=True):
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def st_rebuild(header, tensors):
    """tensors: {name: (dtype, shape, bytes)} laid out in name order."""
    out = {"__metadata__": header["__metadata__"]} if "__metadata__" in header else {}
    data = b""
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        out[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return st_bytes(out, data)


def st_tensors(header, data):
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


def with_config(header, **changes):
    h = json.loads(json.dumps(header))
    cfg = json.loads(h["__metadata__"]["fmalens_config"])
    att = changes.pop("attention", {})
    cfg.update(changes)
    cfg["attention"].update(att)
    h["__metadata__"]["fmalens_config"] = json.dumps(cfg)
    return h


# ------------------------------------------------------------------ the suite
class Suite:
    def __init__(self, binary, verbose, only):
        self.binary = os.path.abspath(binary)
        self.verbose = verbose
        self.only = only
        self.tmp = tempfile.mkdtemp(prefix="fmalens_bad_inputs_")
        self.inputs = os.path.join(self.tmp, "in")
        self.scratch = os.path.join(self.tmp, "scratch")  # cwd and output folder of every run
        os.makedirs(self.inputs)
        os.makedirs(self.scratch)
        self.failures = []
        self.ran = 0
        self.report = []

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.inputs, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def sparse(self, name, size, head=b""):
        """A file of `size` bytes that costs no disk: `head`, then a hole."""
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(head)
            f.truncate(size)
        return p

    def snapshot(self):
        out = {}
        for d, _, files in os.walk(self.scratch):
            for f in files:
                p = os.path.join(d, f)
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, self.scratch)] = fh.read()
            out[os.path.relpath(d, self.scratch) + "/"] = None
        return out

    def run(self, kind, name, args, expect=2, names=None, rule=None, timeout=60, fsize=None,
            stdout_has=None, stderr_has=None, env=None):
        """kind: what the note groups by. names: the path the one error line must contain."""
        label = f"{kind}: {name}"
        if self.only and self.only not in label:
            return
        self.ran += 1
        before = self.snapshot()

        def limits():
            os.nice(0)
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        t0 = time.monotonic()
        try:
            p = subprocess.run([self.binary] + args, cwd=self.scratch, capture_output=True, timeout=timeout,
                               preexec_fn=limits, env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})))
        except subprocess.TimeoutExpired:
            self.fail(label, f"no answer within {timeout} s (a hang)")
            return
        wall = time.monotonic() - t0
        err = p.stderr.decode("utf-8", "replace")
        lines = err.splitlines()
        problems = []
        if p.returncode < 0:
            problems.append(f"killed by signal {-p.returncode} (a crash)")
        elif p.returncode != expect:
            problems.append(f"exit code {p.returncode}, expected {expect}")
        if expect in (1, 2):  # a refusal (2) or a failure of the machine (1): one line all the same
            if len(lines) != 1:
                problems.append(f"{len(lines)} lines on stderr, expected exactly one")
            elif not lines[0].startswith("error: "):
                problems.append("the stderr line does not start with 'error: '")
            if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f for c in err):
                problems.append("raw control bytes on stderr (outside values must be quoted with escapes)")
            if names and names not in err:
                problems.append(f"the message does not name {names}")
            if rule and rule.lower() not in err.replace(names or "\0", "").lower():
                problems.append(f"the message does not say '{rule}'")
        if stdout_has and stdout_has not in p.stdout.decode("utf-8", "replace"):
            problems.append(f"stdout lacks '{stdout_has}'")
        if stderr_has and stderr_has not in err:
            problems.append(f"stderr lacks '{stderr_has}'")
        after = self.snapshot()
        if expect in (1, 2) and after != before:
            added = sorted(set(after) - set(before))
            changed = sorted(k for k in before if k in after and before[k] != after[k])
            removed = sorted(set(before) - set(after))
            problems.append(f"files changed in the output folder: added {added}, changed {changed}, removed {removed}")
        summary = lines[0] if lines else "(no stderr)"
        if expect == 0:
            summary = f"exit 0 ({wall:.1f} s)" + (f"; {lines[-1]}" if lines else "")
        self.report.append((kind, name, p.returncode, summary))
        if problems:
            self.fail(label, "; ".join(problems) + f"\n    stderr: {err[:2000]!r}")
        elif self.verbose:
            print(f"ok   {label}: [{p.returncode}] {summary}")
        # Leave the scratch folder as it was for the next case.
        for k in set(after) - set(before):
            full = os.path.join(self.scratch, k)
            if k.endswith("/"):
                shutil.rmtree(full, ignore_errors=True)
            elif os.path.exists(full):
                os.unlink(full)

    @staticmethod
    def ckpt_name(case):
        ext = ".pt" if case.startswith("torch zip") else ".safetensors"
        return "ckpt_" + "".join(c if c.isalnum() else "_" for c in case)[:60] + ext

    def fail(self, label, why):
        self.failures.append(label)
        print(f"FAIL {label}: {why}")

    # -------------------------------------------------------------- checkpoints
    def checkpoint_cases(self):
        header, data = st_read(TINY_TEXT)
        tensors = st_tensors(header, data)
        good = st_bytes(header, data)
        data_start = len(good) - len(data)
        hlen = struct.unpack("<Q", good[:8])[0]
        first = sorted(tensors)[0]
        wte = "transformer.wte.weight"
        cases = {}
        cases["truncated in the data"] = (good[: len(good) - 100], "outside the data area", None)
        cases["truncated in the header"] = (good[: 8 + hlen // 2], None, None)
        cases["truncated to 5 bytes"] = (good[:5], None, None)
        cases["empty file"] = (b"", None, None)
        flipped = bytearray(good)
        flipped[8] ^= 0xFF  # the header's opening brace
        cases["flipped byte in the header"] = (bytes(flipped), "header", None)
        flipped = bytearray(good)
        flipped[8 + hlen // 3] = ord("\x01")
        cases["control byte inside the header JSON"] = (bytes(flipped), "header", None)
        cases["header length larger than the file"] = (struct.pack("<Q", len(good) + 1) + good[8:], "header", None)
        cases["absurd header length 2^63"] = (struct.pack("<Q", 1 << 63) + good[8:], "header", None)
        cases["absurd header length 100 MB"] = (struct.pack("<Q", 100_000_001) + good[8:], "header", None)
        h = json.loads(json.dumps(header))
        h[first]["data_offsets"][1] = len(data) + 4
        cases["offsets past the end of the file"] = (st_bytes(h, data), first, None)
        h = json.loads(json.dumps(header))
        h[first]["data_offsets"] = [len(data) * 1000, len(data) * 1000 + len(tensors[first][2])]
        cases["offsets far outside the file"] = (st_bytes(h, data), first, None)
        h = json.loads(json.dumps(header))
        h[first]["data_offsets"] = [1 << 64 - 1, 4]
        cases["offsets reversed (begin > end)"] = (st_bytes(h, data), first, None)
        names = sorted(tensors)
        h = json.loads(json.dumps(header))
        h[names[1]]["data_offsets"] = list(h[names[0]]["data_offsets"])
        cases["overlapping tensors"] = (st_bytes(h, data), None, None)
        h = json.loads(json.dumps(header))
        for n in names:
            h[n]["data_offsets"] = [o + 2 for o in h[n]["data_offsets"]]
        cases["misaligned tensors (2-byte shift)"] = (st_bytes(h, b"\0\0" + data), None, None)
        h = json.loads(json.dumps(header))
        h[wte]["dtype"] = "F8_E4M3"
        cases["unknown dtype F8_E4M3"] = (st_bytes(h, data), "F8_E4M3", None)
        t = dict(tensors)
        dt, shape, raw = t[wte]
        t[wte] = ("F64", shape, raw + raw)
        t = dict(tensors)
        t[wte] = ("BF16", shape, b"".join(raw[i + 2:i + 4] for i in range(0, len(raw), 4)))  # F32's top halves
        legit_f64 = {"dtype F64 where the model wants F32 (converted)": st_rebuild(header, dict(tensors, **{wte: ("F64", shape, raw + raw)})),
                     "dtype BF16 (converted)": st_rebuild(header, t)}
        t = dict(tensors)
        t[wte] = ("I32", shape, raw)
        cases["integer dtype for a weight"] = (st_rebuild(header, t), wte, None)
        t = dict(tensors)
        t[wte] = ("F32", [shape[0] // 2, shape[1] * 2], raw)
        cases["shape disagrees with the config"] = (st_rebuild(header, t), wte, None)
        h = json.loads(json.dumps(header))
        h[wte]["shape"] = [shape[0], shape[1] + 1]
        cases["shape disagrees with its byte range"] = (st_bytes(h, data), wte, None)
        t = dict(tensors)
        missing = "transformer.h.0.attn.c_proj.weight"
        del t[missing]
        cases["missing key"] = (st_rebuild(header, t), missing, None)
        t = dict(tensors)
        t["transformer.h.7.surprise.weight"] = ("F32", [2], struct.pack("<2f", 1, 2))
        cases["unknown key"] = (st_rebuild(header, t), "transformer.h.7.surprise.weight", None)
        t = dict(tensors)
        t["transformer.wte.weight"] = ("F32", shape, struct.pack("<f", float("nan")) * (len(raw) // 4))
        cases["NaN weights"] = (st_rebuild(header, t), wte, None)
        for what, change in [("m not a power of two", {"attention": {"m": 6}}),
                             ("n/m not a power of two", {"block_size": 48}),
                             ("p = 0", {"attention": {"p": 0}}),
                             ("n_embd not divisible by n_head", {"n_head": 3}),
                             ("negative n_layer", {"n_layer": -1}),
                             ("unknown variant", {"attention": {"variant": "sideways"}}),
                             ("huge block_size", {"block_size": 1 << 40})]:
            cases[f"config breaks FMA rules: {what}"] = (st_bytes(with_config(header, **change), data), None, None)
        h = json.loads(json.dumps(header))
        del h["__metadata__"]["fmalens_config"]
        cases["no config in the metadata"] = (st_bytes(h, data), "config", None)
        h = json.loads(json.dumps(header))
        h["__metadata__"]["fmalens_config"] = "{not json"
        cases["config is not JSON"] = (st_bytes(h, data), "config", None)
        h = json.loads(json.dumps(header))
        h["__metadata__"]["fmalens_config"] = json.dumps({"kind": "text"})
        cases["config missing fields"] = (st_bytes(h, data), "n_layer", None)
        deep = b"[" * 100000 + b"]" * 100000
        cases["absurdly deep JSON header"] = (struct.pack("<Q", len(deep)) + deep, "header", None)
        cases["header JSON is an array"] = (st_bytes([], b""), "header", None)
        cases["random bytes"] = (os.urandom(4096), None, None)

        # torch.save zips
        with open(NANOGPT, "rb") as f:
            pt = f.read()
        cases["torch zip truncated"] = (pt[: len(pt) // 2], None, None)
        cases["torch zip with a flipped byte (CRC)"] = (mk.flip_zip_member(pt, "data/3"), None, None)
        cases["torch zip: pickle names os.system"] = (mk.torch_zip(mk.global_call_pickle("os", "system", "true")),
                                                      "os.system", None)
        cases["torch zip: pickle names builtins.eval"] = (
            mk.torch_zip(mk.global_call_pickle("builtins", "eval", "1")), "builtins.eval", None)
        cases["torch zip: pickle names posix.system"] = (
            mk.torch_zip(mk.global_call_pickle("posix", "system", "true")), "posix.system", None)
        cases["torch zip: absurdly deep pickle (lists)"] = (mk.torch_zip(b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b"."), "deep", None)
        cases["torch zip: absurdly deep pickle (marks)"] = (mk.torch_zip(b"\x80\x02" + b"(" * 200000 + b"."), "deep", None)
        cases["torch zip: empty pickle"] = (mk.torch_zip(b""), None, None)
        cases["torch zip: storage entry missing"] = (mk.drop_zip_member(pt, "data/0"), None, None)
        cases["torch zip: no data.pkl"] = (mk.drop_zip_member(pt, "data.pkl"), "data.pkl", None)

        for name, (content, rule, _) in cases.items():
            p = self.write(self.ckpt_name(name), content)
            self.run("checkpoint", f"info: {name}", ["info", "--checkpoint", p], names=p, rule=rule)
        # Same files through eval and inspect (a sample: they share the loader).
        text = self.write("eval.txt", b"the quick brown fox jumps over the lazy dog\n" * 40)
        for name in ["truncated in the data", "absurd header length 100 MB", "missing key", "unknown key",
                     "torch zip: pickle names os.system", "config breaks FMA rules: m not a power of two"]:
            p = self.path(self.ckpt_name(name))
            self.run("checkpoint", f"eval: {name}", ["eval", "--checkpoint", p, "--data", text], names=p)
            self.run("checkpoint", f"inspect: {name}",
                     ["inspect", "--checkpoint", p, "--text", "hello", "--out", "out"], names=p)

        # Large and special files.
        p = self.sparse("huge_header.safetensors", 150_000_000, struct.pack("<Q", 120_000_000) + b"{")
        self.run("checkpoint", "info: 150 MB file whose header claims 120 MB", ["info", "--checkpoint", p], names=p,
                 rule="header", timeout=20)
        p = self.sparse("huge_zeros.safetensors", 200_000_000)
        self.run("checkpoint", "info: 200 MB of zeros", ["info", "--checkpoint", p], names=p, timeout=20)
        p = self.sparse("huge_zeros.pt", 200_000_000, b"PK\x03\x04")
        self.run("checkpoint", "info: 200 MB zip-looking zeros", ["info", "--checkpoint", p], names=p, timeout=20)
        p = self.path("no_such_file.safetensors")
        self.run("checkpoint", "info: missing file", ["info", "--checkpoint", p], names=p)
        self.run("checkpoint", "info: a folder", ["info", "--checkpoint", self.inputs], names=self.inputs)
        fifo = self.path("fifo.safetensors")
        os.mkfifo(fifo)
        self.run("checkpoint", "info: a FIFO (would block a naive open)", ["info", "--checkpoint", fifo], names=fifo,
                 timeout=20)
        for name, content in legit_f64.items():
            p = self.write(self.ckpt_name(name), content)
            self.run("checkpoint", f"info: {name}", ["info", "--checkpoint", p], expect=0)
        # Legitimate: the committed tiny models and the nanoGPT torch.save fixture.
        self.run("checkpoint", "info: valid tiny text model", ["info", "--checkpoint", TINY_TEXT], expect=0,
                 stdout_has="FMA")
        self.run("checkpoint", "info: valid nanoGPT torch.save", ["info", "--checkpoint", NANOGPT], expect=0)
        flipped = bytearray(good)
        flipped[data_start + 4 * 10 + 3] ^= 0x01  # a low mantissa bit of a weight: still a valid file
        p = self.write("flipped_weight_bit.safetensors", bytes(flipped))
        self.run("checkpoint", "inspect: one flipped weight bit (no checksum in the format: accepted)",
                 ["inspect", "--checkpoint", p, "--text", "hello", "--out", "out_ok"], expect=0)

    # -------------------------------------------------------------- tokenizers
    def tokenizer_cases(self):
        out = ["--out", "out"]
        # Bytes are never run as ids of another vocabulary: no tokenizer found -> refused.
        self.run("tokenizer", "BPE model without its vocabulary files",
                 ["inspect", "--checkpoint", BPE_CKPT, "--text", "hello world"] + out, names=BPE_CKPT, rule="--tokenizer")
        self.run("tokenizer", "nanoGPT model without a meta.pkl",
                 ["inspect", "--checkpoint", NANOGPT, "--text", "hello"] + out, names=NANOGPT, rule="--tokenizer")
        self.run("tokenizer", "a character outside the char map",
                 ["inspect", "--checkpoint", CHAR_CKPT, "--text", "Speak, Zed."] + out, rule="character 'Z' (U+005A) at byte 7")
        self.run("tokenizer", "invalid UTF-8 for a char map",
                 ["inspect", "--checkpoint", CHAR_CKPT, "--text-file", self.write("latin1.txt", b"Speak \xe9")] + out,
                 rule="not valid UTF-8 at byte 6")
        bpe = os.path.join(TOKENIZERS, "bpe", "gpt2")
        self.run("tokenizer", "a tokenizer larger than the model's vocabulary",
                 ["inspect", "--checkpoint", CHAR_CKPT, "--tokenizer", bpe, "--text", "Speak"] + out,
                 rule="ids, more than this model's vocabulary of 35")
        self.run("tokenizer", "a byte model given a BPE",
                 ["inspect", "--checkpoint", TINY_TEXT, "--tokenizer", bpe, "--text", "Speak"] + out,
                 rule="ids, more than this model's vocabulary of 256")
        broken = self.write("meta.pkl", b"\x80\x04garbage")
        self.run("tokenizer", "a broken meta.pkl", ["inspect", "--checkpoint", CHAR_CKPT, "--tokenizer", broken, "--text", "a"] + out,
                 names=broken, rule="pickle at byte")
        evil = self.write("evil.pkl", b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.")
        self.run("tokenizer", "a meta.pkl that calls os.system", ["info", "--checkpoint", CHAR_CKPT, "--tokenizer", evil],
                 names=evil, rule="forbidden global 'os.system'")
        self.run("tokenizer", "a tokenizer that does not exist",
                 ["inspect", "--checkpoint", BPE_CKPT, "--tokenizer", self.path("nope.json"), "--text", "a"] + out,
                 names=self.path("nope.json"), rule="no such tokenizer")
        self.run("tokenizer", "char model with its meta.pkl found as nanoGPT finds it",
                 ["inspect", "--checkpoint", CHAR_CKPT, "--text", "Speak, speak."] + out, expect=0)
        self.run("tokenizer", "BPE model with its files",
                 ["inspect", "--checkpoint", BPE_CKPT, "--tokenizer", bpe, "--text", "hello world"] + out, expect=0)

    # -------------------------------------------------------------- image folders
    def image_folder_cases(self):
        train = ["train", "--kind", "image", "--layers", "1", "--heads", "1", "--embd", "8", "--image-size", "8",
                 "--patch-size", "2", "--m", "1", "--p", "1", "--steps", "1", "--quiet"]
        empty = self.path("folder_empty")
        os.makedirs(empty)
        self.run("image folder", "no class folders", train + ["--data", empty, "--out", self.path("f.safetensors")],
                 names=empty, rule="no class folders")
        one = self.path("folder_one")
        os.makedirs(os.path.join(one, "cats"))
        with open(os.path.join(one, "cats", "a.png"), "wb") as f:
            f.write(open(os.path.join(ROOT, "tests", "fixtures", "image_folder", "red", "img_00.png"), "rb").read())
        self.run("image folder", "one class", train + ["--data", one, "--out", self.path("f.safetensors")],
                 names=one, rule="only one class folder")
        bad = self.path("folder_bad")
        shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "image_folder"), bad)
        broken = os.path.join(bad, "blue", "zz_broken.png")
        with open(broken, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n truncated")
        self.run("image folder", "an unreadable image", train + ["--data", bad, "--out", self.path("f.safetensors")],
                 names=broken, rule="--skip-bad-images")
        self.run("image folder", "an unreadable image, skipped", train + ["--data", bad, "--skip-bad-images", "--out", "f_ok.safetensors"],
                 expect=0, stderr_has="skipped: " + broken)

    # -------------------------------------------------------------- images
    def image_cases(self):
        out = ["--out", "out"]
        base = ["inspect", "--checkpoint", TINY_IMAGE]
        for name in sorted(os.listdir(COMMITTED)):
            if not name.startswith("img_"):
                continue
            p = os.path.join(COMMITTED, name)
            good = name.startswith("img_ok_")
            self.run("image", name, base + ["--image", p] + out + (["_ok"] if False else []), expect=0 if good else 2,
                     names=None if good else p)
        png = mk.png_images()
        p = self.write("huge_dims.png", mk.png(100000, 100000, 0, 8, [])[:33] + b"\0" * 64)
        self.run("image", "PNG header says 100000x100000 (refused before decoding)", base + ["--image", p] + out,
                 names=p, rule="8192", timeout=20)
        p = self.write("huge_9000.png", mk.png(9000, 9000, 0, 8, [])[:33] + b"\0" * 64)
        self.run("image", "PNG header says 9000x9000 (refused before decoding)", base + ["--image", p] + out,
                 names=p, rule="8192", timeout=20)
        p = self.write("fuzz_huffman.jpg", open(os.path.join(ROOT, "tests", "fuzz", "corpus", "image",
                                                             "regress_stb_huffman_overflow.jpg"), "rb").read())
        self.run("image", "JPEG whose Huffman table has too many codes (stb 2.27 overflow)", base + ["--image", p] + out,
                 names=p, rule="Huffman")
        p = self.write("image.tga", b"\0\0\2\0\0\0\0\0\0\0\0\0\1\0\1\0\x18\0\1\2\3")
        self.run("image", "TGA (no magic number: refused)", base + ["--image", p] + out, names=p, rule="not a PNG")
        p = self.write("wide.png", mk.png(8193, 1, 0, 8, [b"\0" * 8193]))
        self.run("image", "PNG of 8193x1 (one past the limit)", base + ["--image", p] + out, names=p, rule="8192")
        p = self.sparse("huge_file.png", 100_000_000, png["gray8.png"])
        self.run("image", "100 MB file starting with a valid PNG", base + ["--image", p] + out, names=p, timeout=20)
        p = self.path("no_such.png")
        self.run("image", "missing image", base + ["--image", p] + out, names=p)
        self.run("image", "a folder as the image", base + ["--image", self.inputs] + out, names=self.inputs)
        p = self.write("ok_rgb_big.png", mk.png(300, 200, 2, 8, [bytes((x + y) & 255 for x in range(900)) for y in range(200)]))
        self.run("image", "RGB 300x200 PNG to a 28x28 gray model (resized)", base + ["--image", p] + ["--out", "out_ok"],
                 expect=0)

    # -------------------------------------------------------------- text
    def text_cases(self):
        base = ["inspect", "--checkpoint", TINY_TEXT]
        out = ["--out", "out"]
        p = self.write("empty.txt", b"")
        self.run("text", "empty file", base + ["--text-file", p] + out, names=p, rule="empty")
        self.run("text", "empty --text", base + ["--text", ""] + out)
        p = self.write("invalid_utf8.txt", b"caf\xe9 \xff\xfe \xc3\x28 \xe2\x82 \xf0\x9f\x98 end")
        self.run("text", "invalid UTF-8 (bytes are bytes)", base + ["--text-file", p, "--out", "out_ok"], expect=0)
        p = self.write("nul.txt", b"a\0b\0\0c" * 5)
        self.run("text", "NUL bytes", base + ["--text-file", p, "--out", "out_ok"], expect=0)
        p = self.write("long.txt", b"0123456789" * 100)
        self.run("text", "longer than the context (a window, with a note)", base + ["--text-file", p, "--out", "out_ok"],
                 expect=0, stderr_has="left out")
        self.run("text", "window start past the end", base + ["--text-file", p, "--window-start", "5000"] + out, names=p,
                 rule="past the end")
        p = self.sparse("100mb.txt", 100 * 1000 * 1000, b"The start of a very long file.\n")
        self.run("text", "a 100 MB file (only the window is read)", base + ["--text-file", p, "--out", "out_ok"],
                 expect=0, timeout=30)
        self.run("text", "a 100 MB file through eval (bounded by --limit)",
                 ["eval", "--checkpoint", TINY_TEXT, "--data", p, "--limit", "2000"], expect=0, timeout=60)
        p = self.write("eval_empty.txt", b"")
        self.run("text", "eval on an empty text file", ["eval", "--checkpoint", TINY_TEXT, "--data", p], names=p)
        self.run("text", "--text-file is a folder", base + ["--text-file", self.inputs] + out, names=self.inputs)
        self.run("text", "eval --mask-span on a model that predicts the next byte",
                 ["eval", "--checkpoint", TINY_TEXT, "--mask-span", "1", "--limit", "2000"], names=TINY_TEXT, rule="masked LM")
        self.run("text", "eval --mask-span 8 (the training span, given) on a model that predicts the next byte",
                 ["eval", "--checkpoint", TINY_TEXT, "--mask-span", "8", "--limit", "2000"], names=TINY_TEXT, rule="masked LM")
        masked = os.path.join(ROOT, "assets", "models", "masked_fma.safetensors")
        p = self.write("eval_masked.txt", b"a line of held-out text\n" * 100)
        self.run("text", "eval --mask-span longer than the window", ["eval", "--checkpoint", masked, "--data", p, "--mask-span", "5000"],
                 rule="outside 1..")
        self.run("text", "--mask that cannot be read", base + ["--text", "hello", "--mask", "3-2"] + out, rule="START:LEN")
        self.run("text", "--mask on a model that predicts the next byte", base + ["--text", "hello", "--mask", "0:2"] + out,
                 rule="masked LM")

    # -------------------------------------------------------------- outputs
    def output_cases(self):
        run = ["inspect", "--checkpoint", TINY_TEXT, "--text", "hello world"]
        blocker = os.path.join(self.scratch, "a_file")
        with open(blocker, "w") as f:
            f.write("not a folder\n")
        self.run("output", "--out under a regular file", run + ["--out", blocker + "/sub"], names=blocker)
        self.run("output", "--out is a regular file", run + ["--out", blocker], names=blocker)
        self.run("output", "--out in a folder that cannot be created (/proc)", run + ["--out", "/proc/fmalens_out"],
                 names="/proc/fmalens_out")
        self.run("output", "ulimit -f 8 KB (a full disk) on a new folder", run + ["--out", "out_full"], fsize=8192,
                 names="out_full")
        existing = os.path.join(self.scratch, "existing")
        os.makedirs(existing)
        with open(os.path.join(existing, "manifest.json"), "w") as f:
            f.write('{"old": true}\n')
        with open(os.path.join(existing, "logits.npy"), "w") as f:
            f.write("old logits\n")
        self.run("output", "ulimit -f 8 KB over an existing output folder (old files kept intact)",
                 run + ["--out", existing], fsize=8192, names="existing")
        ckpt = os.path.join(self.scratch, "model.safetensors")
        shutil.copy(TINY_TEXT, ckpt)
        text = self.write("train.txt", b"the quick brown fox jumps over the lazy dog\n" * 300)
        self.run("output", "train with ulimit -f 4 KB over an existing checkpoint (left intact)",
                 ["train", "--kind", "text", "--out", ckpt, "--layers", "1", "--heads", "2", "--embd", "8",
                  "--block-size", "64", "--m", "8", "--p", "2", "--steps", "1", "--batch-size", "2", "--data", text,
                  "--threads", "1", "--quiet", "--seq-schedule", "64:2@0", "--eval-interval", "1", "--eval-batches", "1"],
                 fsize=4096, names=ckpt, timeout=120)
        os.unlink(ckpt)
        os.unlink(blocker)
        shutil.rmtree(existing)

    # -------------------------------------------------------------- figure export
    def export_cases(self):
        text = ["export", "--checkpoint", TINY_TEXT, "--text", "hello world", "--view", "matrix"]
        p = self.path(self.ckpt_name("truncated in the data"))
        self.run("export", "a truncated checkpoint",
                 ["export", "--checkpoint", p, "--text", "hello", "--view", "matrix", "--out", "fig.png"], names=p)
        bad = os.path.join(COMMITTED, "img_bad_bit_depth.png")
        self.run("export", "a broken image", ["export", "--checkpoint", TINY_IMAGE, "--image", bad, "--view", "regions",
                                               "--out", "fig.png"], names=bad)
        self.run("export", "an unknown view", text[:-1] + ["sideways", "--out", "fig.png"], names="sideways", rule="view")
        self.run("export", "a view the model does not have (regions of a text model)",
                 text[:-1] + ["regions", "--out", "fig.png"], rule="image")
        self.run("export", "a layer the model does not have", text + ["--layer", "99", "--out", "fig.png"], rule="layer")
        self.run("export", "an unknown format", text + ["--format", "bmp", "--out", "fig.bmp"], names="bmp")
        self.run("export", "a size beyond the limit", text + ["--width", "100000", "--out", "fig.png"], names="100000")
        self.run("export", "--out in a missing folder", text + ["--out", "no_such_folder/fig.png"], names="no_such_folder")
        self.run("export", "--out in /proc", text + ["--out", "/proc/fmalens_fig.png"], names="/proc/fmalens_fig.png")
        old = os.path.join(self.scratch, "old_fig.png")
        with open(old, "wb") as f:
            f.write(b"an older figure\n")
        self.run("export", "ulimit -f 4 KB over an existing figure (left intact)", text + ["--out", old],
                 fsize=4096, names="old_fig.png")
        self.run("export", "several views into a file that exists (needs a folder)",
                 text[:-1] + ["all", "--out", old], names="old_fig.png")
        os.unlink(old)
        self.run("export", "a valid PNG from the tiny model", text + ["--out", "fig_ok.png"], expect=0)

    # -------------------------------------------------------------- values quoted in one line
    def quoting_cases(self):
        """Outside values with control bytes (a config field, an option value, a file name) are
        echoed escaped: one line, no raw control bytes (found by fuzz_config)."""
        header, data = st_read(TINY_TEXT)
        h = json.loads(json.dumps(header))
        with open(os.path.join(ROOT, "tests", "fuzz", "corpus", "config", "regress_kind_control_bytes.json"), "rb") as f:
            h["__metadata__"]["fmalens_config"] = f.read().decode("utf-8")
        p = self.write("ckpt_config_kind_control_bytes.safetensors", st_bytes(h, data))
        self.run("quoting", "config kind with newlines and backspaces (the fuzz finding)", ["info", "--checkpoint", p],
                 names=p, rule="kind must be text or image", stderr_has="(118 bytes)")
        p = self.write("ckpt_config_attention_kind_control.safetensors",
                       st_bytes(with_config(header, attention_kind="de\x1b[2Jnse\n"), data))
        self.run("quoting", "config attention_kind with an escape sequence", ["info", "--checkpoint", p], names=p,
                 rule="attention_kind", stderr_has="'de\\x1b[2Jnse\\n'")
        self.run("quoting", "train --variant with a newline",
                 ["train", "--kind", "text", "--variant", "ca\nusal", "--out", "x.safetensors", "--steps", "1"],
                 rule="variant must be", stderr_has="'ca\\nusal'")
        self.run("quoting", "export --view with a newline and a tab",
                 ["export", "--checkpoint", TINY_TEXT, "--text", "hi", "--view", "mat\nri\tx", "--out", "fig.png"],
                 rule="unknown view", stderr_has="'mat\\nri\\tx'")
        self.run("quoting", "an option value CLI11 checks (--kind with a backspace)",
                 ["train", "--kind", "te\x08xt", "--out", "x.safetensors"], stderr_has="te\\x08xt")
        missing = os.path.join(self.inputs, "no\nsuch.safetensors")
        self.run("quoting", "a missing checkpoint whose name holds a newline", ["info", "--checkpoint", missing],
                 stderr_has="no\\nsuch.safetensors")
        bad = self.write("trun\rcated\x07.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
        self.run("quoting", "a corrupt checkpoint whose name holds CR and BEL", ["info", "--checkpoint", bad],
                 stderr_has="trun\\rcated\\x07.safetensors")
        img = self.write("im\nage.png", b"\x89PNG\r\n\x1a\nnot really")
        self.run("quoting", "a broken image whose name holds a newline",
                 ["inspect", "--checkpoint", TINY_IMAGE, "--image", img, "--out", "out"], stderr_has="im\\nage.png")

    # -------------------------------------------------------------- the window's command line
    def window_cases(self):
        """The window refuses bad input the way the subcommands do (exit 2, one line, before a
        window opens) and says so in one line with exit 1 when the machine has no display."""
        missing = self.path("no_such_model.safetensors")
        self.run("window", "a missing checkpoint", ["--checkpoint", missing, "--screenshot", "shot.png"], names=missing)
        bad = os.path.join(COMMITTED, "img_bad_bit_depth.png")
        self.run("window", "a broken image", ["--image", bad, "--screenshot", "shot.png"], names=bad)
        self.run("window", "an unknown view", ["--view", "sideways", "--screenshot", "shot.png"], names="sideways")
        self.run("window", "a bad --size", ["--size", "10x10", "--screenshot", "shot.png"], rule="--size")
        self.run("window", "an unknown option", ["--colour", "red"], rule="--help")
        self.run("window", "an empty --text", ["--text", "", "--screenshot", "shot.png"], rule="empty")
        self.run("window", "a missing --screenshot folder", ["--screenshot", "no_folder/shot.png"], names="no_folder")
        self.run("window", "no display (the machine, not the input)", [], expect=1, rule="no display",
                 env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
        self.run("window", "the data folder given holds no models", ["--assets", self.inputs, "--screenshot", "shot.png"],
                 names=self.inputs, rule="not installed")

    def main(self):
        self.quoting_cases()
        self.checkpoint_cases()
        self.image_cases()
        self.text_cases()
        self.tokenizer_cases()
        self.image_folder_cases()
        self.output_cases()
        self.export_cases()
        self.window_cases()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fmalens")
    ap.add_argument("-k", dest="only", default="")
    ap.add_argument("-v", dest="verbose", action="store_true")
    ap.add_argument("--report", help="write a table of every case and its result (markdown)")
    a = ap.parse_args()
    s = Suite(a.fmalens, a.verbose, a.only)
    t0 = time.monotonic()
    try:
        s.main()
    finally:
        s.close()
    if a.report:
        with open(a.report, "w") as f:
            f.write("| kind | input | exit | stderr |\n|---|---|---|---|\n")
            for kind, name, rc, summary in s.report:
                f.write(f"| {kind} | {name} | {rc} | {summary.replace('|', '/')} |\n")
    print(f"bad inputs: {s.ran - len(s.failures)}/{s.ran} cases passed in {time.monotonic() - t0:.0f} s")
    return 1 if s.failures or s.ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
