#!/usr/bin/env bash
# Ingest of 1M minute bars (issue 11): quant.load_bars_csv(ticker, path, '1m') (server-side COPY,
# no row checks) and quant.upload_bars_csv(ticker, '1m', csv) (the REST upload's path: every row
# checked, all or nothing), each into an empty series, in a throw-away cluster with the installed
# extension. Prints bars/s; bench/README.md records the latest figures.
#   bench/sql_bar_ingest.sh [bars]
set -euo pipefail
n=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the CSV is written by the server (COPY TO): a sine-shaped close, high/low 0.1 % around it
cat > "$work/run.sh" <<INNER
set -euo pipefail
psql -X -q -c "CREATE EXTENSION quant" -c "SELECT quant.set_user('bench')" >/dev/null
psql -X -q -c "COPY (SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS date, c AS open, c * 1.001 AS high, c * 0.999 AS low, c AS close, 10 AS volume
                     FROM (SELECT timestamptz '2024-01-01 00:00+00' + make_interval(mins => i) AS ts,
                                  100 + 10 * sin(i / 5000.0) AS c FROM generate_series(0, $n - 1) i) s)
               TO '$work/bars.csv' WITH (FORMAT csv, HEADER true)"
chmod a+r "$work/bars.csv" || true
t() { local s=\$(date +%s.%N); "\$@" >/dev/null; echo "\$(date +%s.%N) - \$s" | bc; }
for round in 1 2; do
  psql -X -q -c "TRUNCATE md.bar" >/dev/null
  a=\$(t psql -X -q -c "SELECT quant.load_bars_csv('BENCH', '$work/bars.csv', '1m')")
  b=\$(t psql -X -q -c "SELECT quant.set_user('bench')" -c "SELECT quant.upload_bars_csv('BENCH2', '1m', pg_read_file('$work/bars.csv'))")
  echo "round \$round: $n minute bars: load_bars_csv \$a s (\$(echo "$n / \$a" | bc) bars/s), upload_bars_csv \$b s (\$(echo "$n / \$b" | bc) bars/s)"
done
psql -X -At -c "SELECT interval, count(*) FROM md.bar GROUP BY 1"
INNER
chmod -R a+rwX "$work"
pg_virtualenv -t bash "$work/run.sh"
