// npm run images [-- --refresh | --cached] [--json] [--config]
// Fetches Debian 12's i386 kernel (linux-image-6.1.0-N-686) and busybox-static
// into $XDG_CACHE_HOME/symbiont (default ~/.cache/symbiont) with a private apt
// state directory; see src/node/images.ts. Idempotent: a cached set is reused.
import { loadSrc } from "./load-src.mjs";

const mod = await loadSrc("node/images");
process.exitCode = await mod.imagesMain(process.argv.slice(2));
