// A line diff (longest common subsequence) of two texts, for the version history: each line
// kept (" "), removed ("-") or added ("+").
export interface DiffLine {
  op: " " | "-" | "+";
  text: string;
}

export function lineDiff(a: string, b: string): DiffLine[] {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: the LCS length of x[i..] and y[j..]
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: " ", text: x[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: "-", text: x[i++] });
    else out.push({ op: "+", text: y[j++] });
  }
  while (i < n) out.push({ op: "-", text: x[i++] });
  while (j < m) out.push({ op: "+", text: y[j++] });
  return out;
}

// A version's config as diffable text: keys sorted, the bookkeeping keys left out.
export function versionText(v: Record<string, unknown>): string {
  const skip = new Set(["created_at", "params_hash", "version", "strategy_id"]);
  const sort = (o: unknown): unknown =>
    Array.isArray(o)
      ? o.map(sort)
      : o && typeof o === "object"
        ? Object.fromEntries(Object.keys(o as object).sort().map((k) => [k, sort((o as Record<string, unknown>)[k])]))
        : o;
  const top = Object.fromEntries(Object.entries(v).filter(([k]) => !skip.has(k)));
  return JSON.stringify(sort(top), null, 2);
}
