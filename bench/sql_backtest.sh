#!/usr/bin/env bash
# End-to-end SQL benchmark: `SELECT quant.backtest(...)` on ~2,500 bars of md.bar with two
# substrategies, through pgbench (one client, one statement per transaction), in a throw-away
# cluster. Prints the figures; bench/README.md records the latest ones.
#   bench/sql_backtest.sh [transactions]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$repo"/data/ttrc_daily_ohlcv.csv "$work/"
chmod -R a+rX "$work"
cfg='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
echo "SELECT quant.backtest('$cfg', 5.0, '1997-01-01');" > "$work/backtest.sql"
echo "SELECT 1;" > "$work/select1.sql"
echo "SELECT quant.sma(array_agg(close ORDER BY ts), 20) FROM md.bar WHERE ticker = 'TTRC' AND ts >= '1997-01-01';" > "$work/array_agg.sql"
echo "SELECT count(*) FROM quant.indicator_series('TTRC', 'get_sma', 20, 'v', '1997-01-01');" > "$work/series.sql"
cat > "$work/run.sh" <<INNER
set -euo pipefail
psql -X -q -c "CREATE EXTENSION quant" -c "SELECT quant.load_bars_csv('TTRC', '$work/ttrc_daily_ohlcv.csv')" >/dev/null
psql -X -q -c "VACUUM ANALYZE md.bar"
bars=\$(psql -X -At -c "SELECT count(*) FROM md.bar WHERE ticker = 'TTRC' AND ts >= '1997-01-01'")
lat() { pgbench -n "\$@" 2>/dev/null | sed -n 's/^latency average = \(.*\) ms/\1/p'; }
echo "bars per backtest: \$bars (TTRC from 1997-01-01), two substrategies (Bollinger 20, RSI 14)"
echo "SELECT 1 (protocol floor), ms:                    \$(lat -t $n -f $work/select1.sql)"
echo "SELECT quant.backtest(...), warm bar cache, ms:   \$(lat -t $n -f $work/backtest.sql)"
echo "indicator_series SMA 20 (rows out), ms:           \$(lat -t $n -f $work/series.sql)"
echo "quant.sma(array_agg(close ORDER BY ts)), ms:      \$(lat -t $n -f $work/array_agg.sql)"
c1=\$(lat -C -t 300 -f $work/select1.sql); c2=\$(lat -C -t 300 -f $work/backtest.sql)
echo "new connection per call: SELECT 1 \$c1 ms, backtest \$c2 ms (cold cache: bars read by SPI)"
INNER
pg_virtualenv -t bash "$work/run.sh"
