#!/usr/bin/env python3
"""quant.walk_forward equals an independent computation of its definition (issue 5,
backtest-semantics.md "Walk-forward") on the sample data.

Per case (one and two substrategies, AND and OR, TTRC and MSFT, fee 0 and 5, split ratios 0.3 to
0.7, full history and from_ts/to_ts ranges):
- the bars of the range are listed (md.bar, ordered by ts): N bars, split s = floor(N*split_ratio);
- warmup "restart": in-sample = quant.backtest over bars [0, s) (from_ts/to_ts = the bars' own
  timestamps), out-of-sample = quant.backtest over [s, N); the best cell = the highest in-sample
  Sharpe over the grid (NaN never wins, ties to the earlier cell in grid order), found by brute
  force in ONE query; compared: best_window, best_signal (substrategy 1), every substrategy's
  parameters, is_sharpe, oos_sharpe, overfitting_ratio = 1 - oos/is (null when is is 0 or NaN),
  in- and out-of-sample metrics and buy-and-hold metrics, bars, data ranges, split_index,
  grid_size/evaluated/valid;
- warmup "full": the in-sample part equals restart's; the out-of-sample metrics equal metrics
  recomputed here from quant.backtest_series(best config over the whole range): pnl over rows
  t >= s, cumulative sum from 0 at s, mean/std (ddof 1) over those rows skipping NULL, sharpe =
  mean/std*sqrt(trading_period), max_drawdown = max(running max of cumulative - cumulative),
  calmar = annualized/max_drawdown; buy and hold likewise from bh[t] = price[t]/price[t-1]-1 where
  position[t-1] is defined.

Values to 1e-9 relative (1e-12 absolute), NaN <-> null. Each check is one test. Uses the database
of PG* (the test cluster, TTRC and MSFT loaded). Last line: "N passed, N failed"; exit status 1 on
any failure.
"""
import json
import math
import os
import sys
from decimal import Decimal
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

REL, ABS = 1e-9, 1e-12
METRICS = ("total_return", "annualized_return", "sharpe_ratio", "max_drawdown", "calmar_ratio")

T = quanttest.Tally()
check = T.check


def psql(sql):
    return quanttest.psql(sql, prelude="SET client_min_messages = warning;\nSET TimeZone = 'UTC';\n")


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return False
    return a == b or abs(a - b) <= max(ABS, REL * max(abs(a), abs(b)))


def metrics_diff(got, want):
    if got is None or want is None:
        return [] if got is None and want is None else ["metrics object missing"]
    return ["%s: got %r, want %r" % (k, got.get(k), want.get(k)) for k in METRICS
            if k not in got or not close(got.get(k), want.get(k))]


def jsonb_sql(v):
    return "$j$%s$j$::jsonb" % json.dumps(v)


def ts_sql(v):
    return "NULL::timestamptz" if v is None else "'%s'::timestamptz" % v


# ---- the grid (lists only here; ranges are optimize_bruteforce.py's) -----------------------------
def cells_of(cfg, grid):
    per_sub = []
    for s, e in zip(cfg["substrategies"], grid):
        ws = e.get("window", [s["window"]])
        ss = e.get("signal", [s["signal"]])
        per_sub.append([(w, Decimal(repr(x))) for w in ws for x in ss])
    cells = [[]]
    for pairs in per_sub:
        cells = [c + [p] for c in cells for p in pairs]
    return cells


def cell_config_sql(cfg, k):
    expr = jsonb_sql(cfg)
    for j in range(k):
        expr = "jsonb_set(jsonb_set(%s, '{substrategies,%d,window}', to_jsonb(c.w%d)), " \
               "'{substrategies,%d,signal}', to_jsonb(c.s%d))" % (expr, j, j, j, j)
    return expr


