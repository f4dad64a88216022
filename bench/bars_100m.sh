#!/usr/bin/env bash
# Bars at scale (issue 17 part 3): quant.backtest of one product's 2,500 minute bars with md.bar
# holding ROWS bars (default 100M: 400 tickers x 250,000 minute bars, 2024-01-01 onwards) against
# the same backtest with md.bar holding 10,000 bars; both warm (the bar cache) and cold (a new
# connection per call: the bars read through the partitioned md.bar). Prints the figures and the
# plan of the bar read; bench/README.md and docs/scale.md record them.
#
# Needs a superuser connection (PG* variables) to a cluster you can fill: 100M bars take about
# 14 GB (check `df -h` first; a private cluster with fsync off, see /work/coord/private-pg.sh).
# Creates the databases quant_bars_big and quant_bars_small and drops them at the end (KEEP=1
# keeps them).
#   PGHOST=127.0.0.1 PGPORT=55570 PGUSER=root bench/bars_100m.sh [ROWS=100000000] [TRANSACTIONS=300]
set -euo pipefail
rows=${1:-100000000}
n=${2:-300}
tickers=400
per=$((rows / tickers))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cfg='{"ticker":"BT","interval":"1m","conjunction":"AND","trading_period":525600,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
echo "SELECT quant.backtest('$cfg', 5.0, '2024-01-01');" > "$work/backtest.sql"
echo "SELECT count(*) FROM quant.list_bars('BT', '1m', '2024-03-01', '2024-03-03', 10000);" > "$work/list.sql"

# the product: 2,500 minute bars from 2024-03-01 (a sine-shaped close)
bt_bars="INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
SELECT 'BT', '1m', ts, c, c * 1.001, c * 0.999, c, 10
  FROM (SELECT timestamptz '2024-03-01 00:00+00' + make_interval(mins => i) AS ts, 100 + 10 * sin(i / 50.0) AS c
          FROM generate_series(0, 2499) i) s"

make_db() { # make_db NAME
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
    psql -X -q -d "$1" -c "SET client_min_messages = warning" -c "CREATE EXTENSION quant CASCADE" \
        -c "SELECT md.create_bar_partitions('2024-01-01 00:00+00', '2024-06-30 00:00+00', '1m')" >/dev/null
}

make_db quant_bars_small
psql -X -q -d quant_bars_small -c "$bt_bars" -c "INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
SELECT 'S' || k, '1m', timestamptz '2024-01-01 00:00+00' + make_interval(mins => i), 100, 101, 99, 100, 10
  FROM generate_series(1, 3) k, generate_series(0, 2499) i" -c "VACUUM ANALYZE md.bar"

