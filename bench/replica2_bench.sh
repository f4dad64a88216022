#!/usr/bin/env bash
# Research throughput through REST with 0, 1 and 2 hot standbys (issue 17's performance figure),
# on the pg_auto_failover topology with two secondaries (scripts/failover-cluster.sh: a primary
# and 2 streaming standbys, each its own postmaster on this machine). POST /api/v1/backtest by
# wrk; libpq picks the first host of a multi-host string, so 2 standbys = 2 quant-http, each
# with its own standby as its standby pool (what docs/scale.md prescribes: one quant-http per
# standby machine), each loaded by its own wrk with half the connections; the figure is the sum.
# For fairness 0 standbys is also run with 2 quant-http on the primary.
#   bench/replica2_bench.sh [seconds per run, default 8]
# Environment: QUANT_PGBIN (PostgreSQL 15 with quant, pg_cron, pgautofailover), FAILOVER_PORTS
# (4 ports: monitor and 3 nodes; default 55563-55566). Needs build/http/quant-http and wrk.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-8}
bin="$repo/build/http/quant-http"
[ -x "$bin" ] || { echo "no $bin: make build first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
export FAILOVER_DIR="$work/cluster" FAILOVER_PORTS="${FAILOVER_PORTS:-55563 55564 55565 55566}"
cluster="$repo/scripts/failover-cluster.sh"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    "$cluster" destroy >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cp "$repo"/data/ttrc_daily_ohlcv.csv "$work/"
chmod 755 "$work"
chmod a+r "$work/ttrc_daily_ohlcv.csv"
"$cluster" up 2>/dev/null
read -r -a ports <<<"$FAILOVER_PORTS"
uri=$("$cluster" uri)
psql -X -q "$uri" -c "SELECT quant.load_bars_csv('TTRC', '$work/ttrc_daily_ohlcv.csv')" -c "VACUUM ANALYZE md.bar" >/dev/null
key=$(psql -X -At "$uri" -c "SELECT quant.create_api_key('bench')")
lsn=$(psql -X -At "$uri" -c "SELECT pg_current_wal_lsn()")
standbys=()
for p in "${ports[@]:1}"; do
    [ "$(psql -X -At "postgresql://postgres@127.0.0.1:$p/quant" -c 'SELECT pg_is_in_recovery()')" = t ] && standbys+=("$p")
done
for p in "${standbys[@]}"; do # wait for the standbys to replay the bars and the key
    until [ "$(psql -X -At "postgresql://postgres@127.0.0.1:$p/quant" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do sleep 0.2; done
done
cfg='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"config": $cfg, "from_ts": "1997-01-01"}'
wrk.headers["Content-Type"] = "application/json"
LUA
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() { # [STANDBY_PORT]: a quant-http in the background, its port in $port
    local env=()
    port=$(free_port)
    [ -z "${1:-}" ] || env=(QUANT_HTTP_STANDBY_URL="postgresql://postgres@127.0.0.1:$1/quant?target_session_attrs=standby")
    env DB_URL="$uri" QUANT_HTTP_ADDR=127.0.0.1:$port QUANT_HTTP_ACCESS_LOG=0 QUANT_HTTP_RATE=1000000 \
        QUANT_HTTP_BURST=1000000 QUANT_HTTP_METRICS_ADDR=off QUANT_HTTP_THREADS=16 QUANT_HTTP_DB_CONNECTIONS=4 \
        QUANT_HTTP_STANDBY_CONNECTIONS=4 "${env[@]}" "$bin" >>"$work/server.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}
pool() { curl -s -o /dev/null -D - -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"config\": $cfg}" "http://127.0.0.1:$1/api/v1/backtest" | tr -d '\r' |
    awk -F': ' 'tolower($1)=="x-quant-pool" {print $2}'; }
w() { # CONNECTIONS PORT...: one wrk per port at once, the sum of their rates
    local c=$1 p out=()
    shift
    for p in "$@"; do
        wrk -t1 -c"$c" -d"${secs}s" -H "Authorization: Bearer $key" -s "$work/post.lua" \
            "http://127.0.0.1:$p/api/v1/backtest" >"$work/wrk.$p" &
        out+=($!)
    done
    wait "${out[@]}"
    for p in "$@"; do awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON2XX"}' "$work/wrk.$p"; done |
        awk '/NON2XX/ {bad=1} !/NON2XX/ {s+=$1} END {printf "%.0f backtests/s%s\n", s, bad ? " (NON-2XX answers!)" : ""}'
}
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); standbys on ports ${standbys[*]}; ${secs}s per run"
serve; a=$port
echo "0 standbys, 1 quant-http (pool $(pool "$a")), 32 conn:        $(w 32 "$a")"
serve; b=$port
echo "0 standbys, 2 quant-http, 16 conn each:                   $(w 16 "$a" "$b")"
stop_all
serve "${standbys[0]}"; a=$port
echo "1 standby, 1 quant-http (pool $(pool "$a")), 32 conn:         $(w 32 "$a")"
stop_all
serve "${standbys[0]}"; a=$port
serve "${standbys[1]}"; b=$port
echo "2 standbys, 2 quant-http (pools $(pool "$a")/$(pool "$b")), 16 conn each: $(w 16 "$a" "$b")"
stop_all
