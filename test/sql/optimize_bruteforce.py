#!/usr/bin/env python3
"""quant.optimize equals a brute-force loop of quant.backtest over the same grid (issue 5).

For each config below (one substrategy; two with AND and with OR; three with FILTER; TTRC and
MSFT; fee 0 and 5; full history and from_ts/to_ts ranges; objectives sharpe_ratio (default),
max_drawdown (minimised), calmar_ratio, total_return):

1. the grid is expanded here, independently of the engine: lists as listed, {min, max, step}
   ranges in exact decimal arithmetic with max included (so {"min":0,"max":0.1,"step":0.01} has
   11 values and {"min":0.25,"max":2.5,"step":0.25} has 10), cells in grid order (substrategy 1
   most significant, window before signal);
2. ONE SQL query per config runs quant.backtest on every cell (configs built with jsonb_set);
3. quant.optimize(..., include_cells => true) is compared with it: grid_size, evaluated, valid,
   every cell's parameters (grid order), objective and 5 metrics (to 1e-9 relative, 1e-12
   absolute, NaN <-> null), last_position and position_changes; best = the arg-best with ties to
   the earlier cell in grid order; top = the brute-force ranking's first top_n cells, distinct and
   sorted; best.config is a Strategy JSON whose quant.backtest equals best's metrics,
   buy-and-hold metrics, bars and data range; threads => 1 gives the same answer as threads => 2.

Each check is one test. Uses the database of PG* (the test cluster, TTRC and MSFT loaded).
Last line: "N passed, N failed"; exit status 1 on any failure.
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
MAX_SHOWN = 8

T = quanttest.Tally()
check = T.check


psql = quanttest.psql


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):  # NaN must be JSON null, never a number
        return False
    return a == b or abs(a - b) <= max(ABS, REL * max(abs(a), abs(b)))


def metrics_diff(got, want):
    """The metric keys where got differs from want (None when both are absent)."""
    if got is None or want is None:
        return [] if got is None and want is None else ["metrics object missing"]
    return ["%s: got %r, want %r" % (k, got.get(k), want.get(k)) for k in METRICS
            if k not in got or not close(got.get(k), want.get(k))]


# ---- the grid, expanded independently -----------------------------------------------------------
def axis(spec, default):
    """Values of one axis as exact decimals: a number, a list, or an inclusive {min, max, step}."""
    if spec is None:
        return [Decimal(repr(default))]
    if isinstance(spec, list):
        return [Decimal(repr(v)) for v in spec]
    if isinstance(spec, dict):
        lo, hi, step = (Decimal(repr(spec[k])) for k in ("min", "max", "step"))
        out, i = [], 0
        while lo + i * step <= hi:
            out.append(lo + i * step)
            i += 1
        return out
    return [Decimal(repr(spec))]


def expand(cfg, grid):
    """Per substrategy (in config order) the window and signal values; and the cells in grid order:
    a list of [(window, signal) per substrategy] with substrategy 1 most significant, then window,
    then signal."""
    subs = cfg["substrategies"]
    if isinstance(grid, list):
        entries = list(grid)
    else:
        entries = [grid.get(str(s["id"]), {}) for s in subs]
    axes = []
    for s, e in zip(subs, entries):
        ws = [int(w) for w in axis(e.get("window"), s["window"])]
        ss = axis(e.get("signal"), s["signal"])
        axes.append([(w, sg) for w in ws for sg in ss])
    cells = [[]]
    for pairs in axes:
        cells = [c + [p] for c in cells for p in pairs]
    return axes, cells


def ts_sql(v):
    return "NULL::timestamptz" if v is None else "'%s'::timestamptz" % v


def jsonb_sql(v):
    return "$j$%s$j$::jsonb" % json.dumps(v)


def bruteforce(case, cells):
    """One query: quant.backtest of every cell. Returns the BacktestResults in grid order."""
    cfg = case["config"]
    k = len(cfg["substrategies"])
    expr = jsonb_sql(cfg)
    for j in range(k):
        expr = "jsonb_set(jsonb_set(%s, '{substrategies,%d,window}', to_jsonb(c.w%d)), " \
               "'{substrategies,%d,signal}', to_jsonb(c.s%d))" % (expr, j, j, j, j)
    rows = ",\n".join("(%d, %s)" % (i, ", ".join("%d::int, %s::numeric" % (w, s) for w, s in cell))
                      for i, cell in enumerate(cells))
    cols = ", ".join("w%d, s%d" % (j, j) for j in range(k))
    sql = """SELECT c.idx, quant.backtest(%s, %r::float8, %s, %s)
  FROM (VALUES %s) AS c(idx, %s)
 ORDER BY c.idx;
