#!/usr/bin/env python3
"""The array forms (quant.sma, ema, rsi, rsi_wilder, bollinger, sma_distance, ema_distance,
stochastic) equal quant.indicator_series on the same data, for windows 5, 14 and 20, on TTRC and
MSFT: value for value (to 1e-12 relative; they run the same code, so equal in practice), NULLs at
the same places, and no NaN on either side.

One psql call: per (ticker, indicator, window) it returns the counts of compared values,
mismatches, NULL mismatches and NaNs, plus the first mismatch. Each (ticker, indicator, window)
is one test. Last line: "N passed, N failed"; exit status 1 on any failure.
"""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

TICKERS = ("TTRC", "MSFT")
WINDOWS = (5, 14, 20)
# indicator name -> the array call over the ordered columns of one ticker (b: the aggregated bars)
ARRAY_FORMS = {
    "get_sma": "quant.sma(b.close, {w})",
    "get_ema": "quant.ema(b.close, {w})",
    "get_rsi": "quant.rsi(b.close, {w})",
    "get_rsi_wilder": "quant.rsi_wilder(b.close, {w})",
    "get_bollinger_band": "quant.bollinger(b.close, {w})",
    "get_sma_distance": "quant.sma_distance(b.close, {w})",
    "get_ema_distance": "quant.ema_distance(b.close, {w})",
    "get_stochastic_oscillator": "quant.stochastic(b.high, b.low, b.close, {w})",
}
# data_column variants: the array form over another column equals indicator_series(..., column)
COLUMN_CASES = (("get_sma", "open", "quant.sma(b.open, {w})"),
                ("get_ema", "high", "quant.ema(b.high, {w})"),
                ("get_rsi", "low", "quant.rsi(b.low, {w})"),
                ("get_bollinger_band", "volume", "quant.bollinger(b.volume, {w})"))


psql = quanttest.psql


def one_case(ticker, indicator, column, call, w):
    label = "%s %s(%s) w=%d" % (ticker, indicator, column, w)
    return """
SELECT {label}, count(*),
       count(*) FILTER (WHERE (a.v IS NULL) <> (s.value IS NULL)),
       count(*) FILTER (WHERE abs(a.v - s.value) > greatest(1e-300, 1e-12 * greatest(abs(a.v), abs(s.value)))),
       count(*) FILTER (WHERE a.v = 'NaN' OR s.value = 'NaN'),
       count(*) FILTER (WHERE a.v IS NULL),
       min(s.n) FILTER (WHERE a.v IS DISTINCT FROM s.value)
  FROM (SELECT array_agg(open ORDER BY ts) AS open, array_agg(high ORDER BY ts) AS high,
               array_agg(low ORDER BY ts) AS low, array_agg(close ORDER BY ts) AS close,
               array_agg(volume ORDER BY ts) AS volume
          FROM md.bar WHERE ticker = {ticker}) b,
       LATERAL unnest({call}) WITH ORDINALITY AS a(v, n)
       FULL JOIN (SELECT value, row_number() OVER (ORDER BY ts) AS n
                    FROM quant.indicator_series({ticker}, {indicator}, {w}, {column})) s USING (n)""".format(
        label="'" + label + "'", ticker="'" + ticker + "'", indicator="'" + indicator + "'",
        column="'" + column + "'", call=call.format(w=w), w=w)


def main():
    T = quanttest.Tally()
    queries = []
    for ticker in TICKERS:
        for indicator, call in ARRAY_FORMS.items():
            for w in WINDOWS:
                queries.append(one_case(ticker, indicator, "v", call, w))
        for indicator, column, call in COLUMN_CASES:
            queries.append(one_case(ticker, indicator, column, call, 14))
    try:
        lines = psql("\nUNION ALL\n".join(queries) + ";\n")
        if len(lines) != len(queries):
            raise RuntimeError("expected %d result rows, got %d" % (len(queries), len(lines)))
        for line in lines:
            label, n, null_mismatch, value_mismatch, nans, nulls, first = line.split("\t")
            n, null_mismatch, value_mismatch, nans, nulls = map(int, (n, null_mismatch, value_mismatch, nans, nulls))
            problems = []
            if null_mismatch:
                problems.append("%d NULLs do not line up" % null_mismatch)
            if value_mismatch:
                problems.append("%d values differ" % value_mismatch)
            if nans:
                problems.append("%d NaN values (should be NULL)" % nans)
            if nulls >= n:
                problems.append("no defined value at all")
            if first and not problems:
                problems.append("rows differ (lengths?) from row %s" % first)
            T.check(not problems, label, "%s (of %d; first difference at row %s)" % ("; ".join(problems), n, first or "-"))
    except Exception as e:
        T.check(False, "the batch ran", "ERROR: %s" % e)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
