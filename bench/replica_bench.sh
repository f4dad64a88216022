#!/usr/bin/env bash
# Research throughput through REST with 0 and 1 streaming standby (docs/scale.md "Read
# scale-out"): backtests per second of POST /api/v1/backtest (wrk, 32 connections) in a
# throw-away cluster (pg_virtualenv), then the same quant-http with a standby pool on a hot
# standby made by pg_basebackup -R (a second postmaster on this machine), then both pools with
# half the requests pinned to the primary (X-Quant-Consistency: primary).
#   bench/replica_bench.sh [seconds per run, default 10]
# Needs build/http/quant-http, the extension installed (make install) and wrk. Prints the
# figures; bench/README.md records the latest ones. On one machine the primary and the standby
# share its cores, so this measures the routing's cost and the per-core rate, not the gain of
# another machine (see bench/README.md for what it implies per added machine).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-10}
bin="$repo/build/http/quant-http"
[ -x "$bin" ] || { echo "no $bin: cmake --build build first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$repo"/data/ttrc_daily_ohlcv.csv "$work/"
chmod -R a+rX "$work"
chmod 755 "$work"
cfg='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"config": $cfg, "from_ts": "1997-01-01"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$work/half.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"config": $cfg, "from_ts": "1997-01-01"}'
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  if n % 2 == 0 then h["X-Quant-Consistency"] = "primary" end
  return wrk.format("POST", nil, h, wrk.body)
end
LUA
cat >"$work/run.sh" <<INNER
set -euo pipefail
cd "$work"
psql -X -q -c "CREATE EXTENSION quant" -c "SELECT quant.load_bars_csv('TTRC', '$work/ttrc_daily_ohlcv.csv')" >/dev/null
psql -X -q -c "VACUUM ANALYZE md.bar"
key=\$(psql -X -At -c "SELECT quant.create_api_key('bench')")
# the standby: pg_basebackup -R as the server's OS user, its own config (Debian keeps the
# primary's outside the data directory), the primary's pg_hba.conf
sbport=\$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/sb"; chown postgres: "$work/sb"
runuser -u postgres -- env PGPASSWORD="\$PGPASSWORD" pg_basebackup -h "\$PGHOST" -p "\$PGPORT" -U "\$PGUSER" \
  -D "$work/sb/data" -R -X stream -c fast
{ echo "port = \$sbport"; echo "listen_addresses = '127.0.0.1'"; echo "unix_socket_directories = '$work/sb'"
  for g in max_connections max_worker_processes max_wal_senders max_locks_per_transaction shared_buffers; do
    echo "\$g = '\$(psql -X -At -c "SHOW \$g")'"; done; } > "$work/sb/data/postgresql.conf"
cp "\$(psql -X -At -c 'SHOW hba_file')" "$work/sb/data/pg_hba.conf"
chown postgres: "$work/sb/data/postgresql.conf" "$work/sb/data/pg_hba.conf"
(cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$work/sb/data" -l "$work/sb/log" -w start >/dev/null)
trap '(cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$work/sb/data" -m fast -w stop >/dev/null)' EXIT
sburl="postgresql://\$PGUSER:\$PGPASSWORD@127.0.0.1:\$sbport/\$PGDATABASE?target_session_attrs=standby"
port=\$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
serve() {
  QUANT_HTTP_ADDR=127.0.0.1:\$port QUANT_HTTP_ACCESS_LOG=0 QUANT_HTTP_RATE=1000000 QUANT_HTTP_BURST=1000000 \
    QUANT_HTTP_METRICS_ADDR=off QUANT_HTTP_THREADS=16 QUANT_HTTP_DB_CONNECTIONS=\${QUANT_BENCH_DB_CONNECTIONS:-4} \
    QUANT_HTTP_STANDBY_CONNECTIONS=\${QUANT_BENCH_DB_CONNECTIONS:-4} "\$@" "$bin" 2>server.log &
  srv=\$!
  for _ in \$(seq 50); do curl -sf http://127.0.0.1:\$port/readyz >/dev/null && break; sleep 0.1; done
}
w() { wrk --latency -d${secs}s -H "Authorization: Bearer \$key" "\$@" | awk '/Requests\/sec/ {rps=\$2} /^ +50%/ {p50=\$2} /^ +99%/ {p99=\$2} /Non-2xx/ {bad=\$NF} END {printf "%s backtests/s, p50 %s, p99 %s%s\n", rps, p50, p99, bad ? ", NON-2XX " bad : ""}'; }
pool() { curl -s -o /dev/null -D - -X POST -H "Authorization: Bearer \$key" -H 'Content-Type: application/json' \
  -d '{"config": $cfg}' http://127.0.0.1:\$port/api/v1/backtest | tr -d '\r' | awk -F': ' 'tolower(\$1)=="x-quant-pool" {print \$2}'; }
url=http://127.0.0.1:\$port/api/v1/backtest
echo "== POST /api/v1/backtest (TTRC from 1997, Bollinger 20 AND RSI 14), 32 connections"
serve env
echo "0 standbys (pool \$(pool)):              \$(w -t2 -c32 -s post.lua \$url)"
kill -TERM \$srv; wait \$srv || true
serve env QUANT_HTTP_STANDBY_URL="\$sburl"
echo "1 standby, all to it (pool \$(pool)):     \$(w -t2 -c32 -s post.lua \$url)"
echo "1 standby, half pinned to the primary:   \$(w -t2 -c32 -s half.lua \$url)"
echo "== 1 connection (latency of one backtest)"
echo "1 standby:                               \$(w -t1 -c1 -s post.lua \$url)"
kill -TERM \$srv; wait \$srv || true
serve env
echo "0 standbys:                              \$(w -t1 -c1 -s post.lua \$url)"
kill -TERM \$srv; wait \$srv || true
INNER
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd /tmp && env -u DB_URL pg_virtualenv -t -o max_worker_processes=20 bash "$work/run.sh") 2>&1 |
    grep -v -E '^(Creating new PostgreSQL cluster|Dropping cluster)'
