// Servers and browser for the end-to-end tests of the web page (web/):
// the production build served as plain static files, Vite's dev server
// (which also serves the cached Debian images), and Debian's headless
// Chromium driven by playwright-core.
import { createServer, type Server } from "node:http";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const VITE_CONFIG = join(REPO, "web/vite.config.ts");
/** Debian's chromium package (CI installs it); override with SYMBIONT_CHROMIUM. */
export const CHROMIUM = process.env.SYMBIONT_CHROMIUM ?? "/usr/bin/chromium";

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml", ".bin": "application/octet-stream",
};

/** Build the page with Vite into a fresh directory (npm run build:web does the same into web/dist). */
export async function buildWeb(): Promise<string> {
  const { build } = await import("vite");
  const outDir = mkdtempSync(join(tmpdir(), "symbiont-web-"));
  await build({ configFile: VITE_CONFIG, logLevel: "warn", build: { outDir, emptyOutDir: true } });
  return outDir;
}

export interface Running { url: string; close(): Promise<void> }

/** A plain static file server for a directory, on a free loopback port (what any web host would do). */
export async function serveStatic(dir: string): Promise<Running> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) && file !== dir) { res.statusCode = 403; res.end(); return; }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) { res.statusCode = 404; res.end("not found\n"); return; }
    res.setHeader("Content-Type", MIME[extname(file)] ?? "application/octet-stream");
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/**
 * Vite's dev server (npm run web), on a free loopback port; without hot
 * reload, so that an edit elsewhere in the tree cannot reload the page under a test.
 */
export async function startDevServer(): Promise<Running> {
  const { createServer: createVite } = await import("vite");
  const server = await createVite({
    configFile: VITE_CONFIG, logLevel: "warn",
    server: { port: 0, strictPort: false, host: "127.0.0.1", hmr: false, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error("vite dev server: no local URL");
  return { url, close: () => server.close() };
}

/** Headless Chromium with a fresh profile; flags as this machine needs them (no network but loopback). */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "symbiont-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
