#!/usr/bin/env python3
"""`fmalens export --workspace`: the figure a workspace names is the same PNG as the one the same
options give on the command line; options given win over the workspace's; relative paths are
read against the workspace's folder; bad workspaces are refused with exit 2 and one line naming
the file and the field, writing nothing. Usage: check_workspace.py FMALENS ASSETS_DIR"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    fmalens, assets = sys.argv[1], Path(sys.argv[2])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "models").mkdir()
        model = tmp / "models" / "m.safetensors"
        model.write_bytes((assets / "models" / "text_fma.safetensors").read_bytes())
        text = tmp / "input.txt"
        text.write_text("The nearer the words, the sharper the view: a reader keeps the last few letters in sight.\n" * 3)
        ws = {"fmalens_workspace": 1, "checkpoint": "models/m.safetensors", "input": {"text_file": "input.txt"},
              "selection": {"layer": 2, "head": 3, "query": 100}, "colours": {"colormap": "magma", "decades": 3},
              "matrix": {"fit": True}}
        (tmp / "w.workspace.json").write_text(json.dumps(ws))

        def export(args, out):
            return subprocess.run([fmalens, "export", "--view", "matrix", "--out", str(tmp / out), "--quiet"] + args,
                                  capture_output=True, text=True, timeout=300)

        a = export(["--workspace", str(tmp / "w.workspace.json")], "a.png")
        b = export(["--checkpoint", str(model), "--text-file", str(text), "--layer", "2", "--head", "3", "--query", "100",
                    "--colormap", "magma", "--decades", "3"], "b.png")
        if a.returncode != 0 or b.returncode != 0:
            failures.append(f"exports failed: {a.stderr} {b.stderr}")
        elif (tmp / "a.png").read_bytes() != (tmp / "b.png").read_bytes():
            failures.append("the workspace's figure differs from the same options on the command line")
        c = export(["--workspace", str(tmp / "w.workspace.json"), "--layer", "0"], "c.png")
        if c.returncode != 0 or (tmp / "c.png").read_bytes() == (tmp / "a.png").read_bytes():
            failures.append("--layer given did not win over the workspace's layer")
        for name, content, field in (("not_json", "{nope", "not an FMA Lens workspace"),
                                     ("wrong_type", json.dumps({"fmalens_workspace": 1, "selection": {"layer": "x"}}), "selection.layer"),
                                     ("colormap", json.dumps({"fmalens_workspace": 1, "colours": {"colormap": "rainbow"}}), "colours."),
                                     ("missing_model", json.dumps({"fmalens_workspace": 1, "checkpoint": "nowhere.safetensors"}), "nowhere")):
            path = tmp / f"{name}.workspace.json"
            path.write_text(content)
            r = export(["--workspace", str(path)], f"{name}.png")
            lines = r.stderr.strip().splitlines()
            if r.returncode != 2 or len(lines) != 1 or field not in lines[0] or (tmp / f"{name}.png").exists():
                failures.append(f"{name}: exit {r.returncode}, stderr {r.stderr!r}")
    for f in failures:
        print("FAIL:", f)
    print(f"workspace: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
