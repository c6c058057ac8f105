// npm run images [-- --refresh | --cached] [--json] [--config]
// Fetches Debian 12's i386 kernel (linux-image-6.1.0-N-686) and busybox-static
// into $XDG_CACHE_HOME/symbiont (default ~/.cache/symbiont) with a private apt
// state directory; see src/node/images.ts. Idempotent: a cached set is reused.
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src/node/images.ts", import.meta.url));
const dist = fileURLToPath(new URL("../dist/node/images.js", import.meta.url));
const distFresh = existsSync(dist) && (!existsSync(src) || statSync(dist).mtimeMs >= statSync(src).mtimeMs);

let mod;
if (distFresh) {
  mod = await import(new URL("../dist/node/images.js", import.meta.url).href);
} else {
  // Run the TypeScript source directly (tsx is a devDependency), no build needed.
  const { tsImport } = await import("tsx/esm/api");
  mod = await tsImport(src, import.meta.url);
}
process.exitCode = await mod.imagesMain(process.argv.slice(2));
