#!/usr/bin/env python3
"""`fmalens sweep` on a tiny grid: every cell trained for the same steps and evaluated, results in
sweep.json and heat maps; a second run trains nothing (cells done are kept); a lost row is
retrained; --jobs 2 (a process per cell) gives exactly the serial sweep's numbers; bad grids and
--time-limit are refused with exit 2 and one line.
Usage: check_sweep.py FMALENS"""
import json
import random
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path


def main() -> int:
    fmalens = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp, "text.txt")
        random.seed(1)
        words = "the cat sat on a mat and the dog ran to the log while a bird sang".split()
        text.write_text(" ".join(random.choice(words) for _ in range(20000)))
        sweep_dir = Path(tmp, "sweep")
        base = [fmalens, "sweep", "--dir", str(sweep_dir), "--grid", "m=8,16", "--grid", "seed=1,2", "--layers", "1", "--heads", "2",
                "--embd", "16", "--block-size", "128", "--steps", "6", "--batch-size", "4", "--eval-interval", "100", "--data", str(text),
                "--threads", "1", "--quiet", "--eval-limit", "2000"]

        def run(args):
            return subprocess.run(args, capture_output=True, text=True, timeout=600)

        first = run(base)
        if first.returncode != 0:
            print(first.stdout, first.stderr)
            return 1
        results = json.loads(Path(sweep_dir, "sweep.json").read_text())
        cells = {c["cell"]: c for c in results["cells"]}
        want = {"m8_seed1", "m8_seed2", "m16_seed1", "m16_seed2"}
        if set(cells) != want:
            failures.append(f"cells {sorted(cells)}, expected {sorted(want)}")
        for name, c in cells.items():
            for key in ("bits_per_byte", "parameters", "attention_bytes_per_layer", "step_s"):
                if not isinstance(c.get(key), (int, float)) or c[key] <= 0:
                    failures.append(f"{name}: {key} = {c.get(key)}")
            if c.get("steps") != 6 or not Path(c["checkpoint"]).is_file():
                failures.append(f"{name}: steps {c.get('steps')} or no checkpoint")
        # m 8 stores more slots per query than m 16 at n 128? (fine 2m + coarse 2p per level): both above zero and different.
        if cells.get("m8_seed1", {}).get("attention_bytes_per_layer") == cells.get("m16_seed1", {}).get("attention_bytes_per_layer"):
            failures.append("attention bytes do not depend on m")
        for metric in ("bits_per_byte", "parameters", "attention_bytes_per_layer", "step_s"):
            svg = Path(sweep_dir, f"sweep_{metric}.svg")
            if not svg.is_file():
                failures.append(f"no {svg.name}")
                continue
            rects = [e for e in ET.parse(svg).getroot().iter() if e.tag.endswith("rect")]
            if len(rects) != 1 + 4:  # the background and one cell per m and seed (the first two axes)
                failures.append(f"{svg.name}: {len(rects)} rects")
            if metric == "bits_per_byte":  # each cell's value as the README's tables give it, 3 decimals
                texts = {e.text for e in ET.parse(svg).getroot().iter() if e.tag.endswith("text")}
                for name, c in cells.items():
                    if f"{c['bits_per_byte']:.3f}" not in texts:
                        failures.append(f"{svg.name}: no cell reads {c['bits_per_byte']:.3f} ({name})")
        # Again: nothing is trained; a lost row is trained again.
        second = run(base)
        if second.returncode != 0 or second.stdout.count("done before") != 4:
            failures.append("a second run retrained cells:\n" + second.stdout)
        results["cells"] = [c for c in results["cells"] if c["cell"] != "m16_seed2"]
        Path(sweep_dir, "sweep.json").write_text(json.dumps(results))
        third = run(base)
        if third.returncode != 0 or third.stdout.count("done before") != 3 or "m16_seed2: training" not in third.stdout:
            failures.append("the lost cell was not retrained alone:\n" + third.stdout)
        # --jobs 2: the same grid, each cell in its own process, the same numbers as the serial run
        # (same seeds, one thread each); every cell's output in its log.
        parallel_dir = Path(tmp, "parallel")
        parallel = run([a if a != str(sweep_dir) else str(parallel_dir) for a in base] + ["--jobs", "2"])
        if parallel.returncode != 0:
            failures.append(f"--jobs 2: exit {parallel.returncode}: {parallel.stdout} {parallel.stderr}")
        else:
            serial_cells = {c["cell"]: c for c in json.loads(Path(sweep_dir, "sweep.json").read_text())["cells"]}
            parallel_cells = {c["cell"]: c for c in json.loads(Path(parallel_dir, "sweep.json").read_text())["cells"]}
            if set(parallel_cells) != want:
                failures.append(f"--jobs 2: cells {sorted(parallel_cells)}")
            for name in want & set(parallel_cells):
                for key in ("bits_per_byte", "val_loss", "parameters"):
                    if parallel_cells[name].get(key) != serial_cells[name].get(key):
                        failures.append(f"--jobs 2: {name} {key} {parallel_cells[name].get(key)} != serial {serial_cells[name].get(key)}")
                log = Path(parallel_dir, "cells", name + ".log")
                if not log.is_file() or "trained 6 steps" not in log.read_text():
                    failures.append(f"--jobs 2: {name}'s log missing or without its summary")
                if Path(parallel_dir, "cells", name + ".row.json").exists():
                    failures.append(f"--jobs 2: {name}'s row file left behind")
            if not Path(parallel_dir, "sweep_bits_per_byte.svg").is_file():
                failures.append("--jobs 2: no heat map")
            again = run([a if a != str(sweep_dir) else str(parallel_dir) for a in base] + ["--jobs", "2"])
            if again.returncode != 0 or again.stdout.count("done before") != 4:
                failures.append("--jobs 2 again retrained cells:\n" + again.stdout)
        # A cell that fails (its data gone) stops the sweep with its error in one line, exit 2 (bad
        # input, as the serial sweep says it).
        broken_data = Path(tmp, "gone.txt")
        broken_data.write_text(text.read_text())
        broken = [a if a != str(sweep_dir) else str(Path(tmp, "broken")) for a in base]
        broken[broken.index(str(text))] = str(broken_data)
        broken_data.unlink()
        failed = run(broken + ["--jobs", "2"])
        lines = failed.stderr.strip().splitlines()
        if failed.returncode != 2 or len(lines) != 1 or "gone.txt" not in lines[0] or "error: error" in lines[0]:
            failures.append(f"--jobs 2 with missing data: exit {failed.returncode}, stderr {failed.stderr!r}")

        # Refusals: one line, exit 2, nothing written.
        for extra, rule in ((["--grid", "q=1,2"], "cannot vary"), (["--grid", "p=2,x"], "whole number"),
                            (["--time-limit", "60"], "time-limit"), (["--grid", "m=8,8"], "twice"), (["--jobs", "0"], "jobs")):
            bad = run([a if a != str(sweep_dir) else str(Path(tmp, "bad")) for a in base] + extra)
            lines = bad.stderr.strip().splitlines()
            if bad.returncode != 2 or len(lines) != 1 or rule not in lines[0] or Path(tmp, "bad", "sweep.json").exists():
                failures.append(f"{extra}: exit {bad.returncode}, stderr {bad.stderr!r}")
    for f in failures:
        print("FAIL:", f)
    print(f"sweep: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
