#!/usr/bin/env python3
"""`fmalens eval --json`: stdout is one JSON object; the progress bar goes to stderr when stderr is a
terminal (a person watching a minutes-long eval) and nowhere when it is a file or pipe (a log or a
script), and without --json the bar is there as before.
Usage: check_eval_progress.py FMALENS TINY_TEXT_CHECKPOINT"""
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def run_with_terminal_stderr(cmd):
    """(exit code, stdout, what reached the terminal) of cmd with stderr on a pseudo-terminal.
    The terminal is read while the command runs: a full pty buffer would block the writer."""
    master, slave = os.openpty()
    seen = bytearray()

    def drain():
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO once the last writer has closed the slave side
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=300)
    finally:
        os.close(slave)
        reader.join(timeout=30)
        os.close(master)
    return proc.returncode, proc.stdout, seen.decode(errors="replace")


def main() -> int:
    fmalens, checkpoint = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp, "text.txt")
        random.seed(3)
        text.write_text("".join(random.choice("abc de\n") for _ in range(20000)))
        cmd = [fmalens, "eval", "--checkpoint", checkpoint, "--data", str(text), "--device", "cpu"]

        rc, out, terminal = run_with_terminal_stderr(cmd + ["--json"])
        try:
            result = json.loads(out)
            if not 0 < result["bits_per_byte"] < 16:
                failures.append(f"--json on a terminal: bits_per_byte {result['bits_per_byte']}")
        except (ValueError, KeyError) as e:
            failures.append(f"--json on a terminal: stdout is not one JSON object with bits_per_byte ({e}): {out[:200]!r}")
        if rc != 0 or "100%" not in terminal:
            failures.append(f"--json with stderr on a terminal: exit {rc}, no finished progress bar there: {terminal[-200:]!r}")

        piped = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
        if piped.returncode != 0 or "%" in piped.stderr or json.loads(piped.stdout).get("bits_per_byte") is None:
            failures.append(f"--json with stderr to a pipe: exit {piped.returncode}, stderr {piped.stderr[-200:]!r}")

        plain = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if plain.returncode != 0 or "100%" not in plain.stderr:
            failures.append(f"without --json: exit {plain.returncode}, no progress bar on stderr: {plain.stderr[-200:]!r}")

    for f in failures:
        print("FAIL:", f)
    print("eval progress checks:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
