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
}

const SIGNALS: Record<string, string> = { "1": "LONG", "0": "FLAT", "-1": "SHORT" };

export function deploymentRow(d: DeploymentLike): DeploymentRow {
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
      sig && sig.signal !== undefined ? `${SIGNALS[String(sig.signal)] ?? sig.signal} @ ${utc(sig.bar_ts)}` : "–",
    lastTrade: trade ? `${trade.action ?? "?"}${trade.success === false ? " (failed)" : ""} @ ${utc(trade.ts)}` : "–",
  };
}
