// A strategy's version history (GET /strategies/{id}/versions) and the diff of two versions.
import { useEffect, useMemo, useState } from "react";
import { api, call } from "../api/client";
import { lineDiff, versionText } from "../lib/diff";
import { formatTime, useZone } from "../lib/time";

export default function Versions({ id, current }: { id: string; current: number }) {
  const zone = useZone();
  const [versions, setVersions] = useState<Record<string, unknown>[]>([]);
  const [a, setA] = useState(0);
  const [b, setB] = useState(0);
  useEffect(() => {
    call(api.GET("/api/v1/strategies/{id}/versions", { params: { path: { id } } }))
      .then((vs) => {
        setVersions(vs as unknown as Record<string, unknown>[]);
        setB(vs.length);
        setA(Math.max(1, vs.length - 1));
      })
      .catch(() => setVersions([]));
  }, [id, current]);
  const diff = useMemo(() => {
    const va = versions.find((v) => v.version === a);
    const vb = versions.find((v) => v.version === b);
    return va && vb ? lineDiff(versionText(va), versionText(vb)) : [];
  }, [versions, a, b]);
  if (versions.length === 0) return null;
  return (
    <details className="versions" data-testid="versions" data-count={versions.length}>
      <summary>Version history ({versions.length})</summary>
      <ul>
        {versions.map((v) => (
          <li key={String(v.version)}>
            v{String(v.version)} · {formatTime(String(v.created_at), zone)}
          </li>
        ))}
      </ul>
      <div className="row">
        <label>
          From
          <select value={a} onChange={(e) => setA(Number(e.target.value))}>
            {versions.map((v) => (
              <option key={String(v.version)} value={Number(v.version)}>
                v{String(v.version)}
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <select value={b} onChange={(e) => setB(Number(e.target.value))}>
            {versions.map((v) => (
              <option key={String(v.version)} value={Number(v.version)}>
                v{String(v.version)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <pre className="diff" data-testid="diff" data-removed={diff.filter((l) => l.op === "-").length} data-added={diff.filter((l) => l.op === "+").length}>
        {diff.map((l, i) => (
          <div key={i} className={l.op === "+" ? "add" : l.op === "-" ? "del" : ""}>
            {l.op} {l.text}
          </div>
        ))}
      </pre>
    </details>
  );
}
