#!/usr/bin/env python3
"""An SVG of bits/byte against the byte's offset in its file, one line per result: the JSON of
`fmalens eval --context N --json` (one model at one context) and of tools/xz_by_offset.py (xz
at each context it measured). The README's long-context plot; the same figures as a Markdown
table on stdout (overall and by offset, bits/byte). A model's line is named "CHECKPOINT at CONTEXT"
unless the argument is LABEL=RESULT.json (e.g. an earlier checkpoint of the same model).
Usage: tools/plot_offsets.py OUT.svg [LABEL=]RESULT.json [[LABEL=]RESULT.json ...]"""
import json
import sys
from html import escape
from pathlib import Path

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def series_of(argument: str):
    """(label, rows by offset, dashed, overall bits/byte) of each result in one JSON file."""
    label, _, name = argument.rpartition("=")
    path = Path(name)
    data = json.loads(path.read_text())
    if isinstance(data, list):  # xz_by_offset.py: one entry per context
        return [(f"xz -9e, {r['context']} B of context", r["by_offset"], True, r["bits_per_byte"]) for r in data]
    if not label:
        label = f"{Path(data.get('checkpoint', path.stem)).stem} at {data['context']}"
    return [(label, data["by_offset"], False, data["bits_per_byte"])]


def markdown_table(series) -> str:
    """One row per result: overall, then each offset bucket (bits/byte; '-' where it has no bytes)."""
    buckets = [b["offset"] for b in series[0][1]]
    lines = ["| bits/byte | all | " + " | ".join(buckets) + " |", "|---|---:|" + "---:|" * len(buckets)]
    for label, rows, _, overall in series:
        cells = [f"{b['bits_per_byte']:.3f}" if b["bytes"] > 0 else "-" for b in rows]
        lines.append(f"| {label} | {overall:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    series = [s for argument in sys.argv[2:] for s in series_of(argument)]
    buckets = [b["offset"] for b in series[0][1]]
    values = [b["bits_per_byte"] for _, rows, _, _ in series for b in rows if b["bytes"] > 0]
    lo, hi = min(values), max(values)
    pad = 0.1 * (hi - lo or 1)
    lo, hi = lo - pad, hi + pad
    W, H, left, right, top, bottom = 720, 420, 60, 250, 30, 50
    pw, ph = W - left - right, H - top - bottom
    x = lambda k: left + pw * (k + 0.5) / len(buckets)
    y = lambda v: top + ph * (1 - (v - lo) / (hi - lo))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="DejaVu Sans, sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>',
             f'<text x="{left}" y="{top - 10}">bits per byte by the byte\'s offset in its file</text>']
    steps = 5
    for i in range(steps + 1):
        v = lo + (hi - lo) * i / steps
        parts.append(f'<line x1="{left - 4}" y1="{y(v):.1f}" x2="{left}" y2="{y(v):.1f}" stroke="#888"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    for k, name in enumerate(buckets):
        parts.append(f'<text x="{x(k):.1f}" y="{top + ph + 18}" text-anchor="middle">{escape(name)}</text>')
    for s, (label, rows, dashed, _) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        points = [(x(k), y(b["bits_per_byte"])) for k, b in enumerate(rows) if b["bytes"] > 0]
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="' +
                     " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + '"/>')
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        ly = top + 14 + 18 * s
        parts.append(f'<line x1="{W - right + 15}" y1="{ly - 4}" x2="{W - right + 40}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{W - right + 45}" y="{ly}">{escape(label)}</text>')
    parts.append("</svg>")
    out.write_text("\n".join(parts) + "\n")
    print(markdown_table(series))
    print(f"wrote {out} ({len(series)} lines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
