#!/usr/bin/env python3
"""Print each bench of a criterion group as a ratio against baselines, from the last run.

Usage: python3 scripts/bench_ratios.py GROUP [BASELINE ...]

Reads target/criterion/GROUP/**/new/estimates.json (written by `cargo bench`), prints the
median time of every bench in the group and, for each one, its ratio to every baseline named
(all other benches when none is named). Benches with a parameter (`ours/1000000`) are
compared with the baseline of the same parameter (`delay_queue/1000000`). Standard library
only.
"""
import json
import pathlib
import sys


def medians(group):
    root = pathlib.Path("target/criterion") / group
    found = {}
    for estimates in sorted(root.glob("**/new/estimates.json")):
        bench = estimates.parent.parent.relative_to(root).as_posix()
        found[bench] = json.loads(estimates.read_text())["median"]["point_estimate"]
    if not found:
        sys.exit(f"no criterion results under {root}: run `cargo bench` first")
    return found


def split(bench):
    name, _, param = bench.partition("/")
    return name, param


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    group, baselines = sys.argv[1], sys.argv[2:]
    times = medians(group)
    print(f"group {group}")
    for bench, ns in times.items():
        print(f"  {bench:<32} {ns:14.2f} ns")
    names = sorted({split(b)[0] for b in times})
    for bench, ns in times.items():
        name, param = split(bench)
        for base in baselines or [n for n in names if n != name]:
            other = f"{base}/{param}" if param else base
            if base != name and other in times:
                print(f"  {bench} / {other} = {ns / times[other]:.2f}x")


if __name__ == "__main__":
    main()
