// Load a module of src/ from a script: the compiled dist/ copy when it is at
// least as new as the source, else the TypeScript source through tsx (a
// devDependency), so scripts run before any build.
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** `rel` is a path under src/ without extension, e.g. "node/images". */
export async function loadSrc(rel) {
  const srcUrl = new URL(`../src/${rel}.ts`, import.meta.url);
  const distUrl = new URL(`../dist/${rel}.js`, import.meta.url);
  const src = fileURLToPath(srcUrl);
  const dist = fileURLToPath(distUrl);
  const distFresh = existsSync(dist) && (!existsSync(src) || statSync(dist).mtimeMs >= statSync(src).mtimeMs);
  if (distFresh) return import(distUrl.href);
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(src, import.meta.url);
}
