// Which rows of a long list to render: the ones in view plus `overscan` on each side (fixed
// row height). The rest is empty space, so the DOM holds a few dozen rows of any list.
export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 10,
): { first: number; last: number } {
  if (total <= 0 || rowHeight <= 0) return { first: 0, last: 0 };
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}
