#!/usr/bin/env python3
"""Print each bench of a criterion group as a ratio against the others, from the last run.

Usage: python3 scripts/bench_ratios.py GROUP [BASELINE ...]

Reads target/criterion/GROUP/*/new/estimates.json (written by `cargo bench`), prints the
median time of every bench in the group and, for each one, its ratio to every baseline named
(all other benches when none is named). Standard library only.
"""
import json
import pathlib
import sys


def medians(group):
    root = pathlib.Path("target/criterion") / group
    found = {}
    for estimates in sorted(root.glob("*/new/estimates.json")):
        bench = estimates.parent.parent.name
        found[bench] = json.loads(estimates.read_text())["median"]["point_estimate"]
    if not found:
        sys.exit(f"no criterion results under {root}: run `cargo bench` first")
    return found


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    group, baselines = sys.argv[1], sys.argv[2:]
    times = medians(group)
    print(f"group {group}")
    for bench, ns in times.items():
        print(f"  {bench:<32} {ns:10.2f} ns")
    for bench, ns in times.items():
        for base in baselines or [b for b in times if b != bench]:
            if base != bench and base in times:
                print(f"  {bench} / {base} = {ns / times[base]:.2f}x")


if __name__ == "__main__":
    main()
