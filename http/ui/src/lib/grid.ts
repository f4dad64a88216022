// The optimise page's grid: per substrategy a window range and a signal range ({min, max, step},
// max included, as quant.optimize reads them), the live cell count against the server's caps,
// and the heatmap of window x signal from the cells.

export const GRID_CAP = 2_000_000; // quant.optimize: cells per search
export const CELLS_CAP = 100_000; // quant.optimize: include_cells (the heatmap needs them)

export interface Range {
  min: string;
  max: string;
  step: string;
}

// The number of values of a range (max included, a little tolerance for decimal steps); NaN
// when it is not a range.
export function rangeCount(r: Range): number {
  const [a, b, s] = [Number(r.min), Number(r.max), Number(r.step)];
  if (![a, b, s].every(Number.isFinite) || r.min.trim() === "" || r.max.trim() === "" || s <= 0 || b < a) return NaN;
  return Math.floor((b - a) / s + 1e-9) + 1;
}

export function gridCells(ranges: { window: Range; signal: Range }[]): number {
  let n = 1;
  for (const r of ranges) n *= rangeCount(r.window) * rangeCount(r.signal);
  return ranges.length === 0 ? 0 : n;
}

export function gridBody(ranges: { window: Range; signal: Range }[]) {
  const num = (r: Range) => ({ min: Number(r.min), max: Number(r.max), step: Number(r.step) });
  return ranges.map((r) => ({ window: num(r.window), signal: num(r.signal) }));
}

// A first range around a value: window w-10..w+10 step 5 (at least 2), signal +-50% in 5 steps.
export function defaultRanges(sub: { window: number; signal: number }): { window: Range; signal: Range } {
  const w = sub.window;
  const lo = Math.max(2, w - 10);
  const s = sub.signal;
  const span = Math.abs(s) > 0 ? Math.abs(s) / 2 : 1;
  const round = (x: number) => String(Math.round(x * 1e6) / 1e6);
  return {
    window: { min: String(lo), max: String(w + 10), step: "5" },
    signal: { min: round(s - span), max: round(s + span), step: round(span / 2) },
  };
}

export interface Cell {
  substrategies: { id?: number; window: number; signal: number }[];
  metrics: Record<string, number | null>;
}

export interface Heatmap {
  windows: number[];
  signals: number[];
  // value[w][s]: the best objective over the other substrategies' parameters (null: none valid)
  value: (number | null)[][];
  cell: (Cell | null)[][];
  min: number | null;
  max: number | null;
}

// The heatmap of substrategy `k`'s window x signal; `minimise` for max_drawdown.
export function heatmap(cells: Cell[], k: number, objective: string, minimise = false): Heatmap {
  const ws = new Set<number>();
  const ss = new Set<number>();
  for (const c of cells) {
    const p = c.substrategies[k];
    if (!p) continue;
    ws.add(p.window);
    ss.add(p.signal);
  }
  const windows = [...ws].sort((a, b) => a - b);
  const signals = [...ss].sort((a, b) => a - b);
  const wi = new Map(windows.map((w, i) => [w, i]));
  const si = new Map(signals.map((s, i) => [s, i]));
  const value: (number | null)[][] = windows.map(() => signals.map(() => null));
  const cell: (Cell | null)[][] = windows.map(() => signals.map(() => null));
  let min: number | null = null;
  let max: number | null = null;
  for (const c of cells) {
    const p = c.substrategies[k];
    if (!p) continue;
    const v = c.metrics[objective];
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    const [i, j] = [wi.get(p.window) as number, si.get(p.signal) as number];
    const cur = value[i][j];
    if (cur === null || (minimise ? v < cur : v > cur)) {
      value[i][j] = v;
      cell[i][j] = c;
    }
  }
  for (const row of value)
    for (const v of row)
      if (v !== null) {
        min = min === null ? v : Math.min(min, v);
        max = max === null ? v : Math.max(max, v);
      }
  return { windows, signals, value, cell, min, max };
}

// A colour from red (worst) through white to green (best) for a value in [min, max].
export function heatColour(v: number | null, min: number | null, max: number | null, minimise = false): string {
  if (v === null || min === null || max === null) return "#e5e7eb";
  let t = max === min ? 0.5 : (v - min) / (max - min);
  if (minimise) t = 1 - t;
  const mix = (a: number, b: number, u: number) => Math.round(a + (b - a) * u);
  // 0 -> #b91c1c, 0.5 -> #f9fafb, 1 -> #047857
  if (t < 0.5) {
    const u = t / 0.5;
    return `rgb(${mix(185, 249, u)}, ${mix(28, 250, u)}, ${mix(28, 251, u)})`;
  }
  const u = (t - 0.5) / 0.5;
  return `rgb(${mix(249, 4, u)}, ${mix(250, 120, u)}, ${mix(251, 87, u)})`;
}

// The config of one cell: the strategy's config with the cell's windows and signals.
export function cellConfig<C extends { substrategies: { window?: number; signal?: number }[] }>(config: C, c: Cell): C {
  return {
    ...config,
    substrategies: config.substrategies.map((s, i) =>
      c.substrategies[i] ? { ...s, window: c.substrategies[i].window, signal: c.substrategies[i].signal } : s,
    ),
  };
}
