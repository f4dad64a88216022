// A backtest result handed from the Backtest page to the deploy wizard (sessionStorage, per
// strategy, read once): the wizard stores that very result (seed §3 step 3).
const key = (id: string) => `quant.backtest.${id}`;

export function handBacktest(strategyId: string, result: unknown) {
  try {
    sessionStorage.setItem(key(strategyId), JSON.stringify(result));
  } catch {
    /* storage off: the wizard runs its own backtest */
  }
}

export function takeBacktest(strategyId: string): Record<string, unknown> | null {
  try {
    const s = sessionStorage.getItem(key(strategyId));
    sessionStorage.removeItem(key(strategyId));
    const v = s ? (JSON.parse(s) as unknown) : null;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
