#!/usr/bin/env bash
# The live feed end to end: pg_cron + quant-feed + quant-worker against fake-bybit's klines
# (test/worker/feed_test.py; PG* set by the test cluster). Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export QUANT_WORKER_BIN="${QUANT_WORKER_BIN:-$repo/build/worker/quant-worker}"
export QUANT_FEED_BIN="${QUANT_FEED_BIN:-$repo/build/worker/quant-feed}"
exec python3 "$repo/test/worker/feed_test.py"
