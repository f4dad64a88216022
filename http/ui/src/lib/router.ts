// The pages and their paths (the server answers every path outside /api/ with index.html).

export type Page =
  | { name: "strategies" }
  | { name: "backtest"; id: string }
  | { name: "optimise"; id: string }
  | { name: "deploy"; id: string }
  | { name: "deployments" }
  | { name: "deployment"; id: string }
  | { name: "admin" }
  | { name: "bench" }
  | { name: "editor"; id?: string }
  | { name: "not-found"; path: string };

const UUID = "[0-9a-fA-F-]{36}";

export function pageOf(path: string): Page {
  const p = path.replace(/\/+$/, "") || "/";
  if (p === "/" || p === "/strategies") return { name: "strategies" };
  if (p === "/deployments") return { name: "deployments" };
  if (p === "/admin") return { name: "admin" };
  if (p === "/bench/chart") return { name: "bench" };
  if (p === "/strategies/new") return { name: "editor" };
  let m = new RegExp(`^/strategies/(${UUID})(?:/backtest)?$`).exec(p);
  if (m) return { name: "backtest", id: m[1] };
  m = new RegExp(`^/strategies/(${UUID})/(optimise|deploy)$`).exec(p);
  if (m) return { name: m[2] as "optimise" | "deploy", id: m[1] };
  m = new RegExp(`^/strategies/(${UUID})/edit$`).exec(p);
  if (m) return { name: "editor", id: m[1] };
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
    case "admin":
      return "/admin";
    case "bench":
      return "/bench/chart";
    case "editor":
      return page.id ? `/strategies/${page.id}/edit` : "/strategies/new";
    case "not-found":
      return page.path;
  }
}
