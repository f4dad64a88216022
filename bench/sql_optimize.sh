#!/usr/bin/env bash
# End-to-end SQL benchmark of the grid search: `SELECT quant.optimize(...)` on the
# 2,516 TTRC bars from 1997-01-01 of md.bar, fee 5 bps, objective sharpe_ratio, top 10, with
# threads => 1 and threads => 2, through pgbench (one client, one statement per transaction), in
# a throw-away cluster. The same two searches as bench_optimize:
#   10,000 cells, one substrategy (Bollinger windows 10..109 x signals 0.02..2.00 step 0.02),
#     target <= 50 ms;
#   131,769 cells, two substrategies AND (Bollinger windows 10..170 step 5 x signals 0.25..2.75
#     step 0.25, RSI windows 5..37 x signals 50..100 step 5), target <= 2 s.
# Prints the figures; bench/README.md records the latest ones.
#   bench/sql_optimize.sh [transactions for the small grid] [transactions for the large grid]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n_small=${1:-20}
n_large=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$repo"/data/ttrc_daily_ohlcv.csv "$work/"
chmod -R a+rX "$work"
cfg1='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0}]}'
grid1='[{"window":{"min":10,"max":109,"step":1},"signal":{"min":0.02,"max":2.0,"step":0.02}}]'
cfg2='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
grid2='[{"window":{"min":10,"max":170,"step":5},"signal":{"min":0.25,"max":2.75,"step":0.25}},{"window":{"min":5,"max":37,"step":1},"signal":{"min":50,"max":100,"step":5}}]'
for t in 1 2; do
    echo "SELECT quant.optimize('$cfg1', '$grid1', 5.0, '1997-01-01', threads => $t);" > "$work/small_$t.sql"
    echo "SELECT quant.optimize('$cfg2', '$grid2', 5.0, '1997-01-01', threads => $t);" > "$work/large_$t.sql"
done
echo "SELECT quant.backtest('$cfg1', 5.0, '1997-01-01');" > "$work/backtest.sql"
echo "SELECT quant.optimize('$cfg1', '$grid1', 5.0, '1997-01-01')->>'grid_size';" > "$work/cells1.sql"
echo "SELECT quant.optimize('$cfg2', '$grid2', 5.0, '1997-01-01')->>'grid_size';" > "$work/cells2.sql"
cat > "$work/run.sh" <<INNER
set -euo pipefail
psql -X -q -c "CREATE EXTENSION quant" -c "SELECT quant.load_bars_csv('TTRC', '$work/ttrc_daily_ohlcv.csv')" >/dev/null
psql -X -q -c "VACUUM ANALYZE md.bar"
bars=\$(psql -X -At -c "SELECT count(*) FROM md.bar WHERE ticker = 'TTRC' AND ts >= '1997-01-01'")
cells1=\$(psql -X -At -f $work/cells1.sql)
cells2=\$(psql -X -At -f $work/cells2.sql)
lat() { pgbench -n "\$@" 2>/dev/null | sed -n 's/^latency average = \(.*\) ms/\1/p'; }
echo "bars: \$bars (TTRC from 1997-01-01); nproc \$(nproc); load average \$(cut -d' ' -f1-3 /proc/loadavg)"
echo "one backtest (1 sub, Bollinger 20), ms:                   \$(lat -t 500 -f $work/backtest.sql)"
for t in 1 2; do
    echo "optimize \$cells1 cells, 1 sub, threads \$t, ms:           \$(lat -t $n_small -f $work/small_\$t.sql)"
done
for t in 1 2; do
    echo "optimize \$cells2 cells, 2 subs AND, threads \$t, ms:      \$(lat -t $n_large -f $work/large_\$t.sql)"
done
INNER
pg_virtualenv -t bash "$work/run.sh"
