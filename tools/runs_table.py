#!/usr/bin/env python3
"""A markdown table comparing trained models (seeds of one recipe, or twins): per checkpoint the
held-out figure from its `fmalens eval --json` file, its parameter count, steps, wall time, and
its validation loss (nats) at the given steps, read from the loss curve that `fmalens train`
keeps in the checkpoint's metadata. The last line gives the spread (max - min) of the figure.
With --json OUT, also writes each run's figure, options and loss curve (step, train, val, length)
to OUT, so that the table outlives the checkpoints.
Usage: tools/runs_table.py [--at 500,1000,...] [--json OUT] NAME=CKPT.safetensors[:EVAL.json] ...
(EVAL defaults to CKPT with .eval.json for .safetensors)."""
import json
import os
import struct
import sys


def read_header(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size))


def main(argv):
    at = []
    if len(argv) >= 2 and argv[0] == "--at":
        at = [int(s) for s in argv[1].split(",") if s]
        argv = argv[2:]
    json_out = None
    if len(argv) >= 2 and argv[0] == "--json":
        json_out = argv[1]
        argv = argv[2:]
    if not argv:
        sys.exit(__doc__)
    rows = []
    runs = []
    for spec in argv:
        if "=" not in spec:
            sys.exit(f"{spec}: expected NAME=CHECKPOINT[:EVAL.json]")
        name, rest = spec.split("=", 1)
        ckpt, _, ev = rest.partition(":")
        ev = ev or ckpt.rsplit(".safetensors", 1)[0] + ".eval.json"
        header = read_header(ckpt)
        meta = header.get("__metadata__", {})
        training = json.loads(meta.get("training", "{}"))
        params = sum(
            element_count(v["shape"]) for k, v in header.items() if k != "__metadata__"
        )
        evaluation = json.load(open(ev))
        figure = evaluation.get("bits_per_byte", evaluation.get("accuracy"))
        if figure is None:
            sys.exit(f"{ev}: no bits_per_byte or accuracy")
        curve = {e["step"]: e["val"] for e in training.get("loss_curve", []) if "val" in e}
        vals = [f"{curve[s]:.3f}" if s in curve else "-" for s in at]
        wall = training.get("wall_s", 0.0)
        rows.append((name, figure, params, training.get("steps_done", 0), wall, vals))
        runs.append({"name": name, "checkpoint": ckpt, "evaluation": evaluation, "parameters": params,
                     "steps": training.get("steps_done", 0), "wall_s": wall, "options": training.get("options", {}),
                     "loss_curve": [[e.get("step"), e.get("train"), e.get("val"), e.get("seq_len")]
                                    for e in training.get("loss_curve", [])]})
    label = "bits/byte" if "bits_per_byte" in evaluation else "accuracy"
    head = f"| run | held-out {label} | parameters | steps | wall time |"
    if at:
        head += " validation (nats) at steps " + " / ".join(f"{s:,}" for s in at) + " |"
    print(head)
    print("|---|---:|---:|---:|---:|" + ("---|" if at else ""))
    for name, figure, params, steps, wall, vals in rows:
        line = f"| {name} | {figure:.3f} | {params / 1e6:.2f} M | {steps:,} | {int(wall // 60)} min |"
        if at:
            line += " " + " / ".join(vals) + " |"
        print(line)
    figures = [r[1] for r in rows]
    print(f"\nspread (max - min) of the held-out figure: {max(figures) - min(figures):.3f}")
    if json_out:
        with open(json_out + ".part", "w") as f:
            json.dump({"runs": runs, "spread": max(figures) - min(figures),
                       "loss_curve_columns": ["step", "train", "val", "seq_len"]}, f)
        os.replace(json_out + ".part", json_out)


def element_count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


if __name__ == "__main__":
    main(sys.argv[1:])