def backtest_cells(cfg, cells, fee, from_ts, to_ts):
    """ONE query: quant.backtest of every cell over [from_ts, to_ts]; BacktestResults in grid order."""
    k = len(cfg["substrategies"])
    rows = ",\n".join("(%d, %s)" % (i, ", ".join("%d::int, %s::numeric" % (w, s) for w, s in cell))
                      for i, cell in enumerate(cells))
    cols = ", ".join("w%d, s%d" % (j, j) for j in range(k))
    sql = "SELECT c.idx, quant.backtest(%s, %r::float8, %s, %s) FROM (VALUES %s) AS c(idx, %s) ORDER BY c.idx;" % (
        cell_config_sql(cfg, k), float(fee), ts_sql(from_ts), ts_sql(to_ts), rows, cols)
    out = []
    for line in psql(sql):
        idx, js = line.split("\t", 1)
        assert int(idx) == len(out)
        out.append(json.loads(js))
    return out


def with_cell(cfg, cell):
    out = json.loads(json.dumps(cfg))
    for s, (w, x) in zip(out["substrategies"], cell):
        s["window"] = w
        s["signal"] = float(x)
    return out


def tail_metrics(values, trading_period):
    """The metrics of one pnl series scored from its first row: cumulative from 0, NULL skipped."""
    nan = float("nan")
    xs = [v for v in values if v is not None]
    cum, peak, mdd, total = 0.0, None, None, None
    for v in values:
        if v is None:
            continue
        cum += v
        total = cum
        peak = cum if peak is None else max(peak, cum)
        mdd = (peak - cum) if mdd is None else max(mdd, peak - cum)
    n = len(xs)
    mean = sum(xs) / n if n else nan
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else nan
    ann = mean * trading_period
    sharpe = mean / std * math.sqrt(trading_period) if std and not math.isnan(std) else nan
    mdd = nan if mdd is None else mdd
    calmar = ann / mdd if mdd and not math.isnan(mdd) else nan

    def j(x):
        return None if x is None or math.isnan(x) else x
    return {"total_return": j(total), "annualized_return": j(ann), "sharpe_ratio": j(sharpe),
            "max_drawdown": j(mdd), "calmar_ratio": j(calmar)}


def walk_forward(case, warmup, threads=0):
    sql = "SELECT quant.walk_forward(%s, %s, split_ratio => %r, fee_bps => %r, from_ts => %s, to_ts => %s, " \
          "warmup => '%s', threads => %d);" % (
              jsonb_sql(case["config"]), jsonb_sql(case["grid"]), case["split"], float(case["fee"]),
              ts_sql(case.get("from")), ts_sql(case.get("to")), warmup, threads)
    return json.loads(psql(sql)[0])


def sub(i, indicator, signal_func, window, signal):
    return {"id": i, "indicator": indicator, "signal_func": signal_func, "window": window, "signal": signal,
            "data_column": "v"}


def config(ticker, conjunction, *subs):
    return {"ticker": ticker, "conjunction": conjunction, "trading_period": 252, "substrategies": list(subs)}


CASES = [
    {"name": "TTRC Bollinger momentum, split 0.5, fee 5",
     "config": config("TTRC", "AND", sub(1, "get_bollinger_band", "momentum_band_signal", 20, 1.0)),
     "grid": [{"window": [10, 20, 30, 50], "signal": [0.5, 1.0, 1.5, 2.0]}], "split": 0.5, "fee": 5},
    {"name": "TTRC Bollinger AND RSI from 1997, split 0.7, fee 5",
     "config": config("TTRC", "AND", sub(1, "get_bollinger_band", "momentum_band_signal", 20, 1.0),
                      sub(2, "get_rsi", "momentum_bounded_signal", 14, 70)),
     "grid": [{"window": [10, 20, 30], "signal": [0.5, 1.0, 1.5]}, {"window": [7, 14], "signal": [60, 70, 80]}],
     "split": 0.7, "fee": 5, "from": "1997-01-01"},
    {"name": "MSFT RSI reversion bounded (NaN cells), split 0.6, fee 0",
     "config": config("MSFT", "AND", sub(1, "get_rsi", "reversion_bounded_signal", 14, 70)),
     "grid": [{"window": [5, 9, 14], "signal": [60, 70, 80, 100]}], "split": 0.6, "fee": 0},
    {"name": "TTRC SMA distance OR stochastic, 1990..1999, split 0.3, fee 5",
     "config": config("TTRC", "OR", sub(1, "get_sma_distance", "reversion_band_signal", 20, 0.05),
                      sub(2, "get_stochastic_oscillator", "momentum_bounded_signal", 14, 80)),
     "grid": [{"window": [10, 20], "signal": [0.02, 0.05]}, {"window": [5, 14], "signal": [70, 90]}],
     "split": 0.3, "fee": 5, "from": "1990-01-01", "to": "1999-12-31"},
    {"name": "MSFT EMA distance long-only, split 0.45, fee 5",
     "config": config("MSFT", "AND", sub(1, "get_ema_distance", "momentum_band_signal_long_only", 10, 0.0)),
     "grid": [{"window": [5, 10, 20], "signal": [0.0, 0.01, 0.02]}], "split": 0.45, "fee": 5},
]


