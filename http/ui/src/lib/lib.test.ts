import { describe, expect, it } from "vitest";
import { metricRows, pct, num, utc } from "./format";
import { toProblem, describe as describeProblem, isUnreachable } from "./problem";
import { equityPoints, toPoints } from "./series";
import { pageOf, pathOf } from "./router";
import { deploymentRow, tradesToday } from "./deployments";
import { formatTime } from "./time";
import { strategyConfig } from "./strategy";

describe("format", () => {
  it("formats percentages and numbers, a dash for none", () => {
    expect(pct(0.1234)).toBe("12.34%");
    expect(pct(-0.05, 1)).toBe("-5.0%");
    expect(pct(null)).toBe("–");
    expect(pct(Number.NaN)).toBe("–");
    expect(num(1.23456)).toBe("1.23");
    expect(num(undefined)).toBe("–");
  });
  it("shows times in UTC", () => {
    expect(utc("2024-03-01T15:04:05+02:00")).toBe("2024-03-01 13:04 UTC");
    expect(utc(null)).toBe("–");
  });
  it("compares the strategy with buy and hold, drawdown by magnitude", () => {
    const rows = metricRows(
      { total_return: 0.2, sharpe_ratio: 1.1, max_drawdown: -0.1, calmar_ratio: null },
      { total_return: 0.3, sharpe_ratio: 0.9, max_drawdown: -0.25 },
    );
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(rows.map((r) => r.key)).toEqual([
      "total_return",
      "annualized_return",
      "sharpe_ratio",
      "max_drawdown",
      "calmar_ratio",
    ]);
    expect(by.total_return.better).toBe(false);
    expect(by.sharpe_ratio.better).toBe(true);
    expect(by.max_drawdown.better).toBe(true);
    expect(by.calmar_ratio.better).toBeNull();
    expect(by.total_return.shown).toEqual(["20.00%", "30.00%"]);
    expect(by.sharpe_ratio.shown).toEqual(["1.10", "0.90"]);
  });
});

describe("problem", () => {
  it("reads problem+json with detail, field and hint", () => {
    const p = toProblem(422, { title: "Invalid value", detail: "window: must be >= 2", field: "window", hint: "2..500" });
    expect(p).toMatchObject({ status: 422, title: "Invalid value", detail: "window: must be >= 2", hint: "2..500" });
    expect(describeProblem(p)).toBe("window: must be >= 2 (field: window)");
    expect(isUnreachable(p)).toBe(false);
  });
  it("makes sense of a body that is not a problem", () => {
    const p = toProblem(502, "<html>bad gateway</html>");
    expect(p.title).toBe("HTTP 502");
    expect(isUnreachable(p)).toBe(true);
    expect(toProblem(0, undefined).title).toBe("API unreachable");
  });
});

describe("series", () => {
  const rows = [
    { ts: "2024-01-01T00:00:00Z", v: 0.0 },
    { ts: "2024-01-02T00:00:00Z", v: null },
    { ts: "2024-01-02T00:00:00Z", v: 0.1 },
    { ts: "2024-01-01T12:00:00Z", v: 0.2 }, // out of order: dropped
    { ts: "2024-01-03T00:00:00Z", v: Number.NaN },
    { ts: "2024-01-04T00:00:00Z", v: -0.5 },
  ];
  it("keeps finite values at increasing times (seconds)", () => {
    expect(toPoints(rows, (r) => r.v)).toEqual([
      { time: 1704067200, value: 0 },
      { time: 1704153600, value: 0.1 },
      { time: 1704326400, value: -0.5 },
    ]);
  });
  it("turns cumulative returns into equity of 1", () => {
    expect(equityPoints(rows, (r) => r.v).map((p) => p.value)).toEqual([1, 1.1, 0.5]);
  });
});

describe("router", () => {
  const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  it("maps paths to pages and back", () => {
    expect(pageOf("/")).toEqual({ name: "strategies" });
    expect(pageOf("/deployments/")).toEqual({ name: "deployments" });
    expect(pageOf(`/strategies/${id}`)).toEqual({ name: "backtest", id });
    expect(pathOf(pageOf(`/strategies/${id}/backtest`))).toBe(`/strategies/${id}/backtest`);
    expect(pageOf("/strategies/nope").name).toBe("not-found");
  });
});

