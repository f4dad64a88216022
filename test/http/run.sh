#!/usr/bin/env bash
# quant-http against a real PostgreSQL: starts build/http/quant-http (several times, with
# different limits), creates API keys with psql, and runs test_api.py (the routes, errors, auth,
# OpenAPI, metrics) and test_limits.py (slow and greedy clients, connection caps, throttles,
# TLS); both stdlib only. The last line is "N passed, N failed" over both; the exit status is
# non-zero on any failure.
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
total_p=0 total_f=0 rc=0
for t in test_api.py test_products.py test_bars.py test_credentials.py test_ui.py test_futu_deploy.py test_limits.py; do
    out="$(mktemp)"
    python3 "$REPO/test/http/$t" "$BIN" 2>&1 | tee "$out"
    st=${PIPESTATUS[0]}
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)"
    rm -f "$out"
    if [ -z "$line" ]; then
        echo "$t: no summary line (exit $st)"
        total_f=$((total_f + 1)) rc=1
        continue
    fi
    p=${line%% passed*} f=${line#*passed, } f=${f%% failed*}
    total_p=$((total_p + p)) total_f=$((total_f + f))
    [ "$st" -eq 0 ] || rc=1
done
[ "$total_f" -eq 0 ] || rc=1
echo "$total_p passed, $total_f failed"
exit $rc
