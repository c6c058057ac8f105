/**
 * For tests that run symbiont or QEMU as child processes next to servers of their own: a free TCP port, and
 * waiting for a process's output to say something.
 */
import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that nothing listens on (just now). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** Resolve when `text()` matches `re`, reject after `ms`. */
export function waitFor(text: () => string, re: RegExp, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = setInterval(() => {
      if (re.test(text())) { clearInterval(tick); resolve(); }
      else if (Date.now() - t0 > ms) { clearInterval(tick); reject(new Error(`timed out waiting for ${what}`)); }
    }, 200);
  });
}