make_db quant_bars_big
start=$(date +%s)
# The bulk of the rows straight into each month's partition (as a bulk load would: the
# statement trigger that bumps md.bar_version is the parent's; md.bar_version is filled after),
# ordered by (ticker, ts) so the primary key grows in order. The server's backend is niced.
PGAPPNAME=quant_bars_gen psql -X -q -d quant_bars_big -v ON_ERROR_STOP=1 > "$work/gen.log" 2>&1 <<SQL &
SELECT md.create_bar_partitions('2024-01-01 00:00+00', timestamptz '2024-01-01 00:00+00' + make_interval(mins => $per), '1m');
SELECT format(\$\$INSERT INTO %s SELECT 'T' || lpad(k::text, 4, '0'), ts, c, c * 1.001, c * 0.999, c, 10, '1m'
  FROM generate_series(1, $tickers) k,
       LATERAL (SELECT ts, 100 + 10 * sin(extract(epoch FROM ts) / 30000 + k) AS c
                  FROM generate_series(greatest(%L::timestamptz, '2024-01-01 00:00+00'),
                                       least(%L::timestamptz, timestamptz '2024-01-01 00:00+00' + make_interval(mins => $per)) - interval '1 minute',
                                       interval '1 minute') ts) s
\$\$, p.relid::regclass, lo, hi) AS stmt
  FROM (SELECT t.relid, split_part(pg_get_expr(c.relpartbound, c.oid), '''', 2) AS lo,
               split_part(pg_get_expr(c.relpartbound, c.oid), '''', 4) AS hi
          FROM pg_partition_tree('md.bar_1m') t JOIN pg_class c ON c.oid = t.relid
         WHERE t.isleaf AND pg_get_expr(c.relpartbound, c.oid) LIKE 'FOR VALUES FROM%') p
 WHERE lo::timestamptz < timestamptz '2024-01-01 00:00+00' + make_interval(mins => $per)
   AND hi::timestamptz > '2024-01-01 00:00+00'
 ORDER BY lo \gexec
INSERT INTO md.bar_version (ticker, interval) SELECT 'T' || lpad(k::text, 4, '0'), '1m' FROM generate_series(1, $tickers) k;
SQL
gen=$!
sleep 2
for pid in $(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'quant_bars_gen'"); do
    renice -n 15 -p "$pid" >/dev/null || true
done
wait $gen || { cat "$work/gen.log"; exit 1; }
psql -X -q -d quant_bars_big -c "$bt_bars" -c "VACUUM ANALYZE md.bar"
echo "generated: $(psql -X -At -d quant_bars_big -c "SELECT count(*) FROM md.bar") bars in $(( $(date +%s) - start )) s," \
     "$(psql -X -At -d quant_bars_big -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('md.bar')")"
echo "partitions: $(psql -X -At -d quant_bars_big -c "SELECT string_agg(relid::regclass::text || '=' || (SELECT reltuples::bigint FROM pg_class WHERE oid = relid), ' ' ORDER BY relid::text) FROM pg_partition_tree('md.bar_1m') WHERE isleaf")"

# the mean latency of the transactions after each client's first (pgbench -l): the first call of a
# warm series is the connection's cold one (its bar cache is empty), and at 300 calls its ~50 ms
# would add ~0.17 ms to the mean of the 100M-row database (issue 17's 1.3-1.8x "warm" ratios)
lat() {
    rm -f "$work"/lat_*
    (cd "$work" && pgbench -n -l --log-prefix=lat_ "$@" >/dev/null 2>&1)
    cat "$work"/lat_* | awk '$2 > 0 {s += $3; n++} END {printf "%.3f", s / n / 1000}'
}
# the mean latency of every transaction (a new connection each: all cold)
lat_all() { pgbench -n "$@" 2>/dev/null | sed -n 's/^latency average = \(.*\) ms/\1/p'; }
for db in quant_bars_small quant_bars_big; do
    total=$(psql -X -At -d $db -c "SELECT count(*) FROM md.bar")
    bars=$(psql -X -At -d $db -c "SELECT count(*) FROM md.bar WHERE ticker = 'BT' AND interval = '1m'")
    warm=$(lat -d $db -t "$n" -f "$work/backtest.sql")
    cold=$(lat_all -d $db -C -t "$n" -f "$work/backtest.sql")
    list=$(lat -d $db -t "$n" -f "$work/list.sql")
    echo "$db: md.bar $total rows; backtest of BT ($bars bars): warm $warm ms, cold (new connection) $cold ms; list_bars 2 days $list ms"
done
echo "plan of the bar cache's read (quant_bars_big):"
psql -X -At -d quant_bars_big -c "PREPARE r(text, text) AS SELECT ts, open, high, low, close, volume FROM md.bar WHERE ticker = \$1 AND interval = \$2 ORDER BY ts" \
    -c "SET plan_cache_mode = force_generic_plan" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE r('BT', '1m')"
if [ "${KEEP:-0}" != 1 ]; then
    psql -X -q -d postgres -c "DROP DATABASE quant_bars_big WITH (FORCE)" -c "DROP DATABASE quant_bars_small WITH (FORCE)"
fi
