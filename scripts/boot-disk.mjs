// npm run boot-disk [-- OUT]
// A FAT disk image with SYSLINUX, the cached Debian kernel and the busybox initramfs (npm run images),
// to boot through SeaBIOS: symbiont run --disk OUT. See src/node/boot-disk.ts.
import { loadSrc } from "./load-src.mjs";

const mod = await loadSrc("node/boot-disk");
process.exitCode = mod.bootDiskMain(process.argv.slice(2));
