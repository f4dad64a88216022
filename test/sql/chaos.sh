#!/usr/bin/env bash
# The chaos soak's short run (issue 15; test/chaos/README.md): its own cluster (initdb with
# $QUANT_PGBIN, where make install put the extension), real quant-worker processes against the
# paper broker and fake-bybit, ~90 s of SIGKILLs, immediate database stops and broker faults,
# then the invariant checker and its self-test. Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export QUANT_WORKER_BIN="${QUANT_WORKER_BIN:-$repo/build/worker/quant-worker}"
exec python3 "$repo/test/chaos/chaos.py" --seed "${QUANT_CHAOS_SEED:-1}" --duration "${QUANT_CHAOS_SECONDS:-90}" --db-every 25
