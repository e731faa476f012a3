"""Paired ratios of an A/B bench log written by scripts/bench_ab.sh.

Each ratio is taken within one run of one binary (ours over its baseline, measured in the same
criterion group), per round; the table gives every round and the median, for the earlier
revision ("old") and the working tree ("new"). Standard library only.

    python3 scripts/bench_ab.py target/bench-ab.log [more logs of the same kind]
"""

import re
import statistics
import sys
from collections import defaultdict

UNIT = {"ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}

# (ours, baseline): ours / baseline, lower is better; the last pair is baseline / ours
# (items per second), higher is better.
PAIRS = [
    ("deadline_reset_later/deadline_reset", "deadline_reset_later/sleep_reset"),
    ("deadline_reset_later/deadline_reset", "deadline_reset_later/sleep_recreate"),
    ("heartbeat/beat", "heartbeat/floor"),
    ("heartbeat/beat", "heartbeat/mpsc"),
    ("rearm/restart", "rearm/sleep_reset"),
    ("rearm/new_life", "rearm/sleep_reset"),
    ("rearm/new_life", "rearm/sleep_recreate"),
    ("keepalives_beat/heartbeat_held/1000000", "keepalives_beat/floor/1000000"),
    ("keepalives_beat/heartbeat_held/1000000", "keepalives_beat/delay_queue/1000000"),
    ("keepalives_beat/heartbeat_held/1000000", "keepalives_beat/delay_queue_held/1000000"),
    ("keepalives_beat/heartbeat/1000000", "keepalives_beat/delay_queue/1000000"),
    ("keepalives_beat/ours/1000000", "keepalives_beat/delay_queue/1000000"),
    ("keepalives_insert/ours/1000000", "keepalives_insert/delay_queue/1000000"),
    ("keepalives_remove/ours/1000000", "keepalives_remove/delay_queue/1000000"),
    ("keepalives_expire/ours/1000000", "keepalives_expire/delay_queue/1000000"),
    ("debounce_burst/naive_reset_per_item", "debounce_burst/debounce"),
]


def read(paths):
    """{(round, version): {bench: median ns}}"""
    times = defaultdict(dict)
    for path in paths:
        current, name = None, None
        for line in open(path, encoding="utf-8"):
            header = re.match(r"### round=(\d+) version=(\w+) bench=(\w+)", line)
            if header:
                current = (int(header.group(1)), header.group(2))
                continue
            named = re.match(r"^([a-z_]+/\S+)\s*(time:\s*\[(.*)\])?", line)
            if named:
                name = named.group(1)
                estimate = named.group(3)
            else:
                timed = re.match(r"^\s+time:\s*\[(.*)\]", line)
                estimate = timed.group(1) if timed else None
            if estimate and name:
                parts = estimate.split()
                times[current][name] = float(parts[2]) * UNIT[parts[3]]
    return times


def main():
    times = read(sys.argv[1:])
    rounds = sorted({r for r, _ in times})
    print("| ratio | old, per round | old median | new, per round | new median | new / old |")
    print("|---|---|---|---|---|---|")
    for ours, base in PAIRS:
        cells, medians = [], []
        for version in ("old", "new"):
            ratios = [
                times[(r, version)][ours] / times[(r, version)][base]
                for r in rounds
                if ours in times[(r, version)] and base in times[(r, version)]
            ]
            if not ratios:
                break
            medians.append(statistics.median(ratios))
            cells += [", ".join(f"{x:.2f}" for x in ratios), f"{medians[-1]:.2f}x"]
        if len(medians) == 2:
            print(f"| {ours} / {base} | " + " | ".join(cells) + f" | {medians[1] / medians[0]:.2f} |")


if __name__ == "__main__":
    main()
