// A synthetic price series of n bars (default 100,000; ?n=) drawn by the price chart, for the
// browser performance test (test/ui/perf.mjs: frame times while it pans and zooms). Not linked
// from the navigation; lazily loaded, so it costs the initial bundle nothing.
import { lazy, Suspense, useMemo } from "react";
import type { Point } from "../lib/series";

const PriceChart = lazy(() => import("../components/PriceChart"));

export function syntheticSeries(n: number, seed = 1): Point[] {
  // a deterministic random walk: minute bars from 2020-01-01
  let x = seed >>> 0 || 1;
  let v = 100;
  const out: Point[] = new Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v = Math.max(1, v * (1 + ((x >>> 0) / 4294967296 - 0.5) * 0.004));
    out[i] = { time: 1577836800 + i * 60, value: v };
  }
  return out;
}

export default function BenchChart() {
  const n = Math.min(1_000_000, Math.max(1, Number(new URLSearchParams(window.location.search).get("n")) || 100_000));
  const price = useMemo(() => syntheticSeries(n), [n]);
  return (
    <section>
      <h1>Chart bench: {n.toLocaleString("en")} bars</h1>
      <Suspense fallback={<p>Loading chart…</p>}>
        <PriceChart price={price} markers={[]} testId="bench-chart" />
      </Suspense>
    </section>
  );
}
