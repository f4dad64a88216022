// The pages and their paths (the server answers every path outside /api/ with index.html).

export type Page =
  | { name: "strategies" }
  | { name: "backtest"; id: string }
  | { name: "optimise"; id: string }
  | { name: "deploy"; id: string }
  | { name: "deployments" }
  | { name: "deployment"; id: string }
  | { name: "not-found"; path: string };

const UUID = "[0-9a-fA-F-]{36}";

export function pageOf(path: string): Page {
  const p = path.replace(/\/+$/, "") || "/";
  if (p === "/" || p === "/strategies") return { name: "strategies" };
  if (p === "/deployments") return { name: "deployments" };
  let m = new RegExp(`^/strategies/(${UUID})(?:/backtest)?$`).exec(p);
  if (m) return { name: "backtest", id: m[1] };
  m = new RegExp(`^/strategies/(${UUID})/(optimise|deploy)$`).exec(p);
  if (m) return { name: m[2] as "optimise" | "deploy", id: m[1] };
  m = new RegExp(`^/deployments/(${UUID})$`).exec(p);
  if (m) return { name: "deployment", id: m[1] };
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
    case "optimise":
      return `/strategies/${page.id}/optimise`;
    case "deploy":
      return `/strategies/${page.id}/deploy`;
    case "deployment":
      return `/deployments/${page.id}`;
    case "not-found":
      return page.path;
  }
}
