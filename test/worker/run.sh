#!/usr/bin/env bash
# quant-worker's acceptance tests (issue 4): end to end, the risk checks, crash safety at every
# QUANT_WORKER_CRASH_AT point, two workers at once, a dropped LISTEN connection, SIGTERM.
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
exec python3 "$here/worker_test.py"
