// Errors as the UI shows them: RFC 9457 problem details from quant-http (detail, hint, field),
// or "the API is unreachable" when no answer came at all.

export interface Problem {
  status: number; // 0: no answer (network)
  title: string;
  detail: string;
  hint?: string;
  field?: string;
  type?: string;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

// A problem from a response's status and parsed body (a problem+json object, or anything else).
export function toProblem(status: number, body: unknown): Problem {
  const o = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const title = text(o.title) ?? (status === 0 ? "API unreachable" : `HTTP ${status}`);
  return {
    status,
    title,
    detail: text(o.detail) ?? (status === 0 ? "the server did not answer" : title),
    hint: text(o.hint),
    field: text(o.field),
    type: text(o.type),
  };
}

export const unreachable = (why: string): Problem => ({
  status: 0,
  title: "API unreachable",
  detail: why,
});

// Whether the banner "API unreachable" should show for this problem.
export function isUnreachable(p: Problem): boolean {
  return p.status === 0 || p.status === 502 || p.status === 503 || p.status === 504;
}

// One line for a problem: "detail (field: x)".
export function describe(p: Problem): string {
  return p.field ? `${p.detail} (field: ${p.field})` : p.detail;
}
