#!/usr/bin/env python3
"""`fmalens train` in sittings: Ctrl-C (SIGINT) ends a training after its current step with exit
130, the checkpoint and its resume state written and loadable; `--resume --sitting-limit S`
continues it and stops after S seconds with exit 0; a last `--resume` ends at the schedule's total
of steps; a sweep stopped by its sitting limit says how to continue; a sweep with --jobs 2 stops
its cells' processes at its sitting limit and at Ctrl-C, each cell's state saved.
Usage: check_train_sittings.py FMALENS"""
import json
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def training_history(path: Path) -> dict:
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    return json.loads(header["__metadata__"]["training"])


def running(pid: int) -> bool:
    """Whether the process lives (a zombie no reaper has collected yet has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main() -> int:
    fmalens = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp, "text.txt")
        random.seed(2)
        words = "the cat sat on a mat and the dog ran to the log while a bird sang".split()
        text.write_text(" ".join(random.choice(words) for _ in range(20000)))
        out = Path(tmp, "m.safetensors")
        base = [fmalens, "train", "--kind", "text", "--layers", "1", "--heads", "2", "--embd", "16", "--block-size", "64",
                "--m", "8", "--p", "2", "--batch-size", "2", "--eval-interval", "100000", "--data", str(text), "--threads", "1",
                "--out", str(out)]
        endless = base + ["--steps", "100000"]

        # 1. Interrupted: the progress bar shows steps, then SIGINT.
        err_path = Path(tmp, "err.txt")
        with open(err_path, "w") as err:
            proc = subprocess.Popen(endless, stdout=subprocess.PIPE, stderr=err, text=True)
            deadline = time.time() + 120
            while time.time() < deadline and not re.search(r"step [1-9][0-9]*/", err_path.read_text()):
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            stdout, _ = proc.communicate(timeout=120)
        if proc.returncode != 130 or "interrupted (SIGINT)" not in stdout:
            failures.append(f"SIGINT: exit {proc.returncode}, stdout {stdout!r}, stderr {err_path.read_text()[-300:]!r}")
        if not out.is_file() or not Path(str(out) + ".state").is_file():
            failures.append("SIGINT: no checkpoint or no resume state")
            print("\n".join(failures))
            return 1
        first = training_history(out)
        done1 = first.get("steps_done", 0)
        if not 1 <= done1 < 100000 or "final_val_loss" in first:
            failures.append(f"SIGINT: steps_done {done1}, final_val_loss present: {'final_val_loss' in first}")
        info = subprocess.run([fmalens, "info", "--checkpoint", str(out)], capture_output=True, text=True, timeout=120)
        if info.returncode != 0:
            failures.append(f"the interrupted checkpoint does not load: {info.stderr.strip()}")

        # 2. A sitting of one second continues it and stops with exit 0.
        limited = subprocess.run(endless + ["--resume", "--sitting-limit", "1", "--quiet"], capture_output=True, text=True, timeout=300)
        done2 = training_history(out).get("steps_done", 0)
        if limited.returncode != 0 or "stopped at the sitting limit" not in limited.stdout or not done1 < done2 < 100000:
            failures.append(f"--sitting-limit: exit {limited.returncode}, steps {done1} -> {done2}, stdout {limited.stdout!r}")

        # 3. The last sitting ends a schedule of done2 + 5 steps (the total, not 5 more).
        last = subprocess.run(base + ["--resume", "--quiet", "--steps", str(done2 + 5)], capture_output=True, text=True, timeout=600)
        final = training_history(out)
        if last.returncode != 0 or final.get("steps_done") != done2 + 5 or "final_val_loss" not in final:
            failures.append(f"last sitting: exit {last.returncode}, steps_done {final.get('steps_done')}, {last.stdout!r}")

        # 4. A sweep's sitting limit stops inside a cell and a rerun continues it.
        sweep_dir = Path(tmp, "sweep")
        sweep = [fmalens, "sweep", "--dir", str(sweep_dir), "--grid", "m=8,16", "--layers", "1", "--heads", "2", "--embd", "16",
                 "--block-size", "64", "--steps", "100000", "--batch-size", "2", "--eval-interval", "100000", "--data", str(text),
                 "--threads", "1", "--quiet", "--eval-limit", "2000", "--sitting-limit", "1"]
        stopped = subprocess.run(sweep, capture_output=True, text=True, timeout=300)
        if stopped.returncode != 0 or "stopped in cell m8" not in stopped.stdout or Path(sweep_dir, "sweep.json").is_file() and \
                json.loads(Path(sweep_dir, "sweep.json").read_text()).get("cells"):
            failures.append(f"sweep --sitting-limit: exit {stopped.returncode}, stdout {stopped.stdout!r}")
        state = Path(sweep_dir, "cells", "m8.safetensors.state")
        if not state.is_file():
            failures.append("sweep --sitting-limit: the cell's state is not saved")

        # 4b. --jobs 2: both cells train at once in their own processes; the sitting limit (exit 0)
        # and SIGINT to the sweep alone (exit 130) stop both, each saving its state; nothing is recorded.
        for how in ("limit", "sigint", "killed"):
            jobs_dir = Path(tmp, "jobs_" + how)
            # (no --quiet: the cells' progress bars in their logs show that both train)
            cmd = [a if a != str(sweep_dir) else str(jobs_dir) for a in sweep if a != "--quiet"] + ["--jobs", "2"]
            if how in ("sigint", "killed"):
                cmd[cmd.index("--sitting-limit") + 1] = "0"
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                logs = [Path(jobs_dir, "cells", c + ".log") for c in ("m8", "m16")]
                deadline = time.time() + 120
                while time.time() < deadline and not all(p.is_file() and re.search(r"step [1-9]", p.read_text()) for p in logs):
                    time.sleep(0.2)
                if how == "sigint":
                    proc.send_signal(signal.SIGINT)
                    out, err = proc.communicate(timeout=120)
                    code, want_code = proc.returncode, 130
                else:
                    # The sweep killed outright: its cells notice (parent-death signal) and stop
                    # with their states saved instead of training on as orphans.
                    proc.kill()
                    out, err = proc.communicate(timeout=60)
                    pids = [int(p) for p in re.findall(r"in process (\d+)", out)]
                    deadline = time.time() + 60
                    while time.time() < deadline and any(running(p) for p in pids):
                        time.sleep(0.2)
                    if len(pids) != 2 or any(running(p) for p in pids):
                        failures.append(f"sweep --jobs 2 killed: cells {pids} still running or not started")
                    out = "stopped in cell " * 2  # the sweep could not say it
                    code, want_code = -9, -9
            else:
                cmd[cmd.index("--sitting-limit") + 1] = "3"
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                code, out, err, want_code = done.returncode, done.stdout, done.stderr, 0
            if code != want_code or out.count("stopped in cell") != 2:
                failures.append(f"sweep --jobs 2 ({how}): exit {code}, stdout {out!r}, stderr {err!r}")
            for c in ("m8", "m16"):
                if not Path(jobs_dir, "cells", c + ".safetensors.state").is_file():
                    failures.append(f"sweep --jobs 2 ({how}): cell {c}'s state is not saved")
            if Path(jobs_dir, "sweep.json").is_file() and json.loads(Path(jobs_dir, "sweep.json").read_text()).get("cells"):
                failures.append(f"sweep --jobs 2 ({how}): a stopped cell was recorded")

        # 5. Refused: a negative limit, with exit 2 (the command line's rule) and one line.
        bad = subprocess.run(endless + ["--sitting-limit", "-1"], capture_output=True, text=True, timeout=60)
        if bad.returncode == 0 or "sitting-limit" not in bad.stderr:
            failures.append(f"--sitting-limit -1: exit {bad.returncode}, stderr {bad.stderr!r}")

    if failures:
        print("\n".join(failures))
        return 1
    print("train sittings: SIGINT, --sitting-limit, --resume to the end, sweep sittings: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
