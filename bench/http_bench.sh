#!/usr/bin/env bash
# quant-http throughput and latency with wrk, against the same SQL called directly with pgbench,
# in a throw-away cluster (pg_virtualenv), on this machine's cores (2 in bench/README.md).
#   bench/http_bench.sh [seconds per run, default 10]
# Needs build/http/quant-http, the extension installed (make install) and wrk (apt-get install wrk).
# Prints the figures; bench/README.md records the latest ones.
#
# What is compared (each at 1 connection for the latency overhead, and at 32 for throughput):
#   GET  /api/v1/strategies/{id}   vs  SELECT quant.get_strategy(id)           (pgbench, quant_app)
#   POST /api/v1/backtest          vs  SELECT quant.backtest(config)          (pgbench, quant_app)
# pgbench runs as quant_app with quant.user set at connection start: the same role and row-level
# security as the server's connections, one statement per call. The server adds per request:
# HTTP parsing, BEGIN, authenticate_api_key + set_user + statement_timeout, COMMIT (one pipeline;
# the key check and the call are prepared statements of the pooled connection).
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
cfg='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"config": $cfg, "from_ts": "1997-01-01"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$work/pct.py" <<'PY'
import glob, sys
lat = sorted(int(l.split()[2]) for f in glob.glob(sys.argv[1] + "*") for l in open(f))
n = len(lat)
print(f"{n / float(sys.argv[2]):.0f} calls/s, p50 {lat[n // 2] / 1000:.3f} ms, p99 {lat[int(n * 0.99)] / 1000:.3f} ms")
PY
printf "SELECT quant.set_user('bench');\nSELECT quant.create_strategy('%s')->>'strategy_id';\n" "$cfg" > "$work/create.sql"
printf "SELECT quant.backtest('%s'::jsonb, from_ts => '1997-01-01');\n" "$cfg" > "$work/backtest.sql"
cat > "$work/run.sh" <<INNER
set -euo pipefail
cd "$work"
psql -X -q -c "CREATE EXTENSION quant" -c "SELECT quant.load_bars_csv('TTRC', '$work/ttrc_daily_ohlcv.csv')" >/dev/null
psql -X -q -c "VACUUM ANALYZE md.bar"
key=\$(psql -X -At -c "SELECT quant.create_api_key('bench')")
sid=\$(psql -X -At -f create.sql | tail -n1)
echo "SELECT quant.get_strategy('\$sid'::uuid);" > get.sql
port=\$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
QUANT_HTTP_ADDR=127.0.0.1:\$port QUANT_HTTP_ACCESS_LOG=0 QUANT_HTTP_RATE=1000000 QUANT_HTTP_BURST=1000000 \
  QUANT_HTTP_METRICS_ADDR=off QUANT_HTTP_THREADS=\${QUANT_BENCH_THREADS:-16} QUANT_HTTP_DB_CONNECTIONS=\${QUANT_BENCH_DB_CONNECTIONS:-4} "$bin" 2>server.log &
srv=\$!
for _ in \$(seq 50); do curl -sf http://127.0.0.1:\$port/readyz >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:\$port
auth="Authorization: Bearer \$key"
w() { wrk --latency -d${secs}s -H "\$auth" "\$@" | awk '/Requests\/sec/ {rps=\$2} /^ +50%/ {p50=\$2} /^ +99%/ {p99=\$2} /Non-2xx/ {bad=\$NF} END {printf "%s req/s, p50 %s, p99 %s%s\n", rps, p50, p99, bad ? ", NON-2XX " bad : ""}'; }
pg() { rm -f lat_*; PGOPTIONS="-c role=quant_app -c quant.user=bench" pgbench -n -M extended -l --log-prefix=lat_ -T $secs "\$@" >/dev/null 2>&1; python3 pct.py lat_ $secs; }
curl -sf -H "\$auth" \$url/api/v1/strategies/\$sid >/dev/null || { echo "GET failed"; cat server.log; exit 1; }
echo "== GET /api/v1/strategies/{id}"
echo "http    1 connection:   \$(w -t1 -c1 \$url/api/v1/strategies/\$sid)"
echo "direct  1 connection:   \$(pg -c1 -j1 -f get.sql)"
echo "http    32 connections: \$(w -t2 -c32 \$url/api/v1/strategies/\$sid)"
echo "direct  4 connections:  \$(pg -c4 -j2 -f get.sql)"
echo "== POST /api/v1/backtest (TTRC from 1997, Bollinger 20 AND RSI 14)"
echo "http    1 connection:   \$(w -t1 -c1 -s post.lua \$url/api/v1/backtest)"
echo "direct  1 connection:   \$(pg -c1 -j1 -f backtest.sql)"
echo "http    32 connections: \$(w -t2 -c32 -s post.lua \$url/api/v1/backtest)"
echo "direct  4 connections:  \$(pg -c4 -j2 -f backtest.sql)"
kill -TERM \$srv; wait \$srv
INNER
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd /tmp && env -u DB_URL pg_virtualenv -t -o max_worker_processes=20 bash "$work/run.sh") 2>&1 |
    grep -v -E '^(Creating new PostgreSQL cluster|Dropping cluster)'
