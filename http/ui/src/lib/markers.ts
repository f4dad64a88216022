// Events (signals, fills, entries and exits) as chart markers on a price series: each at the
// bar at or before its time (a marker needs a bar of the series), sorted by time; events before
// the first bar or without a time are dropped.
import type { Point } from "./series";

export interface MarkerEvent {
  ts: string | null | undefined;
  kind: "long" | "short" | "flat" | "buy" | "sell" | "rejected";
  text?: string;
}

export interface Marker {
  time: number;
  kind: MarkerEvent["kind"];
  text: string;
}

export function snapMarkers(price: Point[], events: MarkerEvent[]): Marker[] {
  const out: Marker[] = [];
  for (const e of events) {
    if (!e.ts) continue;
    const t = Math.floor(Date.parse(e.ts) / 1000);
    if (!Number.isFinite(t) || price.length === 0 || t < price[0].time) continue;
    // the last bar with time <= t (binary search)
    let lo = 0;
    let hi = price.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (price[mid].time <= t) lo = mid;
      else hi = mid - 1;
    }
    out.push({ time: price[lo].time, kind: e.kind, text: e.text ?? e.kind.toUpperCase() });
  }
  return out.sort((a, b) => a.time - b.time);
}

// Entries and exits of a backtest from its position column: a marker where the position changes.
export function positionChanges<R extends { ts: string; position?: number | null }>(rows: R[]): MarkerEvent[] {
  const out: MarkerEvent[] = [];
  let prev = 0;
  for (const r of rows) {
    const p = r.position;
    if (p === null || p === undefined || !Number.isFinite(p)) continue;
    if (p !== prev) {
      const kind: MarkerEvent["kind"] = p > 0 ? "long" : p < 0 ? "short" : "flat";
      out.push({ ts: r.ts, kind, text: p === 0 ? "exit" : p > 0 ? "long" : "short" });
      prev = p;
    }
  }
  return out;
}
