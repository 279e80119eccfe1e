#!/usr/bin/env python3
"""The README's benchmark tables from the JSON the benchmarks write: `fmalens bench --attention
--json A.json` (forward and forward+backward, ms and peak MB by n) and `fmalens bench
--train-step --json T.json` (a whole model's training step), and with a third file the main
table from `make bench`'s JSON (FMA, dense and the peer by variant, pass and n). Markdown on stdout.
Usage: tools/bench_tables.py A.json T.json [bench.json]"""
import json
import sys
if len(sys.argv) not in (3, 4):
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

if len(sys.argv) == 4:
    main = json.load(open(sys.argv[3]))
    def ms(v):
        return f"{v:,.0f}" if v >= 1000 else f"{v:.1f}"
    def find(variant, impl, pas, n):
        r = [x for x in main if x["variant"] == variant and x["impl"] == impl and x["pass"] == pas and x["n"] == n and x["ms"] > 0]
        return r[0] if r else None
    print()
    print("| variant | pass | n | FMA Lens ms | peak MB | GFLOP/s | dense ms | dense peak MB | peer ms | peer peak MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for variant in ("causal", "bidirectional", "linear"):
        for pas in ("forward", "forward_backward"):
            for n in sorted({x["n"] for x in main if x["variant"] == variant and x["impl"] == "fma"}):
                f = find(variant, "fma", pas, n)
                if f is None:
                    continue
                # the linear variant's dense baseline is bidirectional softmax attention
                d = find("bidirectional" if variant == "linear" else variant, "dense", pas, n)
                peer = find(variant, "peer", pas, n)
                bold = variant == "causal" and pas == "forward" and n == 16384
                b = (lambda t: f"**{t}**") if bold else (lambda t: t)
                cells = [variant, pas.replace("_", "+"), str(n), b(ms(f["ms"])), b(f"{f['peak_mb']:,.0f}"), f"{f['gflops']:.1f}",
                         ms(d["ms"]) if d else "does not fit", f"{d['peak_mb']:,.0f}" if d else "",
                         ms(peer["ms"]) if peer else "", f"{peer['peak_mb']:,.0f}" if peer else ""]
                print("| " + " | ".join(cells) + " |")
