#!/usr/bin/env python3
"""Indicator underlyings through SQL (issue 11 part 3): strategies whose substrategies read another
product's bars.

1. every case of golden_cross.json through quant.backtest (MSFT traded, TTRC and the gapped
   TTRC_GAPPED as factor products), to 1e-9 relative (1e-12 absolute), NaN for null;
2. quant.backtest_series agrees with quant.backtest, and its indicator column of a factor
   substrategy is the indicator of that product's bars at the traded bars' times (an independent
   Python computation of SMA over the exact and the as-of aligned closes);
3. live parity: quant.evaluate_config's signal and the signal quant.run_deployment writes equal the
   backtest's last position;
4. quant.optimize and quant.walk_forward read the factor product: the best cell's config scores
   through quant.backtest what the search reported;
5. the errors: a factor product without bars, one under 80 % coverage, a bad align value;
6. EMA over NaN (quant.ema on an array) equals pandas' ewm(span=n, adjust=False) rule, written
   here from pandas' loop (old_wt/new_wt), on random gapped series.

TTRC_GAPPED is loaded inside the one transaction of this script, which is rolled back (the other
suites see the sample data unchanged). Last line: "N passed, N failed"; exit 1 on any failure.
"""
import csv
import json
import math
import os
import random
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

REPO = os.environ.get("QUANT_REPO") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("QUANT_DATA_DIR") or os.path.join(REPO, "data")
GOLDEN = os.path.join(REPO, "test", "golden", "golden_cross.json")
REL, ABS = 1e-9, 1e-12

T = quanttest.Tally()


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def num(v):
    if v is None or v == "":
        return math.nan
    return float(v)


