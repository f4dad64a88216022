#!/usr/bin/env bash
# RSS of quant-worker and quant-http at 1,000 deployments (issue 16), and the bar cache's figures.
#
#   PG*=... bench/memory_1000.sh [DEPLOYMENTS, default 1000]
#
# Needs PG* (a superuser) on a database with quant and the TTRC sample bars (as for
# bench/worker_latency.sh), build/worker/quant-worker and build/http/quant-http. It deploys
# DEPLOYMENTS paper deployments of its own user (mem_<pid>), writes one PENDING signal for each,
# lets one worker finish them all (one market order each), lists them through REST, and prints
# VmRSS / VmHWM (peak) of both processes; then the bar cache of one backend that backtests the
# strategy DEPLOYMENTS times. Deployments are stopped at the end.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-1000}"
U="mem_$$"
PSQL=(psql -X -q -t -A -v ON_ERROR_STOP=1)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "${PSQL[@]}" -c "UPDATE trade.deployment SET enabled = false, stopped_at = now()
                     WHERE user_id = '$U' AND stopped_at IS NULL" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mem() { awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MB  ", $1, $2 / 1024}' "/proc/$1/status"; }
cfg='{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}'
sid="$("${PSQL[@]}" -c "SELECT quant.set_user('$U')" -c "SELECT quant.create_strategy('$cfg')->>'strategy_id'" | tail -n1)"
"${PSQL[@]}" -c "SELECT quant.set_user('$U')" -c "SELECT count(quant.deploy(jsonb_build_object('strategy_id', '$sid',
    'qty', 1, 'schedule', 'manual', 'risk_limits', '{\"max_bar_age_hours\": null, \"max_daily_trades\": 100000,
    \"max_orders_per_minute\": 10000, \"max_position_usd\": 1000000}'::jsonb))) FROM generate_series(1, $N)" >/dev/null
"${PSQL[@]}" -c "INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
    SELECT d.deployment_id, d.user_id, timestamptz '2032-01-01', 1, 'TTRC', d.strategy_version
    FROM trade.deployment d WHERE d.user_id = '$U' AND d.stopped_at IS NULL"
QUANT_WORKER_ID="$U-w" QUANT_WORKER_LOG_LEVEL=warn "$repo/build/worker/quant-worker" 2>/dev/null &
w=$!
pids+=("$w")
for _ in $(seq 1 1200); do
    left="$("${PSQL[@]}" -c "SELECT count(*) FROM trade.signal WHERE user_id = '$U' AND status IN ('PENDING', 'PROCESSING')")"
    [ "$left" = 0 ] && break
    sleep 0.5
done
echo "# $N deployments, $("${PSQL[@]}" -c "SELECT count(*) FROM trade.signal WHERE user_id = '$U' AND status = 'DONE'") signals DONE ($left left)"
echo "quant-worker after the $N signals: $(mem "$w")"
key="$("${PSQL[@]}" -c "SELECT quant.create_api_key('$U')")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
dburl="postgresql://${PGUSER:-$(id -un)}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/${PGDATABASE:-quant}"
DB_URL="$dburl" QUANT_HTTP_ADDR="127.0.0.1:$port" QUANT_HTTP_ACCESS_LOG=0 QUANT_HTTP_METRICS_ADDR=off \
    QUANT_HTTP_RATE=1000000 QUANT_HTTP_BURST=1000000 "$repo/build/http/quant-http" 2>/dev/null &
h=$!
pids+=("$h")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
bytes=0
for _ in $(seq 1 20); do
    bytes="$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v1/deployments" | wc -c)"
done
echo "quant-http after 20 x GET /api/v1/deployments ($bytes bytes each): $(mem "$h")"
"${PSQL[@]}" -F ' ' -c "SELECT count(quant.backtest('$cfg'::jsonb)) FROM generate_series(1, $N)" \
    -c "SELECT 'bar cache of that backend: ' || entries || ' entries, ' || bars || ' bars, ' || bytes || ' bytes (limit '
        || limit_bytes || '), hits ' || hits || ', misses ' || misses || ', evictions ' || evictions FROM quant.bar_cache" | tail -n1
