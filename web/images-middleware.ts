/**
 * Node-only part of the dev server (`npm run web`): serves the Debian guest
 * images that `npm run images` cached (~/.cache/symbiont, see
 * src/node/images.ts), so that the page can offer "Debian Linux". The
 * production build (static files) has no such routes, and the page then
 * leaves the option out.
 *
 *   GET /symbiont-images/index.json   { version, kernelPackage, busyboxPackage, kernelBytes, busyboxBytes, symbioticModule }
 *   GET /symbiont-images/vmlinuz      the bzImage
 *   GET /symbiont-images/busybox      the static i386 busybox
 *   GET /symbiont-images/symbiotic.ko the symbiotic module, when `npm run module` built it
 *     (symbioticModule in index.json is then its kernel release, else null)
 *
 * 404 when the images are not cached.
 */
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { findCachedImages } from "../src/node/images.ts";
import { findBuiltModule } from "../src/node/symbiotic-module.ts";

export const IMAGES_PREFIX = "/symbiont-images/";

type Next = (err?: unknown) => void;

/** A connect-style middleware (Vite's servers and plain node:http both accept it). */
export function imagesMiddleware(req: IncomingMessage, res: ServerResponse, next: Next): void {
  const url = (req.url ?? "").split("?")[0]!;
  if (!url.startsWith(IMAGES_PREFIX)) { next(); return; }
  const name = url.slice(IMAGES_PREFIX.length);
  const images = findCachedImages();
  const module = findBuiltModule(images);
  const files: Record<string, string | undefined> = { vmlinuz: images?.kernel, busybox: images?.busybox, "symbiotic.ko": module?.path };
  if (!images || (name !== "index.json" && !files[name])) {
    res.statusCode = 404;
    res.setHeader("Content-Type", "text/plain");
    res.end(images ? "no such image\n" : "Debian images are not cached: run npm run images\n");
    return;
  }
  res.setHeader("Cache-Control", "no-cache");
  if (name === "index.json") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({
      version: images.version,
      kernelPackage: images.kernelPackage,
      busyboxPackage: images.busyboxPackage,
      kernelBytes: statSync(images.kernel).size,
      busyboxBytes: statSync(images.busybox).size,
      symbioticModule: module?.release ?? null,
    }));
    return;
  }
  const path = files[name]!;
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Content-Length", String(statSync(path).size));
  createReadStream(path).pipe(res);
}
