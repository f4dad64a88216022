import { describe, expect, it } from "vitest";
import { CELLS_CAP, GRID_CAP, cellConfig, defaultRanges, gridBody, gridCells, heatColour, heatmap, rangeCount } from "./grid";

const r = (min: string, max: string, step: string) => ({ min, max, step });

describe("grid counts", () => {
  it("counts a range with its max included, decimal steps too", () => {
    expect(rangeCount(r("10", "30", "5"))).toBe(5);
    expect(rangeCount(r("10", "31", "5"))).toBe(5);
    expect(rangeCount(r("0.5", "1.5", "0.1"))).toBe(11);
    expect(rangeCount(r("7", "7", "1"))).toBe(1);
    expect(rangeCount(r("10", "5", "1"))).toBeNaN();
    expect(rangeCount(r("1", "5", "0"))).toBeNaN();
    expect(rangeCount(r("", "5", "1"))).toBeNaN();
  });
  it("multiplies over substrategies and knows the caps", () => {
    const two = [
      { window: r("10", "30", "5"), signal: r("0.5", "1.5", "0.25") },
      { window: r("5", "37", "1"), signal: r("50", "100", "5") },
    ];
    expect(gridCells(two)).toBe(5 * 5 * 33 * 11);
    expect(gridCells([])).toBe(0);
    expect(GRID_CAP).toBe(2_000_000);
    expect(CELLS_CAP).toBe(100_000);
    expect(gridBody(two)[0]).toEqual({ window: { min: 10, max: 30, step: 5 }, signal: { min: 0.5, max: 1.5, step: 0.25 } });
  });
  it("starts around the strategy's parameters", () => {
    expect(defaultRanges({ window: 20, signal: 1 })).toEqual({ window: r("10", "30", "5"), signal: r("0.5", "1.5", "0.25") });
    expect(defaultRanges({ window: 5, signal: 0 }).window.min).toBe("2");
  });
});

describe("heatmap", () => {
  const cell = (w: number, s: number, sharpe: number | null, w2 = 1) => ({
    substrategies: [
      { window: w, signal: s },
      { window: w2, signal: 0 },
    ],
    metrics: { sharpe_ratio: sharpe },
  });
  it("one square per window x signal, the best over the other substrategy", () => {
    const h = heatmap([cell(20, 1, 0.5), cell(10, 1, -0.2), cell(20, 1, 0.9, 2), cell(10, 2, null), cell(20, 2, 0.1)], 0, "sharpe_ratio");
    expect(h.windows).toEqual([10, 20]);
    expect(h.signals).toEqual([1, 2]);
    expect(h.value).toEqual([
      [-0.2, null],
      [0.9, 0.1],
    ]);
    expect(h.cell[1][0]?.substrategies[1].window).toBe(2);
    expect([h.min, h.max]).toEqual([-0.2, 0.9]);
    const low = heatmap([cell(20, 1, 0.5), cell(20, 1, 0.1, 2)], 0, "sharpe_ratio", true);
    expect(low.value[0][0]).toBe(0.1);
  });
  it("colours from red to green, grey for none", () => {
    expect(heatColour(0, 0, 1)).toBe("rgb(185, 28, 28)");
    expect(heatColour(1, 0, 1)).toBe("rgb(4, 120, 87)");
    expect(heatColour(1, 0, 1, true)).toBe("rgb(185, 28, 28)");
    expect(heatColour(null, 0, 1)).toBe("#e5e7eb");
  });
  it("a cell's config: the strategy's with the cell's parameters", () => {
    const cfg = { ticker: "T", substrategies: [{ indicator: "i", window: 20, signal: 1 }, { indicator: "j", window: 5, signal: 3 }] };
    expect(cellConfig(cfg, cell(30, 2, 0))).toEqual({
      ticker: "T",
      substrategies: [{ indicator: "i", window: 30, signal: 2 }, { indicator: "j", window: 1, signal: 0 }],
    });
  });
});
