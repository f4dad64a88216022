// A table for long logs: only the rows in view are in the DOM (lib/virtual.ts). The wrapper says
// data-total-rows and data-rendered-rows for the tests.
import { useState, type ReactNode } from "react";
import { visibleRange } from "../lib/virtual";

const ROW = 30;

export default function VirtualTable<R>(props: {
  testId: string;
  label: string;
  rows: R[];
  header: string[];
  cells: (r: R) => ReactNode[];
  rowClass?: (r: R) => string;
  rowKey: (r: R) => string;
  height?: number;
}) {
  const height = props.height ?? 320;
  const [top, setTop] = useState(0);
  const { first, last } = visibleRange(top, height, ROW, props.rows.length);
  const shown = props.rows.slice(first, last);
  return (
    <div
      className="vtable"
      style={{ maxHeight: height }}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)}
      data-testid={props.testId}
      data-total-rows={props.rows.length}
      data-rendered-rows={shown.length}
      role="region"
      aria-label={props.label}
      tabIndex={0}
    >
      <table>
        <thead>
          <tr>
            {props.header.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <tr style={{ height: first * ROW }} aria-hidden="true" />}
          {shown.map((r) => (
            <tr key={props.rowKey(r)} className={props.rowClass?.(r) ?? ""} style={{ height: ROW }}>
              {props.cells(r).map((c, i) => (
                <td key={i}>{c}</td>
              ))}
            </tr>
          ))}
          {last < props.rows.length && <tr style={{ height: (props.rows.length - last) * ROW }} aria-hidden="true" />}
          {props.rows.length === 0 && (
            <tr>
              <td colSpan={props.header.length}>None yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
