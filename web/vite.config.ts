// The web page: `npm run web` (dev server), `npm run build:web` (static files in web/dist).
// The worker imports src/ directly, like the CLI does; the Wasm core is build/core.wasm
// and the JS core build/core-js.mjs (both made by `node scripts/build.mjs`).
import { defineConfig, type Plugin } from "vite";
import { fileURLToPath } from "node:url";
import type { Server } from "node:http";
import { imagesMiddleware, IMAGES_PREFIX } from "./images-middleware.ts";
import { attachNetRelay, sameOrigin } from "../src/node/net-relay.ts";
import { findCachedImages } from "../src/node/images.ts";

const root = fileURLToPath(new URL(".", import.meta.url));
const repo = fileURLToPath(new URL("..", import.meta.url));

/**
 * The dev server serves the cached Debian images to the page, and when they
 * are cached tells the page so with a <meta name="symbiont-images"> (the
 * static build has neither); and it relays the page's user network to the
 * host's sockets (src/node/net-relay.ts: pages of its own origin only).
 */
function debianImages(): Plugin {
  return {
    name: "symbiont-debian-images",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use(imagesMiddleware);
      if (server.httpServer) attachNetRelay(server.httpServer as Server, { allowOrigin: sameOrigin });
    },
    transformIndexHtml: () => (findCachedImages()
      ? [{ tag: "meta", attrs: { name: "symbiont-images", content: IMAGES_PREFIX.slice(1) }, injectTo: "head" }]
      : []),
  };
}

export default defineConfig({
  root,
  base: "./",
  plugins: [debianImages()],
  server: { host: "127.0.0.1", port: 5173, fs: { allow: [repo] } },
  preview: { host: "127.0.0.1", port: 4173 },
  worker: { format: "es" },
  // Scan the worker too and pre-bundle everything up front: a dependency found
  // late (the worker's @assemblyscript/loader) would make the dev server reload the page.
  optimizeDeps: {
    entries: ["index.html", "src/worker.ts"],
    include: ["@xterm/xterm", "@xterm/addon-fit", "uplot", "@assemblyscript/loader"],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2048,
  },
});
