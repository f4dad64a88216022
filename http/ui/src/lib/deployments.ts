// One dashboard row of a deployment, from its GET /deployments/{id} JSON.
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
  const trade = d.recent_trades && d.recent_trades.length > 0 ? d.recent_trades[0] : undefined;
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
    tradesToday: `${tradesToday(d.recent_trades, now)} / ${d.risk_limits?.max_daily_trades ?? 10}`,
  };
}
