#!/usr/bin/env bash
# FUTU end to end: quant-worker against fake-opend (test/worker/futu_test.py; PG* set by the test
# cluster), then fake-opend's own tests (test/fakes/futu/test_fake_opend.py). Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export QUANT_WORKER_BIN="${QUANT_WORKER_BIN:-$repo/build/worker/quant-worker}"
export QUANT_FEED_BIN="${QUANT_FEED_BIN:-$repo/build/worker/quant-feed}"
export QUANT_FUTU_PB_DIR="${QUANT_FUTU_PB_DIR:-$repo/build/worker/futu_pb}"
p=0 f=0
for t in "$repo/test/worker/futu_test.py" "$repo/test/worker/futu_push_test.py" "$repo/test/worker/futu_feed_test.py" "$repo/test/fakes/futu/test_fake_opend.py"; do
    [ -f "$t" ] || continue
    out="$(mktemp)"
    python3 "$t" | tee "$out"
    counts="$(grep -v '^[[:space:]]*$' "$out" | tail -n 1 | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p')"
    rm -f "$out"
    if [ -z "$counts" ]; then f=$((f + 1)); echo "# $t: no summary line"; continue; fi
    read -r tp tf <<<"$counts"
    p=$((p + tp)) f=$((f + tf))
done
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
