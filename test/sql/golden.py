#!/usr/bin/env python3
"""Golden tests through SQL: the numbers of the original engine (test/golden/) reproduced by the
quant extension, to 1e-9 relative (1e-12 absolute near zero), NaN for NaN (JSON null).

1. every case of golden_backtests.json through quant.backtest(config, fee_bps);
2. every value of golden_indicators.csv through quant.indicator_series('TTRC', indicator, window);
3. quant.backtest_series agrees with quant.backtest for every golden config.

Each compared case (a backtest, an indicator value, a series/backtest pair) is one test. One psql
call per batch. Uses the database of PG* (the test cluster, with TTRC and MSFT loaded).
Last line: "N passed, N failed"; exit status 1 on any failure.
"""
import csv
import json
import math
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

REPO = os.environ.get("QUANT_REPO") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(REPO, "test", "golden")
TICKERS = {"ttrc_daily_ohlcv.csv": "TTRC", "msft_2000_2001_ohlcv.csv": "MSFT"}
INDICATORS = {"sma": "get_sma", "ema": "get_ema", "rsi": "get_rsi", "bollinger": "get_bollinger_band",
              "stochastic": "get_stochastic_oscillator"}
WINDOWS = (5, 14, 20)
REL, ABS = 1e-9, 1e-12
MAX_SHOWN = 30  # failure details printed per section

T = quanttest.Tally()


psql = quanttest.psql


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def num(v):
    """A JSON/SQL value as a float, NaN for null/empty."""
    if v is None or v == "":
        return math.nan
    return float(v)


