#!/usr/bin/env bash
# Automatic failover, short version (one failover): test/failover/failover.py builds its own
# pg_auto_failover topology (monitor, primary, synchronous secondary on free ports) with the
# PostgreSQL of QUANT_PGBIN, trades through the paper broker and the Bybit fake, loses the primary
# once. `make failover` runs it with 5 repeats. Skips (0 passed) only without pg_autoctl.
# Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export QUANT_WORKER_BIN="${QUANT_WORKER_BIN:-$repo/build/worker/quant-worker}"
export QUANT_HTTP_BIN="${QUANT_HTTP_BIN:-$repo/build/http/quant-http}"
exec python3 "$repo/test/failover/failover.py" --repeats 1