""" % (expr, float(case["fee"]), ts_sql(case.get("from")), ts_sql(case.get("to")), rows, cols)
    out = []
    for line in psql(sql):
        idx, js = line.split("\t", 1)
        assert int(idx) == len(out), "brute-force rows out of order"
        out.append(json.loads(js))
    return out


def optimize(case, threads, include_cells, top_n):
    sql = "SELECT quant.optimize(%s, %s, fee_bps => %r, from_ts => %s, to_ts => %s, objective => %s, " \
          "top_n => %d, include_cells => %s, threads => %d);" % (
              jsonb_sql(case["config"]), jsonb_sql(case["grid"]), float(case["fee"]), ts_sql(case.get("from")),
              ts_sql(case.get("to")), "'%s'" % case.get("objective", "sharpe_ratio"), top_n,
              "true" if include_cells else "false", threads)
    return json.loads(psql(sql)[0])


def params_of(cell_json):
    return [(s["window"], s["signal"]) for s in cell_json["substrategies"]]


def expected_params(cell, cfg):
    return [(w, float(s)) for (w, s) in cell]


# ---- the cases ------------------------------------------------------------------------------------
def sub(i, indicator, signal_func, window, signal, column="v"):
    return {"id": i, "indicator": indicator, "signal_func": signal_func, "window": window, "signal": signal,
            "data_column": column}


def config(ticker, conjunction, *subs):
    return {"ticker": ticker, "conjunction": conjunction, "trading_period": 252, "substrategies": list(subs)}


CASES = [
    {"name": "1 sub TTRC Bollinger momentum, ranges, fee 5",
     "config": config("TTRC", "AND", sub(1, "get_bollinger_band", "momentum_band_signal", 20, 1.0)),
     "grid": [{"window": {"min": 10, "max": 60, "step": 5}, "signal": {"min": 0.25, "max": 2.5, "step": 0.25}}],
     "fee": 5, "axis_sizes": [(11, 10)]},
    {"name": "1 sub MSFT RSI reversion bounded, lists, fee 0 (NaN cells at signal 100)",
     "config": config("MSFT", "AND", sub(1, "get_rsi", "reversion_bounded_signal", 14, 70)),
     "grid": [{"window": [5, 9, 14, 21], "signal": {"min": 50, "max": 100, "step": 5}}],
     "fee": 0, "axis_sizes": [(4, 11)]},
    {"name": "2 subs AND TTRC Bollinger+RSI, fee 5, from 1997",
     "config": config("TTRC", "AND", sub(1, "get_bollinger_band", "momentum_band_signal", 20, 1.0),
                      sub(2, "get_rsi", "momentum_bounded_signal", 14, 70)),
     "grid": [{"window": [10, 20, 30], "signal": [0.5, 1.0, 1.5]}, {"window": [7, 14], "signal": [60, 70, 80]}],
     "fee": 5, "from": "1997-01-01", "axis_sizes": [(3, 3), (2, 3)]},
    {"name": "2 subs OR MSFT SMA/EMA distance, object grid, fee 0",
     "config": config("MSFT", "OR", sub(1, "get_sma_distance", "momentum_band_signal", 10, 0.02),
                      sub(2, "get_ema_distance", "reversion_band_signal", 20, 0.05)),
     "grid": {"1": {"window": [5, 10, 20], "signal": {"min": 0, "max": 0.1, "step": 0.01}},
              "2": {"window": [10, 20], "signal": [0.02, 0.05]}},
     "fee": 0, "axis_sizes": [(3, 11), (2, 2)]},
    {"name": "2 subs OR TTRC Bollinger+stochastic, fee 5, 1990..1999",
     "config": config("TTRC", "OR", sub(1, "get_bollinger_band", "reversion_band_signal", 20, 1.5),
                      sub(2, "get_stochastic_oscillator", "momentum_bounded_signal", 14, 80)),
     "grid": [{"window": [15, 25], "signal": [1.0, 2.0]}, {"window": {"min": 5, "max": 20, "step": 5},
                                                           "signal": [70, 80, 90]}],
     "fee": 5, "from": "1990-01-01", "to": "1999-12-31", "axis_sizes": [(2, 2), (4, 3)]},
    {"name": "3 subs FILTER TTRC, grid keyed out of order, sub 2 fixed, fee 5, 1990..1999",
     "config": config("TTRC", "FILTER", sub(1, "get_stochastic_oscillator", "momentum_bounded_signal", 14, 70),
                      sub(2, "get_bollinger_band", "momentum_band_signal", 20, 0.5),
                      sub(3, "get_rsi", "momentum_bounded_signal", 14, 60)),
     "grid": {"3": {"window": [10, 14], "signal": [55, 65]}, "1": {"window": [5, 14], "signal": [60, 70, 80]}},
     "fee": 5, "from": "1990-01-01", "to": "1999-12-31", "axis_sizes": [(2, 3), (1, 1), (2, 2)]},
    {"name": "objective max_drawdown (minimised), 1 sub TTRC SMA distance, fee 5",
     "config": config("TTRC", "AND", sub(1, "get_sma_distance", "momentum_band_signal", 20, 0.0)),
     "grid": [{"window": [10, 20, 50], "signal": {"min": 0, "max": 0.1, "step": 0.01}}],
     "fee": 5, "objective": "max_drawdown", "axis_sizes": [(3, 11)]},
    {"name": "objective calmar_ratio, 2 subs AND MSFT, fee 0",
     "config": config("MSFT", "AND", sub(1, "get_bollinger_band", "momentum_band_signal", 20, 1.0),
                      sub(2, "get_rsi", "reversion_bounded_signal", 14, 70)),
     "grid": [{"window": [10, 20], "signal": {"min": 0.25, "max": 2.5, "step": 0.25}},
              {"window": [5, 14], "signal": [60, 80]}],
     "fee": 0, "objective": "calmar_ratio", "axis_sizes": [(2, 10), (2, 2)]},
    # get_sma is a price level: a band signal at 0.5..2 is long on every bar of TTRC, so within a
    # window every signal gives the same pnl: exact ties, broken by grid order (as listed: 2 first).
    {"name": "ties: 1 sub TTRC SMA level, windows and signals listed descending, fee 5",
     "config": config("TTRC", "AND", sub(1, "get_sma", "momentum_band_signal", 20, 1.0)),
     "grid": [{"window": [30, 20, 10], "signal": [2, 1, 0.5]}],
     "fee": 5, "top_n": 5, "axis_sizes": [(3, 3)], "expect_ties": True},
    {"name": "objective total_return, 1 sub MSFT EMA distance long-only, fee 5, from 2000-06-01",
     "config": config("MSFT", "AND", sub(1, "get_ema_distance", "momentum_band_signal_long_only", 10, 0.0)),
     "grid": [{"window": {"min": 5, "max": 30, "step": 5}, "signal": {"min": 0, "max": 0.05, "step": 0.01}}],
     "fee": 5, "from": "2000-06-01", "objective": "total_return", "axis_sizes": [(6, 6)]},
]


def run_case(case):
    name = case["name"]
    cfg = case["config"]
    objective = case.get("objective", "sharpe_ratio")
    minimise = objective == "max_drawdown"
    top_n = case.get("top_n", 10)
    axes, cells = expand(cfg, case["grid"])

    # the expansion itself (the documented range semantics)
    sizes = [(len({w for w, _ in a}), len({s for _, s in a})) for a in axes]
    check(sizes == case["axis_sizes"], name + ": independent grid expansion has the documented sizes",
          "%r vs %r" % (sizes, case["axis_sizes"]))

    brute = bruteforce(case, cells)
    got = optimize(case, 2, True, top_n)

    check(len(brute) == len(cells), name + ": brute force returned every cell")
    check(got.get("search") == "exhaustive", name + ": search is \"exhaustive\"", repr(got.get("search")))
    check(got.get("objective") == objective and got.get("objective_direction") == ("min" if minimise else "max"),
          name + ": objective and direction", "%r %r" % (got.get("objective"), got.get("objective_direction")))
    check(got.get("grid_size") == len(cells), name + ": grid_size = %d" % len(cells), repr(got.get("grid_size")))
    check(got.get("evaluated") == len(cells), name + ": evaluated = %d" % len(cells), repr(got.get("evaluated")))

    obj = [b["metrics"].get(objective) for b in brute]
    valid_idx = [i for i, v in enumerate(obj) if v is not None]
    check(got.get("valid") == len(valid_idx), name + ": valid = %d (objective not NaN)" % len(valid_idx),
          repr(got.get("valid")))

    # every cell: parameters in grid order, objective, the 5 metrics, last position, position changes
    gcells = got.get("cells") or []
    check(len(gcells) == len(cells), name + ": cells lists every cell", "%d vs %d" % (len(gcells), len(cells)))
    bad_params, bad_metrics, bad_other = [], [], []
    for i, (cell, want) in enumerate(zip(cells, brute)):
        if i >= len(gcells):
            break
        g = gcells[i]
        if params_of(g) != expected_params(cell, cfg) or [s["id"] for s in g["substrategies"]] != \
                [s["id"] for s in cfg["substrategies"]]:
            bad_params.append("cell %d: got %r, want %r" % (i, params_of(g), expected_params(cell, cfg)))
        d = metrics_diff(g.get("metrics"), want["metrics"])
        if d:
            bad_metrics.append("cell %d %r: %s" % (i, expected_params(cell, cfg), "; ".join(d)))
        if not close(g.get("last_position"), want.get("last_position")) or \
                g.get("position_changes") != want.get("position_changes"):
            bad_other.append("cell %d: last_position %r/%r, position_changes %r/%r" % (
                i, g.get("last_position"), want.get("last_position"), g.get("position_changes"),
                want.get("position_changes")))
    check(not bad_params, name + ": every cell's parameters, in grid order", "; ".join(bad_params[:MAX_SHOWN]))
    check(not bad_metrics, name + ": every cell's objective and 5 metrics = quant.backtest (%d cells)" % len(cells),
          "%d differ: %s" % (len(bad_metrics), " | ".join(bad_metrics[:MAX_SHOWN])))
    check(not bad_other, name + ": every cell's last_position and position_changes = quant.backtest",
          "; ".join(bad_other[:MAX_SHOWN]))

    # the ranking: best objective first, ties to the earlier cell in grid order
    ranking = sorted(valid_idx, key=lambda i: ((obj[i] if minimise else -obj[i]), i))
    if not ranking:
        check(got.get("best") is None and got.get("top") == [], name + ": no valid cell: best null, top empty")
        return
    b = ranking[0]
    ties = [i for i in valid_idx if obj[i] == obj[b]]
    if case.get("expect_ties"):
        check(len(ties) > 1, name + ": the grid has exact ties at the best (the tie-break is exercised)",
              "%d cells at the best" % len(ties))
    best = got.get("best") or {}
    check(params_of(best) == expected_params(cells[b], cfg) if best else False,
          name + ": best = arg-%s, earliest in grid order (cell %d of %d tied)" % (
              "min" if minimise else "max", b, len(ties)),
          "got %r, want %r (objective %r)" % (params_of(best) if best else None, expected_params(cells[b], cfg),
                                              obj[b]))
    d = metrics_diff(best.get("metrics"), brute[b]["metrics"]) + \
        ["buy_hold " + x for x in metrics_diff(best.get("buy_hold_metrics"), brute[b]["buy_hold_metrics"])]
    check(not d, name + ": best.metrics and buy_hold_metrics = quant.backtest of that cell", "; ".join(d))

    top = got.get("top") or []
    want_top = ranking[:top_n]
    check(len(top) == len(want_top), name + ": top has min(top_n, valid) = %d cells" % len(want_top),
          "got %d" % len(top))
    tp = [tuple(params_of(t)) for t in top]
    check(len(set(tp)) == len(tp), name + ": top cells are distinct")
    tv = [t["metrics"].get(objective) for t in top]
    check(all(v is not None for v in tv) and all((tv[i] <= tv[i + 1]) if minimise else (tv[i] >= tv[i + 1])
                                                 for i in range(len(tv) - 1)),
          name + ": top is sorted by the objective (%s first)" % ("lowest" if minimise else "highest"), repr(tv))
    check(tp == [tuple(expected_params(cells[i], cfg)) for i in want_top],
          name + ": top = the brute-force ranking's first %d (ties in grid order)" % len(want_top),
          "got %r, want %r" % (tp[:5], [expected_params(cells[i], cfg) for i in want_top[:5]]))
    bad_top = ["%d: %s" % (r, "; ".join(metrics_diff(t.get("metrics"), brute[i]["metrics"])))
               for r, (t, i) in enumerate(zip(top, want_top)) if metrics_diff(t.get("metrics"), brute[i]["metrics"])]
    check(not bad_top, name + ": top cells' metrics = quant.backtest", " | ".join(bad_top[:MAX_SHOWN]))

    # best.config: a ready Strategy JSON whose backtest is best's
    bc = best.get("config")
    if not isinstance(bc, dict):
        check(False, name + ": best.config is a Strategy JSON object", repr(bc))
    else:
        line = psql("SELECT quant.normalize_strategy(%s) IS NOT NULL, quant.backtest(%s, %r::float8, %s, %s);" % (
            jsonb_sql(bc), jsonb_sql(bc), float(case["fee"]), ts_sql(case.get("from")), ts_sql(case.get("to"))))[0]
        valid_flag, bt = line.split("\t", 1)
        bt = json.loads(bt)
        check(valid_flag == "t", name + ": best.config passes quant.normalize_strategy")
        subs_ok = [(s["window"], s["signal"]) for s in bc.get("substrategies", [])] == expected_params(cells[b], cfg)
        others_ok = all({k: v for k, v in s.items() if k not in ("window", "signal")} ==
                        {k: v for k, v in o.items() if k not in ("window", "signal")}
                        for s, o in zip(bc.get("substrategies", []), cfg["substrategies"])) and \
            bc.get("ticker") == cfg["ticker"] and bc.get("conjunction") == cfg["conjunction"]
        check(subs_ok and others_ok, name + ": best.config = the config with best's windows and signals",
              json.dumps(bc))
        d = metrics_diff(bt["metrics"], best.get("metrics")) + \
            ["buy_hold " + x for x in metrics_diff(bt["buy_hold_metrics"], best.get("buy_hold_metrics"))]
        check(not d, name + ": quant.backtest(best.config) = best.metrics and buy_hold_metrics", "; ".join(d))
        check(bt.get("bars") == got.get("bars") and bt.get("data_range") == got.get("data_range"),
              name + ": bars and data_range = quant.backtest's", "%r %r vs %r %r" % (
                  got.get("bars"), got.get("data_range"), bt.get("bars"), bt.get("data_range")))

    # one thread gives the same answer (no cells listed this time)
    one = optimize(case, 1, False, top_n)
    same = {k: v for k, v in got.items() if k != "cells"} == one and "cells" not in one
    check(same, name + ": threads => 1 without cells = threads => 2 minus the cells list")


def main():
    # the documented range semantics, on their own
    for spec, n in (({"min": 0, "max": 0.1, "step": 0.01}, 11), ({"min": 0.25, "max": 2.5, "step": 0.25}, 10)):
        try:
            case = {"config": config("TTRC", "AND", sub(1, "get_sma_distance", "momentum_band_signal", 20, 0.0)),
                    "grid": [{"window": 20, "signal": spec}], "fee": 5}
            got = optimize(case, 1, True, 1)
            sigs = [c["substrategies"][0]["signal"] for c in got["cells"]]
            want = [float(v) for v in axis(spec, None)]
            check(got["grid_size"] == n and sigs == want,
                  "signal range %s has %d values, as written (max included)" % (json.dumps(spec), n),
                  "grid_size %r, values %r" % (got["grid_size"], sigs))
        except Exception as e:  # noqa: BLE001 - report and go on
            check(False, "signal range %s" % json.dumps(spec), "error: %s" % e)
    for case in CASES:
        try:
            run_case(case)
        except Exception as e:  # noqa: BLE001 - report and go on
            check(False, case["name"], "error: %s" % e)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
