// Times as the pages show them: UTC (the default) or the browser's local zone, switched in the
// header (always visible) and remembered in localStorage.
import { useSyncExternalStore } from "react";

export type Zone = "UTC" | "local";

// "2024-01-02 15:04 UTC" or "2024-01-02 17:04 local" (seconds with `seconds`); "–" for none.
export function formatTime(iso: string | null | undefined, zone: Zone, seconds = false): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const len = seconds ? 19 : 16;
  if (zone === "UTC") return `${d.toISOString().slice(0, len).replace("T", " ")} UTC`;
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return `${local.toISOString().slice(0, len).replace("T", " ")} local`;
}

const KEY = "quant.zone";
const listeners = new Set<() => void>();
let zone: Zone = (() => {
  try {
    return globalThis.localStorage?.getItem(KEY) === "local" ? "local" : "UTC";
  } catch {
    return "UTC";
  }
})();

export function setZone(z: Zone) {
  zone = z;
  try {
    globalThis.localStorage?.setItem(KEY, z);
  } catch {
    /* private mode: not remembered */
  }
  for (const l of listeners) l();
}

export function useZone(): Zone {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => zone,
  );
}
