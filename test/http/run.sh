#!/usr/bin/env bash
# quant-http against a real PostgreSQL: starts build/http/quant-http (twice: normal limits and
# strict ones), creates API keys with psql, and runs test_api.py (stdlib only). The last line
# is "N passed, N failed"; the exit status is non-zero on any failure.
#
# Environment: PG* (or DB_URL) of a database where CREATE EXTENSION quant works (the test runner
# prepares one with the sample data); QUANT_HTTP_BIN overrides the binary; QUANT_DATA_DIR holds
# the sample CSVs readable by the server (used only when the database has no bars yet).
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${QUANT_HTTP_BIN:-$REPO/build/http/quant-http}"
if [ ! -x "$BIN" ]; then
    echo "no $BIN: build it first (cmake --build build)"
    echo "0 passed, 1 failed"
    exit 1
fi
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS quant' >/dev/null || {
    echo "CREATE EXTENSION quant failed"; echo "0 passed, 1 failed"; exit 1; }
if [ "$("${PSQL[@]}" -At -c "SELECT count(*) FROM md.bar WHERE ticker = 'TTRC'")" = 0 ]; then
    DATA="${QUANT_DATA_DIR:-$REPO/data}"
    "${PSQL[@]}" -c "SELECT quant.load_bars_csv('TTRC', '$DATA/ttrc_daily_ohlcv.csv')" >/dev/null || {
        echo "loading bars from $DATA failed (is it readable by the server?)"; echo "0 passed, 1 failed"; exit 1; }
fi
exec python3 "$REPO/test/http/test_api.py" "$BIN"
