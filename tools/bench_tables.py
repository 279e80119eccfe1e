#!/usr/bin/env python3
"""The README's benchmark tables from the JSON the benchmarks write: `fmalens bench --attention
--json A.json` (forward and forward+backward, ms and peak MB by n) and `fmalens bench
--train-step --json T.json` (a whole model's training step). Markdown on stdout.
Usage: tools/bench_tables.py A.json T.json"""
import json
import sys
if len(sys.argv) != 3:
    sys.exit(__doc__)
att = json.load(open(sys.argv[1]))
ts = json.load(open(sys.argv[2]))
rows = [("causal dense", "causal", "dense", None), ("causal local", "causal", "local", None), ("causal elu_linear", "causal", "elu_linear", None),
        ("causal FMA, avgpool", "causal", "fma", "avgpool"), ("causal FMA, groupedconv", "causal", "fma", "groupedconv"),
        ("causal FMA, nested", "causal", "fma", "nested"), ("bidirectional dense", "bidirectional", "dense", None),
        ("bidirectional FMA", "bidirectional", "fma", "groupedconv"), ("bidirectional FMA, downsampled queries", "linear", "fma", "groupedconv")]
ns = [1024, 4096, 16384, 65536]
def fmt(ms):
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}"
for pas, title in (("forward", "forward, ms (peak MB)"), ("forward_backward", "forward + backward, ms (peak MB)")):
    print(f"| {title} | 1,024 | 4,096 | 16,384 | 65,536 |"); print("|---|---:|---:|---:|---:|")
    for label, var, impl, ds in rows:
        cells = []
        for n in ns:
            r = [x for x in att if x["variant"] == var and x["impl"] == impl and x["pass"] == pas and x["n"] == n and (ds is None or x["downsampling"] == ds)]
            r = [x for x in r if x["ms"] > 0]
            cells.append(f"{fmt(r[0]['ms'])} ({r[0]['peak_mb']:,.0f})" if r else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
print("| n | dense ms (peak MB) | FMA groupedconv ms (peak MB) | FMA nested ms (peak MB) | vs dense |")
print("|---|---|---|---|---|")
for n in (4096, 16384, 65536):
    get = lambda impl, ds: [x for x in ts if x["n"] == n and x["impl"] == impl and (ds is None or x["downsampling"] == ds) and x["ms"] > 0]
    d, g, ne = get("dense", None), get("fma", "groupedconv"), get("fma", "nested")
    cell = lambda r: f"{r[0]['ms']:,.0f} ({r[0]['peak_mb']:,.0f})" if r else "does not fit"
    vs = f"FMA {d[0]['ms']/g[0]['ms']:.1f}x / {d[0]['ms']/ne[0]['ms']:.1f}x faster, {d[0]['peak_mb']/ne[0]['peak_mb']:.0f}x less memory" if d and g and ne else ""
    print(f"| {n:,} | {cell(d)} | {cell(g)} | {cell(ne)} | {vs} |")
