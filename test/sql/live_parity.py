#!/usr/bin/env python3
"""Backtest/live parity (issue 4): for every golden config, the signal the live loop writes
(quant.deploy + quant.run_deployment -> trade.signal) equals the last position of
quant.backtest over the same bars, and the golden file's own last_position.

Each config is deployed on PAPER for a test user with max_bar_age_hours null (the sample bars are
historical), run once through the schedule's code path, and compared. Everything runs in one
transaction that is rolled back. Last line: "N passed, N failed"; exit 1 on any failure.
"""
import json
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

REPO = os.environ.get("QUANT_REPO") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TICKERS = {"ttrc_daily_ohlcv.csv": "TTRC", "msft_2000_2001_ohlcv.csv": "MSFT"}


psql = quanttest.psql


def main():
    with open(os.path.join(REPO, "test", "golden", "golden_backtests.json")) as f:
        cases = json.load(f)["cases"]
    seen, configs = set(), []
    for c in cases:  # the live signal does not depend on the fee: one run per distinct config
        key = json.dumps(c["config"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            configs.append((c["config"], c["expected"]["last_position"]))
    values = ",\n".join("(%d, %s::jsonb)" % (i, "'" + json.dumps(cfg).replace("'", "''") + "'")
                        for i, (cfg, _) in enumerate(configs))
    rows = psql("""
BEGIN;
SELECT quant.set_user('live_parity_user') \\g /dev/null
CREATE TEMP TABLE cfg (i int, config jsonb);
INSERT INTO cfg VALUES %s;
CREATE TEMP TABLE dep AS
SELECT i, config, (quant.deploy(jsonb_build_object(
           'strategy_id', quant.create_strategy(config || jsonb_build_object('name', 'parity_' || i))->>'strategy_id',
           'broker', 'PAPER', 'ticker', config->>'ticker', 'market', 'US', 'qty', 1,
           'risk_limits', jsonb_build_object('max_bar_age_hours', null)))->>'deployment_id')::uuid AS did
  FROM cfg;
CREATE TEMP TABLE ran AS SELECT d.i, d.did, d.config, quant.run_deployment(d.did) AS r FROM dep d;
SELECT ran.i, r->>'outcome', r->>'signal', s.signal, quant.backtest(ran.config, 0)->>'last_position'
  FROM ran LEFT JOIN trade.signal s ON s.deployment_id = ran.did
 ORDER BY ran.i;
ROLLBACK;
""" % values)
    T = quanttest.Tally()
    for line in rows:
        i, outcome, returned, stored, backtest_last = line.split("\t")
        cfg, golden_last = configs[int(i)]
        label = "%s %s" % (cfg["ticker"], json.dumps(cfg["substrategies"]))
        ok = (outcome == "SIGNAL" and stored != "" and float(stored) == float(backtest_last)
              and float(stored) == float(golden_last) and float(returned) == float(stored))
        T.check(ok, label, "outcome %s, live %s (returned %s), backtest last %s, golden last %s"
                % (outcome, stored, returned, backtest_last, golden_last))
    for _ in range(len(configs) - T.passed - T.failed):
        T.check(False, "a config gave no row")
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
