// A deployment's P&L from its booked position (quant.deployment_position): realised as booked,
// unrealised = (last price - average price) x signed quantity.
export function positionPnl(
  position: Record<string, unknown> | null,
  lastPrice: number | null,
): { realized: number | null; unrealized: number | null } {
  const n = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN);
  if (!position) return { realized: null, unrealized: null };
  const qty = n(position.qty);
  const avg = n(position.avg_price);
  const realized = Number.isFinite(n(position.realized_pnl)) ? n(position.realized_pnl) : null;
  let unrealized: number | null = null;
  if (Number.isFinite(qty) && qty === 0) unrealized = 0;
  else if (Number.isFinite(qty) && Number.isFinite(avg) && lastPrice !== null && Number.isFinite(lastPrice))
    unrealized = (lastPrice - avg) * qty;
  return { realized, unrealized };
}
