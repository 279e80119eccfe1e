#!/usr/bin/env python3
"""OpenBLAS's kernels and threads: `fmalens --version` names the OpenBLAS core in use and its
threads. On a CPU with AVX2 and FMA the program never runs on a pre-AVX2 core (OpenBLAS 0.3.21
falls back to "Prescott" on CPUs newer than it knows; the program then starts again with
OPENBLAS_CORETYPE set); where OpenBLAS runs its own pthreads beside LibTorch's OpenMP team, idle
threads of both sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE, OPENBLAS_THREAD_TIMEOUT=4);
a user's own settings win. Where LibTorch's BLAS is not OpenBLAS there is nothing to check (exit 77).
Usage: check_blas_kernels.py FMALENS"""
import os
import re
import subprocess
import sys

PRE_AVX2 = {"prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom", "katmai", "coppermine",
            "northwood", "banias", "barcelona", "opteron", "bobcat"}


def version(fmalens, env):
    r = subprocess.run([fmalens, "--version"], capture_output=True, text=True, timeout=120, env=env)
    if r.returncode != 0:
        raise SystemExit(f"--version: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout.strip()


def main() -> int:
    fmalens = sys.argv[1]
    ours = ("OPENBLAS_CORETYPE", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    line = version(fmalens, env)
    m = re.search(r"OpenBLAS (\w+)", line)
    if not m:
        print(f"check_blas_kernels: SKIPPED: the BLAS is not OpenBLAS ({line})")
        return 77
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for row in f:
                if row.startswith("flags"):
                    flags = set(row.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    failures = []
    if {"avx2", "fma"} <= flags and m.group(1).lower() in PRE_AVX2:
        failures.append(f"an AVX2 CPU runs OpenBLAS's {m.group(1)} kernels: {line}")
    forced = version(fmalens, dict(env, OPENBLAS_CORETYPE="Prescott"))
    if "OpenBLAS Prescott" not in forced:
        failures.append(f"OPENBLAS_CORETYPE=Prescott was not kept: {forced}")
    threads = re.search(r"(\d+) pthreads", line)
    if threads and int(threads.group(1)) > 1:
        for setting in ("OMP_WAIT_POLICY=PASSIVE", "OPENBLAS_THREAD_TIMEOUT=4"):
            if setting not in line:
                failures.append(f"OpenBLAS's {threads.group(1)} pthreads beside OpenMP without {setting}: {line}")
        mine = version(fmalens, dict(env, OMP_WAIT_POLICY="ACTIVE"))
        if "OMP_WAIT_POLICY=ACTIVE" not in mine or "OPENBLAS_THREAD_TIMEOUT=4" not in mine:
            failures.append(f"OMP_WAIT_POLICY=ACTIVE was not kept (or the timeout not set): {mine}")
    if failures:
        print("\n".join(failures))
        return 1
    print(f"blas kernels: {line}; a user's settings kept: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
