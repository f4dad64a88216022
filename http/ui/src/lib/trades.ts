// A backtest's trades from its per-bar position: a trade opens where the position becomes
// non-zero (or flips side) and closes where it goes flat or flips; one still open at the end has
// no exit. Return is the price move in the trade's direction (before fees).
export interface BacktestTrade {
  side: "LONG" | "SHORT";
  entry_ts: string;
  entry_price: number;
  exit_ts: string | null;
  exit_price: number | null;
  ret: number | null;
  bars: number;
}

export function backtestTrades<R extends { ts: string; position?: number | null; price?: number | null }>(rows: R[]): BacktestTrade[] {
  const out: BacktestTrade[] = [];
  let open: BacktestTrade | null = null;
  let pos = 0;
  for (const r of rows) {
    const p = r.position;
    const px = r.price;
    if (p === null || p === undefined || !Number.isFinite(p) || px === null || px === undefined) continue;
    if (open) open.bars++;
    if (p === pos) continue;
    if (open) {
      open.exit_ts = r.ts;
      open.exit_price = px;
      open.ret = open.side === "LONG" ? px / open.entry_price - 1 : 1 - px / open.entry_price;
      out.push(open);
      open = null;
    }
    if (p !== 0) open = { side: p > 0 ? "LONG" : "SHORT", entry_ts: r.ts, entry_price: px, exit_ts: null, exit_price: null, ret: null, bars: 0 };
    pos = p;
  }
  if (open) out.push(open);
  return out;
}
