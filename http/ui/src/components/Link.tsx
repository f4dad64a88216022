import type { ReactNode, MouseEvent } from "react";
import { pathOf, type Page } from "../lib/router";

export function navigate(page: Page) {
  window.history.pushState(null, "", pathOf(page));
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function Link({ to, children }: { to: Page; children: ReactNode }) {
  const onClick = (e: MouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={pathOf(to)} onClick={onClick}>
      {children}
    </a>
  );
}
