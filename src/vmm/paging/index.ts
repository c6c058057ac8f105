/**
 * The paging strategies by name, for the CLI, the library and the web page.
 *
 * @module
 */
import { NestedPaging } from "./nested.js";
import { ShadowPaging } from "./shadow.js";
import type { PagingStrategy, PagingModeName } from "./strategy.js";

export type { PagingStrategy, PagingModeName, ExitAction, PagingExit } from "./strategy.js";
export { NestedPaging, type NestedPagingOptions } from "./nested.js";
export { ShadowPaging, type ShadowPagingOptions } from "./shadow.js";

export const PAGING_MODES: readonly PagingModeName[] = ["direct", "nested", "shadow"];

/** The strategy for a mode (or the strategy given); null for direct (the core's default: nothing to intercept). */
export function createPaging(mode: PagingModeName | PagingStrategy): PagingStrategy | null {
  if (typeof mode === "object") return mode;
  switch (mode) {
    case "direct": return null;
    case "nested": return new NestedPaging();
    case "shadow": return new ShadowPaging();
  }
  throw new Error(`unknown paging mode "${mode as string}" (choose ${PAGING_MODES.join(", ")})`);
}
