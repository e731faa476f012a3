#!/usr/bin/env bash
# Mutation testing of the core files with cargo-mutants, each file against the tests that
# exercise it (so a file takes minutes, not hours). Results: mutants.out/<name>/ (caught.txt,
# missed.txt, timeout.txt, unviable.txt); the scores and every survivor are explained in
# docs/guarantees.md.
#
#   cargo install cargo-mutants --locked     # once
#   scripts/mutants.sh                       # every core file
#   scripts/mutants.sh src/state.rs          # one
#
# Extra arguments after the files go to cargo-mutants (e.g. --in-place in a scratch worktree).
set -euo pipefail
cd "$(dirname "$0")/.."

tests() { for t in "$@"; do printf -- '-C\n--test\n-C\n%s\n' "$t"; done; }

watchdog=(watchdog_rules watchdog_edges watchdog_model watchdog_guard watchdog_stress clock_far_future)
keepalives=(keepalives_rules keepalives_model keepalives_stress clock_far_future)

# The tests of a file, as cargo-mutants arguments.
args_for() {
    case "$1" in
        # The core: the loom models (the lib tests of loom-tests, which compiles these files by
        # path) and every test of the primitives built on it.
        src/state.rs | src/segment.rs)
            printf -- '--test-package\ndeadlines,loom-tests\n-C\n--lib\n'
            tests "${watchdog[@]}" keepalives_rules keepalives_model keepalives_stress ;;
        src/clock.rs) tests "${watchdog[@]}" "${keepalives[@]}" deadline_edges ;;
        src/timer.rs) tests deadline_rules deadline_edges deadline_model "${watchdog[@]}" "${keepalives[@]}" stream_debounce stream_keepalive stream_idle_timeout api_no_runtime api_types ;;
        src/deadline.rs) tests deadline_rules deadline_edges deadline_model watchdog_rules clock_far_future api_types api_no_runtime ;;
        src/watchdog.rs | src/heartbeat.rs) tests "${watchdog[@]}" api_types api_no_runtime ;;
        src/keepalive/*.rs) tests "${keepalives[@]}" api_types api_no_runtime ;;
        src/stream/burst.rs | src/stream/settle.rs) tests stream_debounce stream_debounce_batch stream_debounce_model stream_debounce_with stream_flush_cancel stream_debounce_by_key stream_keyed_model stream_ports stream_api ;;
        src/stream/keys.rs | src/stream/keyed.rs) tests stream_debounce_by_key stream_keyed_model stream_api ;;
        src/stream/sample.rs) tests stream_sample stream_ports stream_api ;;
        src/stream/throttle_with.rs) tests stream_throttle_with stream_ports stream_api ;;
        src/stream/ping_pong.rs) tests stream_ping_pong stream_ping_pong_model stream_api api_types ;;
        src/stream/keepalive.rs) tests stream_keepalive stream_timeout_model stream_api api_types clock_far_future ;;
        *) echo "no test list for $1" >&2; exit 2 ;;
    esac
}

files=()
while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do files+=("$1"); shift; done
[ ${#files[@]} -gt 0 ] || files=(src/state.rs src/segment.rs src/clock.rs src/timer.rs src/deadline.rs src/watchdog.rs src/heartbeat.rs src/keepalive/*.rs src/stream/burst.rs src/stream/settle.rs)

for file in "${files[@]}"; do
    name=$(echo "${file#src/}" | sed 's#/#-#g; s#\.rs$##')
    mapfile -t extra < <(args_for "$file")
    mkdir -p "mutants.out/$name"
    cargo mutants --file "$file" --output "mutants.out/$name" --minimum-test-timeout 60 "${extra[@]}" "$@" || true
done
