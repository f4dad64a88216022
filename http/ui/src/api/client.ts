// The one way the UI calls quant-http: openapi-fetch over the types generated from
// /api/v1/openapi.json (src/api/schema.d.ts, `npm run gen`; never written by hand). The session
// cookie travels by itself (same origin); every mutation sends X-Quant-Csrf, which the server
// requires of requests by cookie. Failures become an ApiError holding the problem+json.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { ApiError, toProblem, unreachable, isUnreachable, type Problem } from "../lib/problem";

export type Schemas = components["schemas"];
export type Strategy = Schemas["Strategy"];
export type Deployment = Schemas["Deployment"];
export type DashboardRow = Schemas["DashboardRow"];
export type Login = Schemas["Login"];
export type BacktestResults = Schemas["BacktestResults"];
export type SeriesRow = Schemas["SeriesRow"];
export type StrategyConfig = Schemas["StrategyConfig"];

export const CSRF_HEADER = "X-Quant-Csrf";

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD") request.headers.set(CSRF_HEADER, "1");
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);

// Who listens for "the API answers / does not answer" (the banner).
type Listener = (problem: Problem | null) => void;
const listeners = new Set<Listener>();
export function onReachability(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
function report(p: Problem | null) {
  for (const l of listeners) l(p);
}

// Who listens for "the session ended" (a 401 on any call but the login itself).
const onLoggedOut = new Set<() => void>();
export function onUnauthenticated(l: () => void): () => void {
  onLoggedOut.add(l);
  return () => onLoggedOut.delete(l);
}

// Awaits an openapi-fetch call: its data, or throws ApiError (status 0 when nothing answered).
export async function call<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await pending;
  } catch (e) {
    const p = unreachable(e instanceof Error ? e.message : String(e));
    report(p);
    throw new ApiError(p);
  }
  if (r.response.ok) {
    report(null);
    return r.data as T;
  }
  const p = toProblem(r.response.status, r.error);
  report(isUnreachable(p) ? p : null);
  if (p.status === 401 && !r.response.url.endsWith("/api/v1/session")) for (const l of onLoggedOut) l();
  throw new ApiError(p);
}
