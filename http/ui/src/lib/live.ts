// Live against the backtest of the same bars (deployment detail): each live signal beside the
// position the backtest of the pinned version holds at that bar (quant.evaluate_config's signal
// on a bar equals quant.backtest_series' position there), and each fill beside the bar's close
// the backtest trades at.
type Row = Record<string, unknown>;

export interface LiveRow {
  barTs: string;
  live: number | null;
  backtest: number | null; // null: the bar is not in the backtest's series (or its position is undefined)
  match: boolean | null;
}
export interface FillRow {
  ts: string;
  barTs: string;
  action: string;
  price: number | null;
  backtestPrice: number | null;
  slippage: number | null; // fill - backtest close, in price units (positive: paid more / sold higher)
}
export interface LiveVsBacktest {
  rows: LiveRow[];
  fills: FillRow[];
  compared: number;
  matched: number;
  mismatched: number;
  missing: number;
}

const n = (v: unknown): number | null => {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
};
const ms = (v: unknown) => (typeof v === "string" || typeof v === "number" ? new Date(v).getTime() : NaN);

export function liveVsBacktest(signals: Row[], trades: Row[], series: { ts?: unknown; position?: unknown; price?: unknown }[]): LiveVsBacktest {
  const byTs = new Map<number, { position: number | null; price: number | null }>();
  for (const r of series) {
    const t = ms(r.ts);
    if (Number.isFinite(t)) byTs.set(t, { position: n(r.position), price: n(r.price) });
  }
  // the strategy's own signals only: a flatten or a stop loss (source, or no evaluated substrategies) is not the strategy's
  const own = signals.filter((s) =>
    typeof s.source === "string" ? s.source === "schedule" : !(Array.isArray(s.substrategies) && s.substrategies.length === 0),
  );
  const rows: LiveRow[] = own
    .map((s) => {
      const bt = byTs.get(ms(s.bar_ts));
      const live = n(s.signal);
      const backtest = bt ? bt.position : null;
      return { barTs: String(s.bar_ts), live, backtest, match: live === null || backtest === null ? null : live === backtest };
    })
    .sort((a, b) => ms(a.barTs) - ms(b.barTs));
  const fills: FillRow[] = trades
    .filter((t) => (t.action === "BUY" || t.action === "SELL") && t.success !== false)
    .map((t) => {
      const bt = byTs.get(ms(t.bar_ts));
      const price = n(t.price);
      const backtestPrice = bt ? bt.price : null;
      return {
        ts: String(t.timestamp ?? t.ts ?? ""),
        barTs: String(t.bar_ts ?? ""),
        action: String(t.action),
        price,
        backtestPrice,
        slippage: price !== null && backtestPrice !== null ? price - backtestPrice : null,
      };
    });
  const matched = rows.filter((r) => r.match === true).length;
  const mismatched = rows.filter((r) => r.match === false).length;
  return { rows, fills, compared: matched + mismatched, matched, mismatched, missing: rows.length - matched - mismatched };
}
