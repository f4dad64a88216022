// Equity of the strategy against buy and hold, and the price (lightweight-charts, loaded lazily:
// this module is its own chunk). The wrapper's data-* attributes say what the canvas draws.
import { useEffect, useRef } from "react";
import { createChart, LineSeries, type UTCTimestamp } from "lightweight-charts";
import type { Point } from "../lib/series";

export interface EquityChartProps {
  equity: Point[];
  buyHold: Point[];
  price: Point[];
}

const asData = (ps: Point[]) => ps.map((p) => ({ time: p.time as UTCTimestamp, value: p.value }));

export default function EquityChart({ equity, buyHold, price }: EquityChartProps) {
  const equityRef = useRef<HTMLDivElement>(null);
  const priceRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = equityRef.current;
    const pel = priceRef.current;
    if (!el || !pel) return;
    const opts = { height: 260, layout: { attributionLogo: false }, timeScale: { timeVisible: false, minBarSpacing: 0.01 } };
    const chart = createChart(el, { ...opts, width: el.clientWidth });
    chart.addSeries(LineSeries, { color: "#2563eb", lineWidth: 2, title: "strategy" }).setData(asData(equity));
    chart.addSeries(LineSeries, { color: "#9ca3af", lineWidth: 1, title: "buy & hold" }).setData(asData(buyHold));
    chart.timeScale().fitContent();
    const pchart = createChart(pel, { ...opts, height: 180, width: pel.clientWidth });
    pchart.addSeries(LineSeries, { color: "#111827", lineWidth: 1, title: "price" }).setData(asData(price));
    pchart.timeScale().fitContent();
    const resize = () => {
      chart.applyOptions({ width: el.clientWidth });
      pchart.applyOptions({ width: pel.clientWidth });
    };
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.remove();
      pchart.remove();
    };
  }, [equity, buyHold, price]);

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
        aria-label={`price chart: ${price.length} points`}
      />
    </div>
  );
}
