// Walk-forward equity: the in-sample part and the out-of-sample part in two colours, with a
// "split" marker at the split bar. The element says what it draws (data-is-length,
// data-oos-length, data-split-time).
import { useEffect, useMemo, useRef } from "react";
import { createChart, createSeriesMarkers, LineSeries, type UTCTimestamp } from "lightweight-charts";
import type { Point } from "../lib/series";

export default function SplitEquityChart({ equity, splitTime }: { equity: Point[]; splitTime: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const inS = useMemo(() => equity.filter((p) => p.time < splitTime), [equity, splitTime]);
  const outS = useMemo(() => equity.filter((p) => p.time >= splitTime), [equity, splitTime]);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chart = createChart(el, { height: 260, width: el.clientWidth, layout: { attributionLogo: false }, timeScale: { minBarSpacing: 0.01 } });
    const asData = (ps: Point[]) => ps.map((p) => ({ time: p.time as UTCTimestamp, value: p.value }));
    chart.addSeries(LineSeries, { color: "#2563eb", lineWidth: 2, title: "in-sample" }).setData(asData(inS));
    const o = chart.addSeries(LineSeries, { color: "#ea580c", lineWidth: 2, title: "out-of-sample" });
    o.setData(asData(outS));
    if (outS.length > 0)
      createSeriesMarkers(o, [{ time: outS[0].time as UTCTimestamp, position: "aboveBar", shape: "arrowDown", color: "#111827", text: "split" }]);
    chart.timeScale().fitContent();
    const resize = () => chart.applyOptions({ width: el.clientWidth });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.remove();
    };
  }, [inS, outS]);
  return (
    <figure
      ref={ref}
      className="chart"
      data-testid="walk-forward-chart"
      data-is-length={inS.length}
      data-oos-length={outS.length}
      data-split-time={outS.length ? outS[0].time : ""}
      aria-label={`walk-forward equity: ${inS.length} in-sample and ${outS.length} out-of-sample points`}
    />
  );
}
