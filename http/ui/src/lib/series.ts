// The per-bar series of a backtest as chart points: seconds since the epoch (UTC), strictly
// increasing, no null or non-finite values (a chart library refuses those).

export interface Point {
  time: number;
  value: number;
}

export function toPoints<R extends { ts: string }>(rows: R[], pick: (r: R) => number | null | undefined): Point[] {
  const out: Point[] = [];
  let last = -Infinity;
  for (const r of rows) {
    const v = pick(r);
    const t = Math.floor(Date.parse(r.ts) / 1000);
    if (v === null || v === undefined || !Number.isFinite(v) || !Number.isFinite(t) || t <= last) continue;
    out.push({ time: t, value: v });
    last = t;
  }
  return out;
}

// Cumulative returns (0.12 = +12%) as equity of 1 unit invested.
export function equityPoints<R extends { ts: string }>(rows: R[], pick: (r: R) => number | null | undefined): Point[] {
  return toPoints(rows, pick).map((p) => ({ time: p.time, value: 1 + p.value }));
}
