// One dashboard row of a deployment: from a row of GET /dashboard (quant.deployment_dashboard:
// last_trade, trades_today, max_daily_trades and the P&L come with it), or from GET /deployments/{id}.
import { utc } from "./format";

export interface DeploymentLike {
  deployment_id: string;
  enabled?: boolean;
  paper: boolean;
  broker: string;
  ticker: string;
  qty: number;
  status: string;
  last_signal?: { signal?: number; bar_ts?: string } | null;
  recent_trades?: { action?: string; ts?: string; success?: boolean; qty?: number; price?: number }[];
  risk_limits?: { max_daily_trades?: number | null } | null;
  // GET /dashboard's
  last_trade?: { action?: string; ts?: string; success?: boolean; reason?: string | null } | null;
  trades_today?: number;
  max_daily_trades?: number;
  realized_pnl?: number | null;
  unrealized_pnl?: number | null;
  pnl?: number | null;
}

export interface DeploymentRow {
  id: string;
  enabled: boolean;
  mode: "PAPER" | "LIVE";
  broker: string;
  ticker: string;
  qty: string;
  status: string;
  lastSignal: string;
  lastTrade: string;
  hasSignal: boolean;
  hasTrade: boolean;
  // orders booked today (UTC) of the newest 20 rows, against max_daily_trades
  tradesToday: string;
  // realised + unrealised at the last price ("–" when unpriced); the raw figure for the tests
  pnl: string;
  pnlValue: number | null;
}

// BUY and SELL rows that succeeded on the UTC day of `now` (what max_daily_trades counts).
export function tradesToday(trades: DeploymentLike["recent_trades"], now: Date): number {
  const day = now.toISOString().slice(0, 10);
  return (trades ?? []).filter(
    (t) => (t.action === "BUY" || t.action === "SELL") && t.success !== false && typeof t.ts === "string" && new Date(t.ts).toISOString().slice(0, 10) === day,
  ).length;
}

const SIGNALS: Record<string, string> = { "1": "LONG", "0": "FLAT", "-1": "SHORT" };

export function deploymentRow(d: DeploymentLike, now: Date = new Date(), fmt: (iso?: string) => string = utc): DeploymentRow {
  const sig = d.last_signal;
  const trade =
    d.last_trade !== undefined
      ? (d.last_trade ?? undefined)
      : d.recent_trades && d.recent_trades.length > 0
        ? d.recent_trades[0]
        : undefined;
  const today = typeof d.trades_today === "number" ? d.trades_today : tradesToday(d.recent_trades, now);
  const limit = d.max_daily_trades ?? d.risk_limits?.max_daily_trades ?? 10;
  const pnl = typeof d.pnl === "number" && Number.isFinite(d.pnl) ? d.pnl : null;
  return {
    id: d.deployment_id,
    enabled: d.enabled ?? d.status === "active",
    mode: d.paper ? "PAPER" : "LIVE",
    broker: d.broker,
    ticker: d.ticker,
    qty: String(d.qty),
    status: d.status,
    lastSignal:
      sig && sig.signal !== undefined ? `${SIGNALS[String(sig.signal)] ?? sig.signal} @ ${fmt(sig.bar_ts)}` : "–",
    lastTrade: trade ? `${trade.action ?? "?"}${trade.success === false ? " (failed)" : ""} @ ${fmt(trade.ts)}` : "–",
    hasSignal: !!sig && sig.signal !== undefined,
    hasTrade: !!trade,
    tradesToday: `${today} / ${limit}`,
    pnl: pnl === null ? "–" : pnl.toFixed(2),
    pnlValue: pnl,
  };
}