def close(a, b):
    a, b = num(a), num(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= max(ABS, REL * max(abs(a), abs(b)))


def describe(cfg):
    return "%s %s [%s]" % (cfg["ticker"], cfg.get("conjunction", "AND"), ", ".join(
        "%s w=%s on %s" % (s["indicator"], s["window"], s.get("ticker", cfg["ticker"])) for s in cfg["substrategies"]))


def session(body):
    """body inside one transaction with TTRC_GAPPED loaded, rolled back."""
    path = os.path.join(DATA, "ttrc_gapped_2000_2001.csv")
    return quanttest.psql("BEGIN;\nSELECT quant.load_bars_csv('TTRC_GAPPED', %s) \\g /dev/null\n%s\nROLLBACK;\n"
                          % (lit(path), body))


def closes(path):
    with open(path) as f:
        return {r["date"]: float(r["close"]) for r in csv.DictReader(f)}


# ---- 1-3. golden cases, series agreement, live parity ----------------------------------------------
def golden_cases(cases):
    values = ",\n".join("(%d, %s::jsonb, %r::float8)" % (i, lit(json.dumps(c["config"])), float(c["fee_bps"]))
                        for i, c in enumerate(cases))
    rows = session("""
SELECT quant.set_user('golden_cross_user') \\g /dev/null
CREATE TEMP TABLE c (i int, cfg jsonb, fee float8);
INSERT INTO c VALUES %s;
CREATE TEMP TABLE bt AS SELECT i, cfg, quant.backtest(cfg, fee) - 'run_at' AS r FROM c;
CREATE TEMP TABLE ser AS
SELECT c.i, count(*) AS n, (array_agg(s.cumulative ORDER BY s.ts DESC))[1] AS last_cumu,
       (array_agg(s."position" ORDER BY s.ts DESC))[1] AS last_pos, max(s.drawdown) AS mdd
  FROM c, LATERAL quant.backtest_series(c.cfg, c.fee) s GROUP BY c.i;
CREATE TEMP TABLE dep AS
SELECT i, cfg, (quant.deploy(jsonb_build_object(
           'strategy_id', quant.create_strategy(cfg || jsonb_build_object('name', 'cross_' || i))->>'strategy_id',
           'broker', 'PAPER', 'ticker', cfg->>'ticker', 'market', 'US', 'qty', 1,
           'risk_limits', jsonb_build_object('max_bar_age_hours', null)))->>'deployment_id')::uuid AS did
  FROM c;
CREATE TEMP TABLE ran AS SELECT d.i, d.did, quant.run_deployment(d.did) AS r FROM dep d;
SELECT bt.i, bt.r, ser.n, ser.last_cumu, ser.last_pos, ser.mdd,
       quant.evaluate_config(bt.cfg)->>'signal', ran.r->>'outcome', s.signal
  FROM bt JOIN ser USING (i) JOIN ran USING (i) LEFT JOIN trade.signal s ON s.deployment_id = ran.did
 ORDER BY bt.i;
""" % values)
    seen = set()
    for line in rows:
        i, doc, n, last_cumu, last_pos, mdd, live, outcome, stored = line.split("\t")
        i = int(i)
        seen.add(i)
        c = cases[i]
        r = json.loads(doc)
        exp = c["expected"]
        label = "case %d (%s)" % (i, describe(c["config"]))
        diffs = []
        for k, v in exp["metrics"].items():
            have = r["metrics"].get(k, "<missing>")
            if have == "<missing>" or not close(have, v):
                diffs.append("%s have %r want %r" % (k, have, v))
        if not close(r.get("last_position"), exp["last_position"]):
            diffs.append("last_position have %r want %r" % (r.get("last_position"), exp["last_position"]))
        T.check(not diffs, "golden " + label, "; ".join(diffs))
        m = r["metrics"]
        series = [("bars", int(n), r["bars"]), ("last cumulative", last_cumu, m["total_return"]),
                  ("max drawdown", mdd, m["max_drawdown"]), ("last position", last_pos, r["last_position"])]
        bad = ["%s: series %r, backtest %r" % (w, a, b) for w, a, b in series if not close(a, b)]
        T.check(not bad, "backtest_series = backtest, " + label, "; ".join(bad))
        last = r["last_position"]
        ok = close(live, last)
        if last is not None:
            ok = ok and outcome == "SIGNAL" and close(stored, last)
        else:
            ok = ok and stored in ("", None)
        T.check(ok, "live signal = backtest last position, " + label,
                "evaluate_config %r, run_deployment %s stored %r, backtest last %r" % (live, outcome, stored, last))
    T.check(len(seen) == len(cases), "every golden case ran", "%d of %d" % (len(seen), len(cases)))


# ---- 2b. the aligned factor, computed apart -------------------------------------------------------
def sma(x, n):
    out = [math.nan] * len(x)
    for t in range(n - 1, len(x)):
        w = x[t - n + 1:t + 1]
        if not any(math.isnan(v) for v in w):
            out[t] = sum(w) / n
    return out


def aligned_factor():
    msft = closes(os.path.join(REPO, "data", "msft_2000_2001_ohlcv.csv"))
    gapped = closes(os.path.join(REPO, "data", "ttrc_gapped_2000_2001.csv"))
    dates = sorted(msft)
    exact = [gapped.get(d, math.nan) for d in dates]
    asof, last = [], math.nan
    for d in dates:  # the last bar at or before the date; the files share the first date
        last = gapped.get(d, last)
        asof.append(last)
    n = 5
    sql = ""
    for align in ("exact", "asof"):
        cfg = {"ticker": "MSFT", "trading_period": 252, "substrategies": [
            {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": n, "signal": 0,
             "ticker": "TTRC_GAPPED", "align": align}]}
        sql += ("SELECT %s, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'), indicator_values[1] "
                "FROM quant.backtest_series(%s::jsonb) ORDER BY ts;\n" % (lit(align), lit(json.dumps(cfg))))
    got = {"exact": {}, "asof": {}}
    for line in session(sql):
        align, d, v = line.split("\t")
        got[align][d] = v
    for align, x in (("exact", exact), ("asof", asof)):
        want = sma(x, n)
        bad = [(d, got[align].get(d), w) for d, w in zip(dates, want) if not close(got[align].get(d), w)]
        T.check(not bad and len(got[align]) == len(dates), "get_sma(5) of TTRC_GAPPED aligned %s = Python" % align,
                "%d bars differ, first %r" % (len(bad), bad[:3]))


# ---- 4. grid search and walk-forward --------------------------------------------------------------
def searches():
    cfg = {"ticker": "MSFT", "conjunction": "OR", "trading_period": 252, "substrategies": [
        {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 10, "signal": 0},
        {"indicator": "get_bollinger_band", "signal_func": "reversion_band_signal", "window": 15, "signal": 0.5,
         "ticker": "TTRC_GAPPED"}]}
    grid = [{"window": {"min": 5, "max": 30, "step": 5}}, {"window": {"min": 10, "max": 30, "step": 10},
                                                           "signal": {"min": 0.5, "max": 1.5, "step": 0.5}}]
    rows = session("""
CREATE TEMP TABLE o AS SELECT quant.optimize(%(cfg)s::jsonb, %(grid)s::jsonb, top_n => 1) AS r;
SELECT (r->'best'->'metrics')::text, (quant.backtest(r->'best'->'config', 5.0)->'metrics')::text,
       (r->'best'->'config'->'substrategies'->1->>'ticker') FROM o;
SELECT (quant.walk_forward(%(cfg)s::jsonb, %(grid)s::jsonb, split_ratio => 0.5))::text;
""" % {"cfg": lit(json.dumps(cfg)), "grid": lit(json.dumps(grid))})
    best, again, ticker = rows[0].split("\t")
    best, again = json.loads(best), json.loads(again)
    bad = [k for k in best if not close(best[k], again[k])]
    T.check(not bad and ticker == "TTRC_GAPPED", "optimize: the best cell's config (factor product kept) "
            "scores through quant.backtest what the search reported", "differ: %r, ticker %r" % (bad, ticker))
    wf = json.loads(rows[1])
    T.check("overfitting_ratio" in json.dumps(wf), "walk_forward over a factor product runs", rows[1][:300])


# ---- 5. errors ------------------------------------------------------------------------------------
def errors():
    def err(cfg, setup=""):
        sql = """%s
DO $$BEGIN PERFORM quant.backtest(%s::jsonb);
EXCEPTION WHEN OTHERS THEN DECLARE f text; m text; h text; s text;
BEGIN GET STACKED DIAGNOSTICS f = COLUMN_NAME, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT, s = RETURNED_SQLSTATE;
RAISE WARNING 'E|%%|%%|%%|%%', s, f, m, h; END; END$$;
""" % (setup, lit(json.dumps(cfg)))
        import subprocess
        proc = subprocess.run(quanttest.PSQL, input="BEGIN;\n" + sql + "ROLLBACK;\n", capture_output=True, text=True)
        for line in proc.stderr.splitlines():
            if "E|" in line:
                return line.split("E|", 1)[1].split("|")
        return None
    base = {"ticker": "MSFT", "trading_period": 252}
    sub = {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 5, "signal": 0}
    e = err(dict(base, substrategies=[dict(sub, ticker="NO_SUCH_PRODUCT")]))
    T.check(e is not None and e[1] == "substrategies[0].ticker" and "NO_SUCH_PRODUCT" in e[2],
            "a factor product without bars: an error naming the field and the product", repr(e))
    sparse = ("INSERT INTO md.bar (ticker, ts, close) SELECT 'SPARSE', ts, 1 + random() FROM md.bar "
              "WHERE ticker = 'MSFT' AND extract(dow FROM ts) IN (1, 2, 3);")  # 3 of 5 weekdays: ~60 %
    e = err(dict(base, substrategies=[sub, dict(sub, ticker="SPARSE")]), sparse)
    T.check(e is not None and e[1] == "substrategies[1].ticker" and "SPARSE" in e[2] and "MSFT" in e[2]
            and "%" in e[2], "a factor product under 80 % coverage: an error naming both products and the share",
            repr(e))
    e = err(dict(base, substrategies=[dict(sub, ticker="TTRC", align="nearest")]))
    T.check(e is not None and e[1] == "substrategies[0].align" and "exact" in e[3] and "asof" in e[3],
            "a bad align: an error naming the field and the valid values", repr(e))


# ---- 6. EMA over NaN against pandas' rule ---------------------------------------------------------
def pandas_ewm_mean(vals, span):
    """pandas/_libs/window/aggregations.pyx ewm, adjust=False, ignore_na=False, min_periods=0."""
    alpha = 1.0 / (1.0 + (span - 1) / 2.0)
    old_wt_factor, new_wt = 1.0 - alpha, alpha
    out = [math.nan] * len(vals)
    if not vals:
        return out
    weighted = vals[0]
    nobs = 0 if math.isnan(weighted) else 1
    out[0] = weighted if nobs else math.nan
    old_wt = 1.0
    for i in range(1, len(vals)):
        cur = vals[i]
        is_obs = not math.isnan(cur)
        nobs += is_obs
        if not math.isnan(weighted):
            old_wt *= old_wt_factor
            if is_obs:
                if weighted != cur:
                    weighted = (old_wt * weighted + new_wt * cur) / (old_wt + new_wt)
                old_wt = 1.0
        elif is_obs:
            weighted = cur
        out[i] = weighted if nobs else math.nan
    return out


def ema_over_nan():
    rng = random.Random(11)
    series = []
    for _ in range(40):
        n = rng.randint(1, 30)
        level, x = 100.0, []
        for _ in range(rng.randint(1, 200)):
            level *= 1 + rng.uniform(-0.03, 0.03)
            x.append(level if rng.random() > 0.15 else math.nan)
        series.append((n, x))
    sql = "".join("SELECT %d, quant.ema(ARRAY[%s]::float8[], %d);\n"
                  % (k, ",".join("'NaN'" if math.isnan(v) else repr(v) for v in x), n)
                  for k, (n, x) in enumerate(series))
    rows = quanttest.psql(sql)
    for line in rows:
        k, arr = line.split("\t")
        n, x = series[int(k)]
        got = [num(v) if v not in ("NULL", "NaN") else math.nan for v in arr.strip("{}").split(",")]
        want = pandas_ewm_mean(x, n)
        bad = [t for t in range(len(x)) if not close(got[t], want[t])]
        T.check(not bad and len(got) == len(x), "quant.ema over NaN = pandas ewm(adjust=False), series %s" % k,
                "bars %r differ" % bad[:5])


def main():
    with open(GOLDEN) as f:
        cases = json.load(f)["cases"]
    for part in (lambda: golden_cases(cases), aligned_factor, searches, errors, ema_over_nan):
        try:
            part()
        except Exception as e:  # a batch that cannot run at all counts as one failure
            T.check(False, "a batch ran", "ERROR: %s" % e)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
