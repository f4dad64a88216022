#!/usr/bin/env bash
# A backtest reading two products vs one, through SQL (issue 11): `SELECT quant.backtest(...)` on
# ~2,500 bars of TTRC (from 1997-01-01) with two substrategies (Bollinger 20, RSI 14); in the
# two-product config the RSI reads FACTOR, a second product of as many bars (TTRC's bars scaled
# and perturbed, same dates), aligned exactly. pgbench, one client, warm bar cache, in a throw-away
# cluster. Prints the figures; bench/README.md records the latest ones.
#   bench/sql_backtest_products.sh [transactions]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-2000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$repo"/data/ttrc_daily_ohlcv.csv "$work/"
chmod -R a+rX "$work"
one='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
two='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70,"ticker":"FACTOR"}]}'
echo "SELECT quant.backtest('$one', 5.0, '1997-01-01');" > "$work/one.sql"
echo "SELECT quant.backtest('$two', 5.0, '1997-01-01');" > "$work/two.sql"
echo "SELECT count(*) FROM quant.backtest_series('$one', 5.0, '1997-01-01');" > "$work/one_series.sql"
echo "SELECT count(*) FROM quant.backtest_series('$two', 5.0, '1997-01-01');" > "$work/two_series.sql"
cat > "$work/run.sh" <<INNER
set -euo pipefail
psql -X -q -c "CREATE EXTENSION quant" -c "SELECT quant.load_bars_csv('TTRC', '$work/ttrc_daily_ohlcv.csv')" >/dev/null
psql -X -q -c "INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
  SELECT 'FACTOR', ts, open * 2, high * 2, low * 2, close * (2 + 0.01 * sin(extract(epoch FROM ts) / 86400)), volume
    FROM md.bar WHERE ticker = 'TTRC' AND ts >= '1997-01-01'" -c "VACUUM ANALYZE md.bar"
bars=\$(psql -X -At -c "SELECT string_agg(ticker || ' ' || n, ', ') FROM (SELECT ticker, count(*) n FROM md.bar WHERE ts >= '1997-01-01' GROUP BY 1 ORDER BY 1) s")
lat() { pgbench -n "\$@" 2>/dev/null | sed -n 's/^latency average = \(.*\) ms/\1/p'; }
echo "bars from 1997-01-01: \$bars"
for round in 1 2; do
  a=\$(lat -t $n -f $work/one.sql); b=\$(lat -t $n -f $work/two.sql)
  c=\$(lat -t $n -f $work/one_series.sql); d=\$(lat -t $n -f $work/two_series.sql)
  echo "round \$round: backtest one product \$a ms, two products \$b ms (ratio \$(echo "scale=2; \$b / \$a" | bc));" \
       "backtest_series one \$c ms, two \$d ms (ratio \$(echo "scale=2; \$d / \$c" | bc))"
done
INNER
pg_virtualenv -t bash "$work/run.sh"
