#!/usr/bin/env bash
# The pq library against the test runner's database (test/pq/pq_server_test.cpp, GoogleTest).
# Last line: "N passed, N failed".
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$repo/build/test/pq/quant_pq_server_tests"
if [ ! -x "$bin" ]; then
    echo "no $bin: build it first (cmake --build build)"
    echo "0 passed, 1 failed"
    exit 1
fi
out="$(mktemp)"
QUANT_PQ_TEST_DB="${DB_URL:-}" "$bin" 2>&1 | tee "$out"
rc="${PIPESTATUS[0]}"
passed="$(sed -nE 's/^\[  PASSED  \] ([0-9]+) tests?\..*/\1/p' "$out" | tail -n 1)"
failed="$(sed -nE 's/^\[  FAILED  \] ([0-9]+) tests?, listed below.*/\1/p' "$out" | tail -n 1)"
skipped="$(sed -nE 's/^\[  SKIPPED \] ([0-9]+) tests?, listed below.*/\1/p' "$out" | tail -n 1)"
rm -f "$out"
passed="${passed:-0}" failed="${failed:-0}"
if [ "${skipped:-0}" -gt 0 ]; then failed=$((failed + skipped)); fi  # the server was not reached
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