def close(a, b):
    a, b = num(a), num(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= max(ABS, REL * max(abs(a), abs(b)))


def report(ok, label, details, shown):
    """One test; at most MAX_SHOWN failures of a section are printed."""
    T.check(ok, label, details, quiet=shown >= MAX_SHOWN)
    if ok:
        return shown
    if shown == MAX_SHOWN:
        print("... (more failures not shown)")
    return shown + 1


def describe(cfg):
    subs = ", ".join("%s/%s w=%s s=%s" % (s["indicator"], s["signal_func"], s["window"], s["signal"])
                     for s in cfg["substrategies"])
    return "%s %s [%s]" % (cfg["ticker"], cfg.get("conjunction", "AND"), subs)


def load_cases():
    with open(os.path.join(GOLDEN, "golden_backtests.json")) as f:
        cases = json.load(f)["cases"]
    for c in cases:
        ticker = TICKERS[c["data"]]
        if c["config"].get("ticker") != ticker:
            raise RuntimeError("case config ticker %r does not match data file %s" % (c["config"].get("ticker"), c["data"]))
    return cases


def values_sql(cases):
    return ",\n".join("(%d, %s::jsonb, %r::float8)" % (i, lit(json.dumps(c["config"])), float(c["fee_bps"]))
                      for i, c in enumerate(cases))


# ---- 1. golden backtests -------------------------------------------------------------------------
def golden_backtests(cases):
    sql = ("SELECT c.i, quant.backtest(c.cfg, c.fee) - 'run_at' FROM (VALUES\n%s\n) AS c(i, cfg, fee) ORDER BY c.i;\n"
           % values_sql(cases))
    got = {}
    for line in psql(sql):
        i, doc = line.split("\t", 1)
        got[int(i)] = json.loads(doc)
    shown = 0
    results = {}
    for i, c in enumerate(cases):
        exp = c["expected"]
        r = got.get(i)
        results[i] = r
        label = "backtest case %d (%s, fee %s)" % (i, describe(c["config"]), c["fee_bps"])
        if r is None:
            shown = report(False, label, "no result", shown)
            continue
        diffs = []
        for group in ("metrics", "buy_hold_metrics"):
            for k, v in exp[group].items():
                have = (r.get(group) or {}).get(k, "<missing>")
                if have == "<missing>" or not close(have, v):
                    diffs.append("%s.%s have %r want %r" % (group, k, have, v))
        for k in ("last_position", "bars", "position_changes"):
            if k in exp and not close(r.get(k), exp[k]):
                diffs.append("%s have %r want %r" % (k, r.get(k), exp[k]))
        if r.get("ticker_backtested") != c["config"]["ticker"]:
            diffs.append("ticker_backtested have %r" % r.get("ticker_backtested"))
        if not close(r.get("fee_bps"), c["fee_bps"]):
            diffs.append("fee_bps have %r want %r" % (r.get("fee_bps"), c["fee_bps"]))
        shown = report(not diffs, label, "; ".join(diffs), shown)
    return results


# ---- 2. golden indicators ------------------------------------------------------------------------
def golden_indicators():
    with open(os.path.join(GOLDEN, "golden_indicators.csv")) as f:
        rows = list(csv.DictReader(f))
    parts = ["SELECT 'close', 0, (row_number() OVER (ORDER BY ts) - 1), close FROM md.bar WHERE ticker = 'TTRC'"]
    for short, name in INDICATORS.items():
        for w in WINDOWS:
            parts.append("SELECT %s, %d, (row_number() OVER (ORDER BY ts) - 1), value "
                         "FROM quant.indicator_series('TTRC', %s, %d)" % (lit(short), w, lit(name), w))
    sql = "SELECT * FROM (\n" + "\nUNION ALL\n".join(parts) + "\n) s ORDER BY 1, 2, 3;\n"
    got = {}
    for line in psql(sql):
        short, w, bar, value = line.split("\t")
        got[(short, int(w), int(bar))] = value
    shown = 0
    for row in rows:
        bar = int(row["bar"])
        have = got.get(("close", 0, bar), "<missing>")
        shown = report(have != "<missing>" and close(have, row["close"]),
                       "TTRC close at bar %d" % bar, "have %r want %r" % (have, row["close"]), shown)
        for short, name in INDICATORS.items():
            for w in WINDOWS:
                col = "%s_%d" % (short, w)
                want = row[col]
                have = got.get((short, w, bar), "<missing>")
                ok = have != "<missing>" and close(have, want)
                shown = report(ok, "indicator_series(TTRC, %s, %d) bar %d" % (name, w, bar),
                               "have %r want %r" % (have or "NULL", want or "NaN"), shown)
    extra = len([k for k in got if k[2] >= len(rows)])
    shown = report(extra == 0 and len(rows) == 5550, "indicator row counts",
                   "%d golden rows, %d extra SQL rows" % (len(rows), extra), shown)


# ---- 3. backtest_series agrees with backtest ------------------------------------------------------
def series_agreement(cases, results):
    sql = """
SELECT c.i, count(*), sum(s.pnl),
       (array_agg(s.cumulative ORDER BY s.ts DESC))[1],
       max(s.drawdown),
       (array_agg(s.buy_hold_cumulative ORDER BY s.ts DESC))[1],
       max(s.buy_hold_drawdown),
       (array_agg(s."position" ORDER BY s.ts DESC))[1],
       sum(abs(s."position" - s.prev)),
       count(*) FILTER (WHERE cardinality(s.indicator_values) <> jsonb_array_length(c.cfg->'substrategies'))
  FROM (VALUES
%s
) AS c(i, cfg, fee),
LATERAL (SELECT b.*, lag(b."position") OVER (ORDER BY b.ts) AS prev FROM quant.backtest_series(c.cfg, c.fee) b) s
 GROUP BY c.i ORDER BY c.i;
""" % values_sql(cases)
    got = {}
    for line in psql(sql):
        f = line.split("\t")
        got[int(f[0])] = f[1:]
    shown = 0
    for i, c in enumerate(cases):
        r = results.get(i)
        g = got.get(i)
        label = "backtest_series vs backtest, case %d (%s)" % (i, describe(c["config"]))
        if r is None or g is None:
            shown = report(False, label, "missing result", shown)
            continue
        n, sum_pnl, last_cumu, mdd, last_bh, bh_mdd, last_pos, changes, bad_arrays = g
        m, bh = r["metrics"], r["buy_hold_metrics"]
        checks = [
            ("bars", int(n), r["bars"]),
            ("sum(pnl) = total_return", sum_pnl, m["total_return"]),
            ("last cumulative = total_return", last_cumu, m["total_return"]),
            ("max(drawdown) = max_drawdown", mdd, m["max_drawdown"]),
            ("last buy_hold_cumulative = buy_hold total_return", last_bh, bh["total_return"]),
            ("max(buy_hold_drawdown) = buy_hold max_drawdown", bh_mdd, bh["max_drawdown"]),
            ("sum |position change| = position_changes", changes or 0, r["position_changes"]),
            ("per-substrategy arrays", int(bad_arrays), 0),
        ]
        if int(c["config"].get("fill_delay_bars", 0)) == 0:
            checks.append(("last position = last_position", last_pos, r["last_position"]))
        diffs = ["%s: series %r, backtest %r" % (what, a, b) for what, a, b in checks if not close(a, b)]
        shown = report(not diffs, label, "; ".join(diffs), shown)


def main():
    try:
        cases = load_cases()
        results = golden_backtests(cases)
        golden_indicators()
        series_agreement(cases, results)
    except Exception as e:  # a batch that cannot run at all counts as one failure
        T.check(False, "the batch ran", "ERROR: %s" % e)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
