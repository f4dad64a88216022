#!/usr/bin/env bash
# `make run`: start everything (after `make deps install`) and say how to use it.
# Safe to run again: a running cluster is left running, setup re-runs idempotently
# (ALTER EXTENSION quant UPDATE when it exists), running services are left alone.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
. "$here/lib.sh"

"$here/cluster.sh" start
"$here/cluster.sh" setup
"$here/build-ui.sh" || echo "[ui] the web UI was not built: the API still runs (see scripts/build-ui.sh)"
# the sample user demo gets a web UI login once (change it with quant.set_person_password)
demo_pw="${QUANT_DEMO_PASSWORD:-demo-password}"
"$here/cluster.sh" psql -X -q -At -c "SELECT CASE WHEN NOT EXISTS (SELECT FROM trade.person WHERE user_id = 'demo') THEN quant.set_person_password('demo', '$demo_pw') END" >/dev/null
"$here/cluster.sh" services

url="$(quant_db_url)"
cat <<MSG

quant is running.
  connection string (export it as DB_URL for other tools):
      $url
  web UI (log in as demo / $demo_pw unless that login existed before):
      http://127.0.0.1:8000/
  open psql:
      scripts/cluster.sh psql        (or: psql '$url')
  try:
      SELECT ticker, count(*) FROM md.bar GROUP BY 1;
      SELECT * FROM quant.indicator_series('TTRC','get_rsi',14) ORDER BY ts DESC LIMIT 5;
      SELECT jsonb_pretty(quant.backtest('{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0,"data_column":"v"}]}'));
  read scale-out: \`make run REPLICAS=1\` also starts a streaming standby (port QUANT_PGPORT+1);
      quant-http then answers research from it (docs/scale.md)
  status / stop:
      scripts/cluster.sh status
      make stop
MSG
