import type { Problem } from "../lib/problem";

// A problem+json error: its title, detail, the field it names and the hint.
export default function ProblemBox({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return (
    <div className="problem" role="alert" data-testid="problem" data-status={problem.status}>
      <strong>{problem.title}</strong>
      <span className="detail">{problem.detail}</span>
      {problem.field && <span className="field">field: {problem.field}</span>}
      {problem.hint && <span className="hint">hint: {problem.hint}</span>}
    </div>
  );
}
