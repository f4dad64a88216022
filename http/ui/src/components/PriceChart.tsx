// Price with markers (signals and fills of a deployment, or a backtest's entries and exits),
// lightweight-charts in the lazily loaded chart chunk. The element says what it draws:
// data-series-length and data-markers (and per kind, data-markers-<kind>).
import { useEffect, useRef } from "react";
import { createChart, createSeriesMarkers, LineSeries, type SeriesMarker, type UTCTimestamp } from "lightweight-charts";
import type { Point } from "../lib/series";
import type { Marker } from "../lib/markers";

const STYLE: Record<Marker["kind"], { color: string; shape: "arrowUp" | "arrowDown" | "circle" | "square"; position: "belowBar" | "aboveBar" | "inBar" }> = {
  long: { color: "#047857", shape: "arrowUp", position: "belowBar" },
  buy: { color: "#2563eb", shape: "circle", position: "belowBar" },
  short: { color: "#b91c1c", shape: "arrowDown", position: "aboveBar" },
  sell: { color: "#9333ea", shape: "circle", position: "aboveBar" },
  flat: { color: "#6b7280", shape: "square", position: "inBar" },
  rejected: { color: "#f59e0b", shape: "square", position: "aboveBar" },
};

export default function PriceChart({ price, markers, testId }: { price: Point[]; markers: Marker[]; testId: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chart = createChart(el, { height: 260, width: el.clientWidth, layout: { attributionLogo: false }, timeScale: { minBarSpacing: 0.01 } });
    const s = chart.addSeries(LineSeries, { color: "#111827", lineWidth: 1, title: "price" });
    s.setData(price.map((p) => ({ time: p.time as UTCTimestamp, value: p.value })));
    const ms: SeriesMarker<UTCTimestamp>[] = markers.map((m) => ({ time: m.time as UTCTimestamp, text: m.text, ...STYLE[m.kind] }));
    createSeriesMarkers(s, ms);
    chart.timeScale().fitContent();
    const resize = () => chart.applyOptions({ width: el.clientWidth });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.remove();
    };
  }, [price, markers]);
  const per: Record<string, number> = {};
  for (const m of markers) per[`data-markers-${m.kind}`] = (per[`data-markers-${m.kind}`] ?? 0) + 1;
  return (
    <figure
      ref={ref}
      className="chart"
      data-testid={testId}
      data-series-length={price.length}
      data-markers={markers.length}
      {...per}
      aria-label={`price chart: ${price.length} points, ${markers.length} markers`}
    />
  );
}
