// The pages and their paths (the server answers every path outside /api/ with index.html).

export type Page =
  | { name: "strategies" }
  | { name: "backtest"; id: string }
  | { name: "deployments" }
  | { name: "not-found"; path: string };

const UUID = "[0-9a-fA-F-]{36}";

export function pageOf(path: string): Page {
  const p = path.replace(/\/+$/, "") || "/";
  if (p === "/" || p === "/strategies") return { name: "strategies" };
  if (p === "/deployments") return { name: "deployments" };
  const m = new RegExp(`^/strategies/(${UUID})(?:/backtest)?$`).exec(p);
  if (m) return { name: "backtest", id: m[1] };
  return { name: "not-found", path };
}

export function pathOf(page: Page): string {
  switch (page.name) {
    case "strategies":
      return "/strategies";
    case "deployments":
      return "/deployments";
    case "backtest":
      return `/strategies/${page.id}/backtest`;
    case "not-found":
      return page.path;
  }
}
