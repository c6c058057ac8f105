// npm run module [-- --rebuild | --cached] [--json]
// Builds the symbiotic Linux module (guests/linux/symbiotic) for the kernel
// `npm run images` cached, against Debian's headers with gcc-12, through the
// same private apt state; see src/node/symbiotic-module.ts. Idempotent.
import { loadSrc } from "./load-src.mjs";

const mod = await loadSrc("node/symbiotic-module");
process.exitCode = await mod.moduleMain(process.argv.slice(2));
