#!/usr/bin/env bash
# Orders that do not finish at once (issue 15): quant-worker against fake-bybit (test/worker/open_orders_test.py; PG* set by the
# test cluster). Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export QUANT_WORKER_BIN="${QUANT_WORKER_BIN:-$repo/build/worker/quant-worker}"
exec python3 "$repo/test/worker/open_orders_test.py"
