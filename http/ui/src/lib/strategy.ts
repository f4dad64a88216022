// A stored strategy back to the StrategyConfig that POST /backtest takes: only the config's own
// keys (the stored object also has its id, version, times and latest result).
import type { Strategy, StrategyConfig } from "../api/client";

const KEYS = ["name", "ticker", "conjunction", "trading_period", "fill_delay_bars", "substrategies"] as const;

export function strategyConfig(s: Strategy): StrategyConfig {
  const out: Record<string, unknown> = {};
  const src = s as unknown as Record<string, unknown>;
  for (const k of KEYS) if (src[k] !== undefined && src[k] !== null) out[k] = src[k];
  return out as unknown as StrategyConfig;
}
