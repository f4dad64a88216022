// CSV (RFC 4180) of rows and a download of it. Objects and arrays become their JSON.
export interface Column<R> {
  key: string;
  value: (r: R) => unknown;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<R>(rows: R[], columns: Column<R>[]): string {
  const lines = [columns.map((c) => cell(c.key)).join(",")];
  for (const r of rows) lines.push(columns.map((c) => cell(c.value(r))).join(","));
  return lines.join("\r\n") + "\r\n";
}

// The columns of every key that occurs in the objects, in first-seen order.
export function columnsOf(rows: Record<string, unknown>[]): Column<Record<string, unknown>>[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
  return keys.map((k) => ({ key: k, value: (r) => r[k] }));
}

export function download(name: string, text: string, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