describe("deployments", () => {
  it("builds a dashboard row", () => {
    const r = deploymentRow({
      deployment_id: "d1",
      enabled: true,
      paper: true,
      broker: "PAPER",
      ticker: "TTRC",
      qty: 10,
      status: "active",
      last_signal: { signal: -1, bar_ts: "2024-05-01T20:00:00Z" },
      recent_trades: [{ action: "SELL", ts: "2024-05-01T20:01:00Z", success: true }],
    });
    expect(r).toMatchObject({ mode: "PAPER", enabled: true, qty: "10" });
    expect(r.lastSignal).toBe("SHORT @ 2024-05-01 20:00 UTC");
    expect(r.lastTrade).toBe("SELL @ 2024-05-01 20:01 UTC");
    const live = deploymentRow({ deployment_id: "d2", paper: false, broker: "X", ticker: "T", qty: 1, status: "disabled" });
    expect(live).toMatchObject({ mode: "LIVE", enabled: false, lastSignal: "–", lastTrade: "–" });
  });
});

describe("strategy config", () => {
  it("keeps only the StrategyConfig keys of a stored strategy", () => {
    const stored = {
      strategy_id: "s",
      name: "n",
      version: 3,
      ticker: "TTRC",
      conjunction: "AND",
      substrategies: [{ indicator: "get_rsi", signal_func: "momentum_bounded_signal", window: 14, signal: 70 }],
      created_at: "x",
      latest_result: null,
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(strategyConfig(stored as any)).toEqual({
      name: "n",
      ticker: "TTRC",
      conjunction: "AND",
      substrategies: stored.substrategies,
    });
  });
});

describe("pages of the wizard, detail and optimise", () => {
  const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  it("maps their paths both ways", () => {
    for (const path of [`/strategies/${id}/deploy`, `/strategies/${id}/optimise`, `/deployments/${id}`])
      expect(pathOf(pageOf(path))).toBe(path);
    expect(pageOf(`/deployments/${id}`)).toEqual({ name: "deployment", id });
  });
});

describe("times", () => {
  it("UTC or local, with seconds on request", () => {
    expect(formatTime("2024-03-01T15:04:05+02:00", "UTC")).toBe("2024-03-01 13:04 UTC");
    expect(formatTime("2024-03-01T15:04:05+02:00", "UTC", true)).toBe("2024-03-01 13:04:05 UTC");
    const d = new Date("2024-03-01T13:04:05Z");
    const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16).replace("T", " ");
    expect(formatTime("2024-03-01T13:04:05Z", "local")).toBe(`${local} local`);
    expect(formatTime(undefined, "local")).toBe("–");
  });
});

describe("dashboard rows (GET /dashboard)", () => {
  it("takes last_trade, trades_today, the limit and the P&L from the row", () => {
    const r = deploymentRow({
      deployment_id: "d", paper: true, broker: "PAPER", ticker: "T", qty: 1, status: "active",
      last_trade: { action: "BUY", ts: "2024-05-01T20:01:00Z", success: true },
      trades_today: 4, max_daily_trades: 7, pnl: -12.345, realized_pnl: 1, unrealized_pnl: -13.345,
    });
    expect(r.lastTrade).toBe("BUY @ 2024-05-01 20:01 UTC");
    expect(r.tradesToday).toBe("4 / 7");
    expect(r.pnl).toBe("-12.35");
    expect(r.pnlValue).toBe(-12.345);
    const none = deploymentRow({ deployment_id: "e", paper: true, broker: "PAPER", ticker: "T", qty: 1, status: "active", last_trade: null, trades_today: 0, pnl: null });
    expect(none).toMatchObject({ lastTrade: "–", hasTrade: false, tradesToday: "0 / 10", pnl: "–" });
  });
});

describe("trades today", () => {
  it("counts the BUY and SELL rows booked on today's UTC date", () => {
    const now = new Date("2024-05-02T10:00:00Z");
    const trades = [
      { action: "BUY", ts: "2024-05-02T09:00:00Z", success: true },
      { action: "SELL", ts: "2024-05-02T00:00:01Z", success: true },
      { action: "REJECTED", ts: "2024-05-02T09:30:00Z", success: false },
      { action: "BUY", ts: "2024-05-02T09:40:00Z", success: false },
      { action: "HOLD", ts: "2024-05-02T09:50:00Z", success: true },
      { action: "BUY", ts: "2024-05-01T23:59:59Z", success: true },
    ];
    expect(tradesToday(trades, now)).toBe(2);
    const r = deploymentRow(
      { deployment_id: "d", paper: true, broker: "PAPER", ticker: "T", qty: 1, status: "active", recent_trades: trades, risk_limits: { max_daily_trades: 3 } },
      now,
    );
    expect(r.tradesToday).toBe("2 / 3");
    expect(r.hasTrade).toBe(true);
    expect(r.hasSignal).toBe(false);
  });
});
