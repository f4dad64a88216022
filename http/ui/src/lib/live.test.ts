import { describe, expect, it } from "vitest";
import { liveVsBacktest } from "./live";

describe("live against the backtest of the same bars", () => {
  const series = [
    { ts: "2024-01-01T00:00:00Z", position: 0, price: 10 },
    { ts: "2024-01-02T00:00:00Z", position: 1, price: 11 },
    { ts: "2024-01-03T00:00:00Z", position: -1, price: 12 },
  ];
  it("pairs each live signal with the backtest's position at its bar", () => {
    const r = liveVsBacktest(
      [
        { bar_ts: "2024-01-03T00:00:00+00:00", signal: -1, source: "schedule" },
        { bar_ts: "2024-01-02T00:00:00+00:00", signal: 0 },
        { bar_ts: "2024-01-09T00:00:00Z", signal: 1 },
        { bar_ts: "2024-01-02T00:00:00Z", signal: 0, source: "flatten" },
        { bar_ts: "2024-01-02T00:00:00Z", signal: 0, substrategies: [] },
      ],
      [
        { action: "BUY", success: true, price: 11.5, bar_ts: "2024-01-02T00:00:00Z", timestamp: "x" },
        { action: "REJECTED", success: false, bar_ts: "2024-01-02T00:00:00Z" },
      ],
      series,
    );
    expect(r.rows.map((x) => [x.live, x.backtest, x.match])).toEqual([[0, 1, false], [-1, -1, true], [1, null, null]]);
    expect(r).toMatchObject({ compared: 2, matched: 1, mismatched: 1, missing: 1 });
    expect(r.fills).toHaveLength(1);
    expect(r.fills[0].backtestPrice).toBe(11);
    expect(r.fills[0].slippage).toBeCloseTo(0.5);
  });
});
