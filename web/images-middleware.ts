/**
 * Node-only part of the dev server (`npm run web`): serves the Debian guest
 * images that `npm run images` cached (~/.cache/symbiont, see
 * src/node/images.ts), so that the page can offer "Debian Linux". The
 * production build (static files) has no such routes, and the page then
 * leaves the option out.
 *
 *   GET /symbiont-images/index.json   { version, kernelPackage, busyboxPackage, kernelBytes, busyboxBytes, symbioticModule, seabios, vgabios, netRelay }
 *   GET /symbiont-images/vmlinuz      the bzImage
 *   GET /symbiont-images/busybox      the static i386 busybox
 *   GET /symbiont-images/symbiotic.ko the symbiotic module, when `npm run module` built it
 *     (symbioticModule in index.json is then its kernel release, else null)
 *   GET /symbiont-images/seabios.bin  the SeaBIOS ROM (src/node/firmware.ts: the one `npm run images` fetched, else
 *     the system's); seabios in index.json says which (null: none), and the page offers to boot a disk through it
 *   GET /symbiont-images/vgabios.bin  SeaBIOS's ISA VGA BIOS, found the same way (vgabios in index.json), for a disk
 *     booted with the page's VGA
 *   GET /symbiont-images/modules.json?drivers=virtio-blk,ext4
 *     the cached kernel's modules those driver kinds need (src/boot/kmod.ts DRIVER_MODULES),
 *     dependencies first, as {@link ModulesJson}: what the CLI puts in its initramfs for a disk,
 *     for the worker's. 400 (one line) for an unknown or missing kind.
 *
 * 404 when the images are not cached.
 */
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { cachedModules, findCachedImages, type CachedImages } from "../src/node/images.ts";
import { findBuiltModule } from "../src/node/symbiotic-module.ts";
import { findSeabios, findVgaBios } from "../src/node/firmware.ts";
import { DRIVER_MODULES, driverModules, type DriverName } from "../src/boot/kmod.ts";
import type { ModulesJson } from "./src/protocol.ts";

export const IMAGES_PREFIX = "/symbiont-images/";

type Next = (err?: unknown) => void;

/** A connect-style middleware (Vite's servers and plain node:http both accept it). */
export function imagesMiddleware(req: IncomingMessage, res: ServerResponse, next: Next): void {
  const [url, query = ""] = (req.url ?? "").split("?") as [string, string?];
  if (!url.startsWith(IMAGES_PREFIX)) { next(); return; }
  const name = url.slice(IMAGES_PREFIX.length);
  const images = findCachedImages();
  if (images && name === "modules.json") { serveModules(images, new URLSearchParams(query), res); return; }
  const module = findBuiltModule(images);
  const seabios = findSeabios(), vgabios = findVgaBios();
  const files: Record<string, string | undefined> = {
    vmlinuz: images?.kernel, busybox: images?.busybox, "symbiotic.ko": module?.path, "seabios.bin": seabios?.path, "vgabios.bin": vgabios?.path,
  };
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
      seabios: seabios?.source ?? null,
      vgabios: vgabios?.source ?? null,
      // The server the images come from also relays the page's user network (src/node/net-relay.ts).
      netRelay: true,
    }));
    return;
  }
  const path = files[name]!;
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Content-Length", String(statSync(path).size));
  createReadStream(path).pipe(res);
}

/** The modules a list of driver kinds needs, base64 in JSON (a few MiB at most: ext4 is the largest). */
function serveModules(images: CachedImages, query: URLSearchParams, res: ServerResponse): void {
  const kinds = (query.get("drivers") ?? "").split(",").filter((k) => k !== "");
  const unknown = kinds.filter((k) => !Object.hasOwn(DRIVER_MODULES, k));
  if (kinds.length === 0 || unknown.length > 0) {
    res.statusCode = 400;
    res.setHeader("Content-Type", "text/plain");
    res.end(`${kinds.length === 0 ? "no driver kinds given" : `unknown driver kind ${unknown.join(", ")}`} ` +
      `(drivers=KIND,… with KIND one of ${Object.keys(DRIVER_MODULES).join(", ")})\n`);
    return;
  }
  const m = cachedModules(images, driverModules(kinds as DriverName[]));
  const body: ModulesJson = {
    release: m.release,
    modulesDep: m.modulesDep ?? "",
    files: m.files.map((f) => ({ path: f.path, base64: Buffer.from(f.data).toString("base64") })),
  };
  res.setHeader("Cache-Control", "no-cache");
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(body));
}
