// npm run workloads: build the thrashing workloads of the SwapBypass demo and
// benchmark (guests/linux/thrash/*.c) as static i386 programs with Debian's
// `gcc -m32 -static` into build/workloads/. Installs nothing: when the 32-bit
// toolchain is missing it says which Debian packages to install.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "guests/linux/thrash");
const out = join(root, "build/workloads");
const FLAGS = ["-m32", "-static", "-O2", "-s", "-Wall", "-Werror"];

function gcc(args) {
  return execFileSync("gcc", args, { stdio: ["ignore", "pipe", "pipe"] });
}

// Can gcc link a static 32-bit program at all? (gcc-multilib: the -m32 driver and libgcc; libc6-dev-i386: glibc's 32-bit static libraries.)
const tmp = mkdtempSync(join(tmpdir(), "symbiont-workloads-"));
try {
  writeFileSync(join(tmp, "probe.c"), "int main(void) { return 0; }\n");
  gcc([...FLAGS, "-o", join(tmp, "probe"), join(tmp, "probe.c")]);
} catch (e) {
  const why = e.code === "ENOENT" ? "gcc is not installed" : String(e.stderr ?? e.message).trim().split("\n").slice(-1)[0];
  console.error(`workloads: cannot build static i386 programs (${why}).\nworkloads: install Debian's 32-bit toolchain first: apt-get install gcc gcc-multilib libc6-dev-i386`);
  process.exit(1);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

mkdirSync(out, { recursive: true });
for (const f of readdirSync(src).filter((f) => f.endsWith(".c")).sort()) {
  const name = f.slice(0, -2);
  try {
    gcc([...FLAGS, "-o", join(out, name), join(src, f)]);
  } catch (e) {
    console.error(`workloads: ${f} does not build:\n${String(e.stderr ?? e.message)}`);
    process.exit(1);
  }
  console.log(`workloads: built build/workloads/${name}`);
}