def run_case(case):
    name = case["name"]
    cfg = case["config"]
    tp = cfg["trading_period"]
    ticker = cfg["ticker"]
    where = "ticker = '%s'" % ticker
    if case.get("from"):
        where += " AND ts >= '%s'" % case["from"]
    if case.get("to"):
        where += " AND ts <= '%s'" % case["to"]
    ts = psql("SELECT ts FROM md.bar WHERE %s ORDER BY ts;" % where)
    n = len(ts)
    s = math.floor(n * case["split"])
    cells = cells_of(cfg, case["grid"])

    # in-sample brute force: bars [0, s)
    is_runs = backtest_cells(cfg, cells, case["fee"], ts[0], ts[s - 1])
    sharpe = [r["metrics"]["sharpe_ratio"] for r in is_runs]
    valid = [i for i, v in enumerate(sharpe) if v is not None]
    b = sorted(valid, key=lambda i: (-sharpe[i], i))[0]
    best_cfg = with_cell(cfg, cells[b])
    want_is = is_runs[b]
    # out-of-sample, restart: bars [s, N)
    want_oos = json.loads(psql("SELECT quant.backtest(%s, %r::float8, '%s', '%s');" % (
        jsonb_sql(best_cfg), float(case["fee"]), ts[s], ts[n - 1]))[0])
    bars_is = [r["bars"] for r in is_runs[:1]]
    check(bars_is == [s] and want_oos["bars"] == n - s,
          name + ": the slices hold s = floor(N*split) = %d and N-s = %d bars" % (s, n - s),
          "%r %r" % (bars_is, want_oos["bars"]))

    def ratio(is_, oos):
        if is_ is None or oos is None or is_ == 0:
            return None
        return 1 - oos / is_

    want_wf = {"best_window": cells[b][0][0], "best_signal": float(cells[b][0][1]),
               "is_sharpe": want_is["metrics"]["sharpe_ratio"], "oos_sharpe": want_oos["metrics"]["sharpe_ratio"]}
    want_wf["overfitting_ratio"] = ratio(want_wf["is_sharpe"], want_wf["oos_sharpe"])

    results = {}
    for warmup in ("restart", "full"):
        label = "%s [%s]" % (name, warmup)
        try:
            got = walk_forward(case, warmup)
        except Exception as e:  # noqa: BLE001
            check(False, label + ": quant.walk_forward", "error: %s" % e)
            continue
        results[warmup] = got
        check(got.get("warmup") == warmup and got.get("search") == "exhaustive", label + ": warmup and search",
              "%r %r" % (got.get("warmup"), got.get("search")))
        check(got.get("grid_size") == len(cells) and got.get("evaluated") == len(cells) and
              got.get("valid") == len(valid), label + ": grid_size %d, evaluated %d, valid %d" % (
                  len(cells), len(cells), len(valid)),
              "%r %r %r" % (got.get("grid_size"), got.get("evaluated"), got.get("valid")))
        check(got.get("split_index") == s and got.get("split_at", "")[:10] == ts[s][:10],
              label + ": split_index = floor(%d*%r) = %d at %s" % (n, case["split"], s, ts[s][:10]),
              "%r %r" % (got.get("split_index"), got.get("split_at")))
        check(got.get("best_window") == want_wf["best_window"] and got.get("best_signal") == want_wf["best_signal"],
              label + ": best_window/best_signal = the in-sample arg-max Sharpe (%d, %r)" % (
                  want_wf["best_window"], want_wf["best_signal"]),
              "got %r, %r" % (got.get("best_window"), got.get("best_signal")))
        best_params = [(x["window"], x["signal"]) for x in (got.get("best") or {}).get("substrategies", [])]
        check(best_params == [(w, float(x)) for w, x in cells[b]], label + ": best.substrategies = the best cell",
              "got %r, want %r" % (best_params, cells[b]))
        check(close(got.get("is_sharpe"), want_wf["is_sharpe"]), label + ": is_sharpe",
              "got %r, want %r" % (got.get("is_sharpe"), want_wf["is_sharpe"]))
        ins = got.get("in_sample") or {}
        d = metrics_diff(ins.get("metrics"), want_is["metrics"]) + \
            ["buy_hold " + x for x in metrics_diff(ins.get("buy_hold_metrics"), want_is["buy_hold_metrics"])]
        check(not d, label + ": in_sample metrics and buy_hold_metrics = quant.backtest over bars [0, s)", "; ".join(d))
        check(ins.get("bars") == s and ins.get("data_range") == want_is.get("data_range"),
              label + ": in_sample bars and data_range", "%r %r vs %r %r" % (
                  ins.get("bars"), ins.get("data_range"), s, want_is.get("data_range")))

        oos = got.get("out_of_sample") or {}
        if warmup == "restart":
            want_m, want_bh = want_oos["metrics"], want_oos["buy_hold_metrics"]
            src = "quant.backtest over bars [s, N)"
        else:
            rows = psql("SELECT price, position, pnl FROM quant.backtest_series(%s, %r::float8, %s, %s) ORDER BY ts;" % (
                jsonb_sql(best_cfg), float(case["fee"]), ts_sql(case.get("from")), ts_sql(case.get("to"))))
            price, pos, pnl = [], [], []
            for r in rows:
                p, q, x = r.split("\t")
                price.append(float(p))
                pos.append(None if q == "" else float(q))
                pnl.append(None if x == "" else float(x))
            check(len(rows) == n, label + ": backtest_series has N rows", "%d vs %d" % (len(rows), n))
            bh = [(price[t] / price[t - 1] - 1) if t > 0 and pos[t - 1] is not None else None for t in range(n)]
            want_m, want_bh = tail_metrics(pnl[s:], tp), tail_metrics(bh[s:], tp)
            src = "metrics recomputed from backtest_series rows t >= s"
        d = metrics_diff(oos.get("metrics"), want_m)
        check(not d, label + ": out_of_sample metrics = " + src, "; ".join(d))
        d = metrics_diff(oos.get("buy_hold_metrics"), want_bh)
        check(not d, label + ": out_of_sample buy_hold_metrics = " + src, "; ".join(d))
        want_range = {"start": ts[s][:10], "end": ts[n - 1][:10]}
        check(oos.get("bars") == n - s and oos.get("data_range") == want_range,
              label + ": out_of_sample bars %d and data_range %r" % (n - s, want_range),
              "%r %r" % (oos.get("bars"), oos.get("data_range")))
        want_oos_sharpe = want_m["sharpe_ratio"]
        check(close(got.get("oos_sharpe"), want_oos_sharpe), label + ": oos_sharpe",
              "got %r, want %r" % (got.get("oos_sharpe"), want_oos_sharpe))
        want_ratio = ratio(want_wf["is_sharpe"], want_oos_sharpe)
        check(close(got.get("overfitting_ratio"), want_ratio), label + ": overfitting_ratio = 1 - oos/is",
              "got %r, want %r" % (got.get("overfitting_ratio"), want_ratio))

    if len(results) == 2:
        r, f = results["restart"], results["full"]
        same = all(r.get(k) == f.get(k) for k in ("best_window", "best_signal", "is_sharpe", "best", "in_sample"))
        check(same, name + ": the in-sample part of warmup full equals restart's")
        one = walk_forward(case, "restart", threads=1)
        check(one == r, name + ": threads => 1 gives the same answer as threads => 0")


def main():
    for case in CASES:
        try:
            run_case(case)
        except Exception as e:  # noqa: BLE001
            check(False, case["name"], "error: %s" % e)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
