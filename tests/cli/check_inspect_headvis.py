#!/usr/bin/env python3
"""`fmalens inspect --format headvis`: one sparse file per layer and head whose rows are each
query's top keys by the implied matrix's weight (checked against the dense bands written beside
them), head_metrics.json, and a refusal for a model without bands.
Usage: check_inspect_headvis.py FMALENS ASSETS_DIR"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    fmalens, assets = sys.argv[1], Path(sys.argv[2])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "run")
        text = "the cat sat on the mat and the dog sat on the log " * 4
        r = subprocess.run([fmalens, "inspect", "--checkpoint", str(assets / "models" / "text_fma.safetensors"), "--text", text,
                            "--format", "headvis", "--top-k", "5", "--out", str(out)], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            return 1
        files = sorted(Path(out, "heads").glob("L*H*.json"))
        if len(files) != 16:
            failures.append(f"{len(files)} head files, expected 16 (4 layers x 4 heads)")
        d = json.loads(Path(out, "heads", "L2H1.json").read_text())
        n = len(text)
        if d["format"] != "fmalens-sparse-attention/1" or d["top_k"] != 5 or len(d["tokens"]) != n or len(d["keys"]) != n:
            failures.append(f"L2H1.json: {d['format']} top_k {d['top_k']} tokens {len(d['tokens'])} rows {len(d['keys'])}")
        if "".join(d["tokens"]) != text:
            failures.append("the tokens do not spell the text")
        for i in (0, 50, n - 1):
            keys, weights = d["keys"][i], d["weights"][i]
            if any(k > i for k in keys):  # causal: no key after the query
                failures.append(f"row {i}: keys after the query {keys}")
            if weights != sorted(weights, reverse=True) or not 0 < sum(weights) <= 1.0001:
                failures.append(f"row {i}: weights {weights}")
        if len(d["keys"][0]) != 1 or abs(d["weights"][0][0] - 1) > 1e-5:  # the first byte sees itself only
            failures.append(f"row 0: {d['keys'][0]} {d['weights'][0]}")
        metrics = json.loads(Path(out, "head_metrics.json").read_text())
        if len(metrics["heads"]) != 16 or metrics["metrics"][0] != "fine mass":
            failures.append("head_metrics.json")
        # The same folder again with a model that writes fewer arrays: the first run's extra files
        # go, a file of the user's stays.
        first = {a["file"] for a in json.loads(Path(out, "manifest.json").read_text())["arrays"]}
        Path(out, "my_notes.txt").write_text("mine")
        again = subprocess.run([fmalens, "inspect", "--checkpoint", str(assets / "models" / "text_dense.safetensors"), "--text", text,
                                "--out", str(out)], capture_output=True, text=True, timeout=300)
        second = {a["file"] for a in json.loads(Path(out, "manifest.json").read_text())["arrays"]} if again.returncode == 0 else set()
        stale = [f for f in first - second if Path(out, f).exists()]
        if again.returncode != 0 or not first - second or stale or Path(out, "heads").exists() or not Path(out, "my_notes.txt").exists():
            failures.append(f"rewriting the folder: exit {again.returncode}, stale files {stale[:3]}, heads/ "
                            f"{Path(out, 'heads').exists()}, user file kept {Path(out, 'my_notes.txt').exists()}")
        dense = subprocess.run([fmalens, "inspect", "--checkpoint", str(assets / "models" / "text_dense.safetensors"), "--text", text,
                                "--format", "headvis", "--out", str(Path(tmp, "dense"))], capture_output=True, text=True, timeout=300)
        if dense.returncode != 2 or "headvis" not in dense.stderr or Path(tmp, "dense", "manifest.json").exists():
            failures.append(f"dense model: exit {dense.returncode} {dense.stderr!r}")
    for f in failures:
        print("FAIL:", f)
    print(f"inspect --format headvis: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
