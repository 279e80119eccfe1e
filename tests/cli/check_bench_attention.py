#!/usr/bin/env python3
"""`fmalens bench --attention` at one small n: every attention row in both passes, measured
(time and peak memory above zero), in the JSON and in the SVG plot, with the ratios to dense
in the printed table. Usage: check_bench_attention.py FMALENS"""
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROWS = [("causal", "dense", None), ("causal", "local", None), ("causal", "elu_linear", None),
        ("causal", "fma", "avgpool"), ("causal", "fma", "groupedconv"), ("causal", "fma", "nested"), ("bidirectional", "dense", None),
        ("bidirectional", "fma", "groupedconv"), ("linear", "fma", "groupedconv")]


def main() -> int:
    fmalens = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        out_json, out_svg = Path(tmp, "att.json"), Path(tmp, "att.svg")
        run = subprocess.run([fmalens, "bench", "--attention", "--n", "256", "--repeats", "1", "--json", str(out_json),
                              "--plot", str(out_svg)], capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            print(run.stdout, run.stderr)
            return 1
        records = json.loads(out_json.read_text())
        failures = []
        for variant, impl, ds in ROWS:
            for pass_ in ("forward", "forward_backward"):
                found = [r for r in records if r["variant"] == variant and r["impl"] == impl and r["pass"] == pass_
                         and (ds is None or r["downsampling"] == ds)]
                if len(found) != 1 or found[0]["ms"] <= 0 or found[0]["peak_mb"] <= 0 or found[0]["m"] != 32 or found[0]["p"] != 4:
                    failures.append(f"{variant} {impl} {ds} {pass_}: {found}")
        root = ET.parse(out_svg).getroot()
        circles = [e for e in root.iter() if e.tag.endswith("circle")]
        if len(circles) != 4 * len(ROWS):  # every row in each of the four panels
            failures.append(f"{len(circles)} points in the plot, expected {4 * len(ROWS)}")
        if run.stdout.count("x ") < 2 * 6 or "forward_backward:" not in run.stdout:
            failures.append("the table lacks the ratios to dense:\n" + run.stdout)
        # --train-step: a whole model's step, dense and both FMA summaries, each measured.
        steps_json = Path(tmp, "steps.json")
        steps = subprocess.run([fmalens, "bench", "--train-step", "--n", "256", "--repeats", "1", "--json", str(steps_json)],
                               capture_output=True, text=True, timeout=600)
        if steps.returncode != 0:
            failures.append("bench --train-step failed:\n" + steps.stdout + steps.stderr)
        else:
            step_records = json.loads(steps_json.read_text())
            kinds = sorted((r["impl"], r["downsampling"]) for r in step_records if r["variant"] == "train_step" and r["ms"] > 0
                           and r["peak_mb"] > 0)
            if kinds != [("dense", "groupedconv"), ("fma", "groupedconv"), ("fma", "nested")]:
                failures.append(f"bench --train-step records: {step_records}")
            if "less memory" not in steps.stdout:
                failures.append("bench --train-step prints no ratio to dense:\n" + steps.stdout)
        for f in failures:
            print("FAIL:", f)
        print(f"bench --attention: {len(records)} records, {len(failures)} failures")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
