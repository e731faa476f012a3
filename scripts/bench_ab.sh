#!/usr/bin/env bash
# Runs the bench binaries of an earlier revision and of the working tree in turn, round by
# round, so that a change in a ratio can be told from the machine's drift: both versions meet
# the same moments of the machine. Prints the paired ratios per round and their medians
# (scripts/bench_ab.py).
#
#   scripts/bench_ab.sh bbd85b8            # 3 rounds of the groups below
#   ROUNDS=6 scripts/bench_ab.sh bbd85b8
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: scripts/bench_ab.sh <earlier revision>}
rounds=${ROUNDS:-3}
old=target/bench-ab-old
[ -d "$old" ] || git worktree add --detach "$old" "$rev"
git -C "$old" checkout --quiet --detach "$rev"

# The path of each bench binary, as `cargo bench --no-run` reports it.
binaries() {
    (cd "$1" && cargo bench --no-run --bench deadline --bench watchdog --bench keepalives --bench stream 2>&1) |
        sed -n 's/.*Executable benches\/\([a-z]*\)\.rs (\(.*\))/\1 \2/p'
}
declare -A bin
while read -r name path; do bin[old,$name]=$old/$path; done < <(binaries "$old")
while read -r name path; do bin[new,$name]=$path; done < <(binaries .)

out=target/bench-ab.log
: > "$out"
for round in $(seq "$rounds"); do
    for version in old new; do
        for bench in deadline watchdog stream keepalives; do
            case $bench in
                stream) filter=debounce_burst ;;
                keepalives) filter='/1000000' ;;
                *) filter='' ;;
            esac
            echo "### round=$round version=$version bench=$bench" >> "$out"
            "${bin[$version,$bench]}" --bench $filter 2>&1 |
                grep -E '^[a-z_]+/[^ ]*( |$)|^ +time:' | grep -v '%' >> "$out"
        done
    done
done
python3 scripts/bench_ab.py "$out"
