import { describe, expect, it } from "vitest";
import { columnsOf, toCsv } from "./csv";
import { visibleRange } from "./virtual";
import { positionChanges, snapMarkers } from "./markers";
import { positionPnl } from "./pnl";

describe("csv", () => {
  it("quotes what RFC 4180 needs, objects as JSON, none as empty", () => {
    const rows = [
      { a: 1, b: 'say "hi"', c: null },
      { a: 2, b: "x,y", d: { k: [1] } },
    ];
    expect(toCsv(rows, columnsOf(rows))).toBe('a,b,c,d\r\n1,"say ""hi""",,\r\n2,"x,y",,"{""k"":[1]}"\r\n');
    expect(toCsv([], columnsOf([]))).toBe("\r\n");
  });
});

describe("virtual list", () => {
  it("renders the rows in view and the overscan only", () => {
    expect(visibleRange(0, 300, 30, 5000, 10)).toEqual({ first: 0, last: 20 });
    expect(visibleRange(3000, 300, 30, 5000, 10)).toEqual({ first: 90, last: 120 });
    expect(visibleRange(149_700, 300, 30, 5000, 10)).toEqual({ first: 4980, last: 5000 });
    expect(visibleRange(0, 300, 30, 3, 10)).toEqual({ first: 0, last: 3 });
    expect(visibleRange(0, 300, 30, 0)).toEqual({ first: 0, last: 0 });
  });
});

describe("markers", () => {
  const price = [100, 200, 300, 400].map((time) => ({ time, value: 1 }));
  it("snaps each event to the bar at or before it, sorted; drops the early and the timeless", () => {
    const m = snapMarkers(price, [
      { ts: new Date(350_000).toISOString(), kind: "buy" },
      { ts: new Date(200_000).toISOString(), kind: "long" },
      { ts: new Date(50_000).toISOString(), kind: "sell" },
      { ts: null, kind: "flat" },
      { ts: new Date(9_999_000).toISOString(), kind: "short", text: "S" },
    ]);
    expect(m).toEqual([
      { time: 200, kind: "long", text: "LONG" },
      { time: 300, kind: "buy", text: "BUY" },
      { time: 400, kind: "short", text: "S" },
    ]);
  });
  it("finds entries and exits where the position changes", () => {
    const rows = [0, 0, 1, 1, 0, -1, -1, null, 1].map((position, i) => ({ ts: `t${i}`, position }));
    expect(positionChanges(rows).map((e) => `${e.ts}:${e.text}`)).toEqual(["t2:long", "t4:exit", "t5:short", "t8:long"]);
  });
});

describe("P&L", () => {
  it("unrealised from the average price and the signed quantity", () => {
    expect(positionPnl({ qty: 10, avg_price: 5, realized_pnl: 1.5 }, 7)).toEqual({ realized: 1.5, unrealized: 20 });
    expect(positionPnl({ qty: "-2", avg_price: "5", realized_pnl: "0" }, 7)).toEqual({ realized: 0, unrealized: -4 });
    expect(positionPnl({ qty: 0, avg_price: null, realized_pnl: 3 }, null)).toEqual({ realized: 3, unrealized: 0 });
    expect(positionPnl(null, 7)).toEqual({ realized: null, unrealized: null });
  });
});

import { backtestTrades } from "./trades";
describe("backtest trades", () => {
  it("opens on a non-zero position, closes on flat or a flip, keeps the open one", () => {
    const rows = [
      [0, 10],
      [1, 10],
      [1, 11],
      [0, 12],
      [-1, 12],
      [1, 9],
      [1, 10],
    ].map(([position, price], i) => ({ ts: `t${i}`, position, price }));
    const t = backtestTrades(rows);
    expect(t.map((x) => [x.side, x.entry_ts, x.exit_ts, x.bars])).toEqual([
      ["LONG", "t1", "t3", 2],
      ["SHORT", "t4", "t5", 1],
      ["LONG", "t5", null, 1],
    ]);
    expect(t[0].ret).toBeCloseTo(0.2, 12);
    expect(t[1].ret).toBeCloseTo(0.25, 12);
    expect(t[2].ret).toBeNull();
  });
});

import { lineDiff, versionText } from "./diff";
describe("version diff", () => {
  it("keeps, removes and adds lines (LCS)", () => {
    expect(lineDiff("a\nb\nc", "a\nx\nc\nd").map((l) => l.op + l.text)).toEqual([" a", "-b", "+x", " c", "+d"]);
    expect(lineDiff("", "").map((l) => l.op)).toEqual([" "]);
  });
  it("compares configs without the bookkeeping keys, keys sorted", () => {
    const v1 = { version: 1, created_at: "x", name: "n", substrategies: [{ window: 20, indicator: "i" }] };
    const v2 = { version: 2, created_at: "y", substrategies: [{ indicator: "i", window: 30 }], name: "n" };
    const d = lineDiff(versionText(v1), versionText(v2)).filter((l) => l.op !== " ");
    expect(d.map((l) => l.op + l.text.trim())).toEqual(['-"window": 20', '+"window": 30']);
  });
});
