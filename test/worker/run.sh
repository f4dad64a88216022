#!/usr/bin/env bash
# quant-worker's acceptance tests (issue 4): end to end, the risk checks, crash safety at every
# QUANT_WORKER_CRASH_AT point, two workers at once, a dropped LISTEN connection, SIGTERM; the
# minute stop loss, fail-closed checks, and the database stopped -m immediate mid-stream.
# Needs PG* pointing at a database with quant installed and the TTRC sample bars loaded (as
# scripts/test-in-cluster.sh prepares it; test/sql/worker.sh starts this), and a built
# quant-worker ($QUANT_WORKER_BIN, else build/worker/quant-worker, else quant-worker on PATH).
# Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${QUANT_WORKER_BIN:-}"
if [ -z "$bin" ]; then
    if [ -x "$repo/build/worker/quant-worker" ]; then bin="$repo/build/worker/quant-worker";
    else bin="$(command -v quant-worker || true)"; fi
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "quant-worker is not built (cmake --build build)"
    echo "0 passed, 1 failed"
    exit 1
fi
export QUANT_WORKER_BIN="$bin"
# worker_test.py (end to end, risk checks, SIGKILL crash points, two workers), live_test.py
# (the minute stop loss, fail-closed checks, pg_ctl stop -m immediate mid-stream), then
# safety_test.py (kill switches, the gate before a send, breakers, the alert webhook); one total.
p=0 f=0 rc=0
# QUANT_WORKER_TESTS="safety_test.py" runs only those (development).
for t in ${QUANT_WORKER_TESTS:-worker_test.py live_test.py safety_test.py alerts_test.py}; do
    out="$(mktemp)"
    python3 "$here/$t" | tee "$out" || rc=1
    counts="$(grep -v '^[[:space:]]*$' "$out" | tail -n 1 | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p')"
    rm -f "$out"
    if [ -z "$counts" ]; then f=$((f + 1)); echo "# $t: no summary line"; continue; fi
    read -r tp tf <<<"$counts"
    p=$((p + tp)) f=$((f + tf))
done
echo "$p passed, $f failed"
[ "$f" -eq 0 ] && [ "$rc" -eq 0 ]
