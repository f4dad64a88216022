// Equity of the strategy against buy and hold, and the price (lightweight-charts, loaded lazily:
// this module is its own chunk). The wrapper's data-* attributes say what the canvas draws.
import { useEffect, useRef } from "react";
import { createChart, createSeriesMarkers, LineSeries, type UTCTimestamp } from "lightweight-charts";
import type { Point } from "../lib/series";
import type { Marker } from "../lib/markers";

export interface EquityChartProps {
  equity: Point[];
  buyHold: Point[];
  price: Point[];
  drawdown: Point[];
  markers: Marker[];
}

const asData = (ps: Point[]) => ps.map((p) => ({ time: p.time as UTCTimestamp, value: p.value }));

export default function EquityChart({ equity, buyHold, price, drawdown, markers }: EquityChartProps) {
  const equityRef = useRef<HTMLDivElement>(null);
  const priceRef = useRef<HTMLDivElement>(null);
  const ddRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = equityRef.current;
    const pel = priceRef.current;
    const del = ddRef.current;
    if (!el || !pel || !del) return;
    const opts = { height: 260, layout: { attributionLogo: false }, timeScale: { timeVisible: false, minBarSpacing: 0.01 } };
    const chart = createChart(el, { ...opts, width: el.clientWidth });
    chart.addSeries(LineSeries, { color: "#2563eb", lineWidth: 2, title: "strategy" }).setData(asData(equity));
    chart.addSeries(LineSeries, { color: "#9ca3af", lineWidth: 1, title: "buy & hold" }).setData(asData(buyHold));
    chart.timeScale().fitContent();
    const pchart = createChart(pel, { ...opts, height: 180, width: pel.clientWidth });
    const ps = pchart.addSeries(LineSeries, { color: "#111827", lineWidth: 1, title: "price" });
    ps.setData(asData(price));
    createSeriesMarkers(
      ps,
      markers.map((m) => ({
        time: m.time as UTCTimestamp,
        text: m.text,
        color: m.kind === "long" ? "#047857" : m.kind === "short" ? "#b91c1c" : "#6b7280",
        shape: m.kind === "long" ? "arrowUp" : m.kind === "short" ? "arrowDown" : "square",
        position: m.kind === "long" ? "belowBar" : "aboveBar",
      })),
    );
    pchart.timeScale().fitContent();
    const dchart = createChart(del, { ...opts, height: 140, width: del.clientWidth });
    dchart.addSeries(LineSeries, { color: "#b91c1c", lineWidth: 1, title: "drawdown" }).setData(asData(drawdown));
    dchart.timeScale().fitContent();
    const resize = () => {
      chart.applyOptions({ width: el.clientWidth });
      pchart.applyOptions({ width: pel.clientWidth });
      dchart.applyOptions({ width: del.clientWidth });
    };
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.remove();
      pchart.remove();
      dchart.remove();
    };
  }, [equity, buyHold, price, drawdown, markers]);

  return (
    <div className="charts">
      <figure
        ref={equityRef}
        className="chart"
        data-testid="equity-chart"
        data-series-length={equity.length}
        data-buyhold-length={buyHold.length}
        aria-label={`equity chart: strategy ${equity.length} points, buy and hold ${buyHold.length} points`}
      />
      <figure
        ref={priceRef}
        className="chart"
        data-testid="price-chart"
        data-series-length={price.length}
        data-markers={markers.length}
        data-entries={markers.filter((m) => m.kind !== "flat").length}
        data-exits={markers.filter((m) => m.kind === "flat").length}
        aria-label={`price chart: ${price.length} points, ${markers.length} entry and exit markers`}
      />
      <figure
        ref={ddRef}
        className="chart"
        data-testid="drawdown-chart"
        data-series-length={drawdown.length}
        aria-label={`drawdown chart: ${drawdown.length} points`}
      />
    </div>
  );
}
