#!/usr/bin/env python3
"""Plot the Keepalives scaling (10^4 to 10^7 keys) from criterion's output, as an SVG.

Usage: python3 scripts/plot_keepalives.py [OUT.svg [CRITERION_DIR]]
(defaults docs/keepalives_scaling.svg and target/criterion)

Reads CRITERION_DIR/keepalives_{beat,insert,remove,expire}/<bench>/<keys>/new/estimates.json
(written by `cargo bench --bench keepalives`) and draws one panel per group: time per key
against the number of keys, both on log scales, one line per bench, and the beat group's floor
beside the inserts too. Standard library only.
"""
import json
import math
import pathlib
import sys

GROUPS = [
    ("keepalives_beat", "one beat (ns)"),
    ("keepalives_insert", "insert, per key (ns)"),
    ("keepalives_remove", "remove, per key (ns)"),
    ("keepalives_expire", "expire, per key (ns)"),
]
COLORS = {
    "ours": "#1f77b4",
    "heartbeat": "#2ca02c",
    "heartbeat_held": "#17becf",
    "floor": "#7f7f7f",
    "delay_queue": "#d62728",
    "delay_queue_held": "#ff9896",
    "ours_foldhash": "#9467bd",
    "delay_queue_foldhash": "#e377c2",
    "ours_held": "#bcbd22",
}
LABELS = {
    "ours": "Keepalives (by key)",
    "heartbeat": "Keepalives (Heartbeat, picked at random)",
    "heartbeat_held": "Keepalives (Heartbeat, held)",
    "floor": "floor: clock + fetch_max on an array",
    "delay_queue": "DelayQueue + HashMap",
    "delay_queue_held": "DelayQueue (Key held)",
    "ours_foldhash": "Keepalives, foldhash",
    "delay_queue_foldhash": "DelayQueue + HashMap, foldhash",
    "ours_held": "Keepalives, Heartbeat kept",
}
ROOT = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "target/criterion")
W, H, PAD = 330, 250, 52


def load(group):
    root = ROOT / group
    series = {}
    for estimates in sorted(root.glob("*/*/new/estimates.json")):
        keys = int(estimates.parent.parent.name)
        bench = estimates.parent.parent.parent.name
        ns = json.loads(estimates.read_text())["median"]["point_estimate"]
        # Time per element of the bench's throughput: a key, or at 10^7 a key of the slice
        # the remove and expiry groups time (1 for a beat).
        meta = json.loads((estimates.parent / "benchmark.json").read_text())
        elements = (meta.get("throughput") or {}).get("Elements") or 1
        series.setdefault(bench, []).append((keys, ns / elements))
    return {b: sorted(points) for b, points in series.items()}


def panel(x0, title, series):
    out = [f'<g transform="translate({x0},0)">']
    points = [(k, ns) for pts in series.values() for k, ns in pts]
    if not points:
        return ""
    lo_y = math.log10(min(p[1] for p in points)) - 0.1
    hi_y = math.log10(max(p[1] for p in points)) + 0.1
    lo_x, hi_x = 4, 7

    def xy(keys, value):
        x = PAD + (math.log10(keys) - lo_x) / (hi_x - lo_x) * (W - PAD - 28)
        y = H - PAD + 10 - (math.log10(value) - lo_y) / (hi_y - lo_y) * (H - PAD - 20)
        return x, y

    out.append(f'<text x="{W / 2}" y="16" text-anchor="middle" font-weight="bold">{title}</text>')
    out.append(f'<line x1="{PAD}" y1="{H - PAD + 10}" x2="{W - 28}" y2="{H - PAD + 10}" stroke="#333"/>')
    out.append(f'<line x1="{PAD}" y1="20" x2="{PAD}" y2="{H - PAD + 10}" stroke="#333"/>')
    for e in (4, 5, 6, 7):
        x, _ = xy(10**e, 10**lo_y)
        out.append(f'<text x="{x}" y="{H - PAD + 26}" text-anchor="middle">10^{e}</text>')
    for e in range(math.ceil(lo_y), math.floor(hi_y) + 1):
        for m in (1, 2, 5):
            v = m * 10**e
            if lo_y <= math.log10(v) <= hi_y:
                _, y = xy(10**4, v)
                out.append(f'<text x="{PAD - 4}" y="{y + 4}" text-anchor="end">{v:g}</text>')
                out.append(f'<line x1="{PAD}" y1="{y}" x2="{W - 28}" y2="{y}" stroke="#eee"/>')
    out.append(f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">keys</text>')
    for bench, pts in series.items():
        coords = [xy(k, ns) for k, ns in pts]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        color = COLORS.get(bench, "#555")
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        for x, y in coords:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
    out.append("</g>")
    return "\n".join(out)


def main():
    out_path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs/keepalives_scaling.svg")
    panels, benches = [], set()
    for i, (group, title) in enumerate(GROUPS):
        series = load(group)
        if not series:
            sys.exit(f"no criterion results for {group}: run `cargo bench --bench keepalives`")
        if group == "keepalives_insert":
            # The floor beside the insert: its growth is what one cache miss a key costs at
            # each size, the least an insert that looks its key up pays (docs/performance.md).
            series["floor"] = load("keepalives_beat").get("floor", [])
        benches |= set(series)
        panels.append(panel(i * W, title, series))
    width = W * len(GROUPS)
    legend = []
    per_row = 3
    for j, bench in enumerate(sorted(benches)):
        x = 20 + (j % per_row) * (width // per_row)
        y = H + 8 + (j // per_row) * 16
        legend.append(f'<rect x="{x}" y="{y}" width="14" height="4" fill="{COLORS.get(bench, "#555")}"/>')
        legend.append(f'<text x="{x + 20}" y="{y + 6}">{LABELS.get(bench, bench)}</text>')
    rows = -(-len(benches) // per_row)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H + 8 + 16 * rows}" '
        f'font-family="sans-serif" font-size="11">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(panels + legend)
        + "\n</svg>\n"
    )
    out_path.write_text(svg)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
