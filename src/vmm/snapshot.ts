/**
 * Machine snapshots (QEMU's savevm/loadvm, v86's save_state): the format and the pieces every device uses.
 *
 * A snapshot is a tree of plain values — each device's registers as numbers, bigints, booleans, strings, typed arrays —
 * with guest RAM among them. On disk it is a header, the tree as JSON with every typed array replaced by a reference
 * into the binary part, then that part; non-finite numbers (a PIT channel's Infinity) are tagged, as JSON has none.
 *
 * What a snapshot holds is the machine, not its wiring: a snapshot is restored into a machine built with the same
 * options (QEMU's loadvm and migration ask the same), whose devices take their registers back, re-arm their timers
 * and redo what their registers imply (a BAR's mapping, A20). The disks' contents are not in it: as under QEMU's
 * migration, the images are the user's and must be what they were when the snapshot was taken.
 *
 * @module
 */

/** A value a device's state is made of. */
export type StateValue = number | bigint | boolean | string | null | ArrayBufferView | StateValue[] | { [key: string]: StateValue };
export type State = { [key: string]: StateValue };

/** A device (or part of the machine) whose state a snapshot holds. */
export interface Saveable {
  save(): State;
  /** Take back what save() returned (from this machine or one built the same way), replacing all current state. */
  restore(state: State): void;
}

/** A snapshot that cannot be read or does not fit the machine: the message says why, for the user. */
export class SnapshotError extends Error {}

const MAGIC = "SYMBIONT-SNAPSHOT";
/** Bumped whenever what a device saves changes meaning: an older snapshot is refused rather than misread. */
export const SNAPSHOT_VERSION = 1;

/**
 * The fields of `obj` that are state: numbers, booleans, strings, null, typed arrays (copied), and arrays or plain
 * objects of those. Functions and class instances — callbacks, the clock, other devices — are wiring and are left
 * out, as is every key in `skip`; a device with parts (a PIT's channels) saves them itself.
 */
export function saveFields(obj: object, skip: readonly string[] = []): State {
  const out: State = {};
  for (const [key, value] of Object.entries(obj)) {
    if (skip.includes(key)) continue;
    const v = plainValue(value);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function plainValue(value: unknown): StateValue | undefined {
  if (value === null || typeof value === "number" || typeof value === "bigint" || typeof value === "boolean" || typeof value === "string") return value;
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): ArrayBufferView }).slice();
  if (Array.isArray(value)) {
    const items = value.map(plainValue);
    return items.every((v) => v !== undefined) ? items as StateValue[] : undefined;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: State = {};
    for (const [k, v] of Object.entries(value as object)) {
      const p = plainValue(v);
      if (p === undefined) return undefined;
      out[k] = p;
    }
    return out;
  }
  return undefined; // functions, undefined, class instances
}

/** Put saved fields back into `obj`: typed arrays are filled in place (they may be readonly views the device shares). */
export function restoreFields(obj: object, state: State): void {
  const target = obj as Record<string, unknown>;
  for (const [key, value] of Object.entries(state)) {
    const current = target[key];
    if (ArrayBuffer.isView(current) && ArrayBuffer.isView(value)) {
      const dst = current as unknown as { set(a: ArrayLike<number>): void; length: number };
      const src = value as unknown as ArrayLike<number>;
      if (src.length !== dst.length) throw new SnapshotError(`snapshot: ${key} holds ${src.length} elements, the device ${dst.length}`);
      dst.set(src);
    } else {
      target[key] = structuredClone(value); // (the device's own copy: the state may be restored again)
    }
  }
}

/** The state at `key`, which a snapshot of this machine must have: a missing part means the snapshot is not of it. */
export function part(state: State, key: string): State {
  const v = state[key];
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) throw new SnapshotError(`snapshot: no state for ${key}`);
  return v as State;
}

// ---- the file format ------------------------------------------------------------------

const ARRAY_TYPES = {
  Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array, Uint8ClampedArray,
} as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;

/**
 * The snapshot as bytes: `SYMBIONT-SNAPSHOT <version>\n`, the JSON tree's length as a decimal line, the JSON, then
 * the typed arrays' bytes (little-endian, 8-byte aligned), each referenced from the JSON as {"$bytes": [type, offset,
 * length]}; non-finite numbers are {"$number": "Infinity"}, bigints {"$bigint": "…"}.
 */
export function encodeSnapshot(tree: State): Uint8Array {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(tree, function (this: unknown, _key, value: unknown) {
    if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
    if (typeof value === "bigint") return { $bigint: value.toString() };
    if (ArrayBuffer.isView(value)) {
      const type = value.constructor.name;
      if (!(type in ARRAY_TYPES)) throw new Error(`snapshot: cannot save a ${type}`);
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      const ref = { $bytes: [type, offset, bytes.length] };
      blobs.push(bytes);
      offset += bytes.length;
      const pad = (8 - (offset % 8)) % 8;
      if (pad) { blobs.push(new Uint8Array(pad)); offset += pad; }
      return ref;
    }
    return value;
  });
  const text = new TextEncoder().encode(json);
  const head = new TextEncoder().encode(`${MAGIC} ${SNAPSHOT_VERSION}\n${text.length}\n`);
  const bodyStart = align8(head.length + text.length);
  const out = new Uint8Array(bodyStart + offset);
  out.set(head, 0);
  out.set(text, head.length);
  let at = bodyStart;
  for (const b of blobs) { out.set(b, at); at += b.length; }
  return out;
}

/** Read what encodeSnapshot wrote; a file that is not a snapshot, or is cut short, is a SnapshotError saying so. */
export function decodeSnapshot(bytes: Uint8Array): State {
  return readTree(bytes, { version: SNAPSHOT_VERSION, arrays: true }).tree;
}

/**
 * A snapshot's tree without its typed arrays (each is null: RAM is not read), and its format version — what `symbiont
 * info` shows; a SnapshotError as {@link decodeSnapshot}'s for a file that is not one.
 */
export function snapshotOutline(bytes: Uint8Array): { version: number; tree: State } {
  return readTree(bytes, { arrays: false });
}

/**
 * The header and the JSON tree (see {@link encodeSnapshot}): with `arrays`, each typed array copied from the binary
 * part, else null; `version`, when given, is the only format version taken.
 */
function readTree(bytes: Uint8Array, opts: { version?: number; arrays: boolean }): { version: number; tree: State } {
  const headEnd = (from: number) => { const i = bytes.indexOf(0x0a, from); if (i < 0 || i - from > 64) throw notSnapshot(); return i; };
  const line1 = headEnd(0);
  const first = new TextDecoder().decode(bytes.subarray(0, line1));
  const m = /^SYMBIONT-SNAPSHOT (\d+)$/.exec(first);
  if (!m) throw notSnapshot();
  const version = Number(m[1]);
  if (opts.version !== undefined && version !== opts.version) throw new SnapshotError(`snapshot: format version ${m[1]}, this Symbiont reads version ${opts.version}`);
  const line2 = headEnd(line1 + 1);
  const length = Number(new TextDecoder().decode(bytes.subarray(line1 + 1, line2)));
  const textStart = line2 + 1;
  if (!Number.isInteger(length) || textStart + length > bytes.length) throw truncated();
  const bodyStart = align8(textStart + length);
  let tree: unknown;
  try {
    tree = JSON.parse(new TextDecoder().decode(bytes.subarray(textStart, textStart + length)), (_key, value: unknown) => {
      if (value && typeof value === "object" && "$number" in value) return Number((value as { $number: string }).$number);
      if (value && typeof value === "object" && "$bigint" in value) return BigInt((value as { $bigint: string }).$bigint);
      if (value && typeof value === "object" && "$bytes" in value) {
        if (!opts.arrays) return null;
        const [type, offset, len] = (value as { $bytes: [string, number, number] }).$bytes;
        const Ctor = ARRAY_TYPES[type as ArrayTypeName];
        if (!Ctor || bodyStart + offset + len > bytes.length) throw truncated();
        const copy = bytes.slice(bodyStart + offset, bodyStart + offset + len);
        return new Ctor(copy.buffer, 0, len / Ctor.BYTES_PER_ELEMENT);
      }
      return value;
    });
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`snapshot: its contents are damaged (${(e as Error).message})`);
  }
  if (tree === null || typeof tree !== "object") throw new SnapshotError("snapshot: its contents are damaged");
  return { version, tree: tree as State };
}

/** The command line a snapshot's machine was started with, as the CLI records it (`savedBy`), or null. Never throws. */
export function snapshotSavedBy(bytes: Uint8Array): string | null {
  try {
    const { tree } = snapshotOutline(bytes);
    return typeof tree.savedBy === "string" ? tree.savedBy : null;
  } catch {
    return null;
  }
}

function align8(n: number): number { return (n + 7) & ~7; }
function notSnapshot(): SnapshotError { return new SnapshotError("not a Symbiont snapshot (it does not start with SYMBIONT-SNAPSHOT)"); }
function truncated(): SnapshotError { return new SnapshotError("snapshot: the file is cut short"); }

// ---- guest RAM, disks in memory --------------------------------------------------------------

const PAGE = 4096;

/** Bytes without their all-zero 4 KiB pages (most of a fresh guest's RAM, of a blank disk): the pages kept, and their bytes. */
export function savePages(bytes: Uint8Array): State {
  const aligned = bytes.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null;
  const zero = (start: number, end: number) => {
    if (words && end - start === PAGE) {
      for (let w = start >>> 2, e = end >>> 2; w < e; w++) if (words[w] !== 0) return false;
      return true;
    }
    for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
    return true;
  };
  const kept: number[] = [];
  for (let at = 0, p = 0; at < bytes.length; at += PAGE, p++) if (!zero(at, Math.min(at + PAGE, bytes.length))) kept.push(p);
  const data = new Uint8Array(kept.length * PAGE);
  kept.forEach((p, i) => data.set(bytes.subarray(p * PAGE, (p + 1) * PAGE), i * PAGE));
  return { bytes: bytes.length, pages: Uint32Array.from(kept), data };
}

/** Fill `bytes` from savePages' record: the pages it names, zeros elsewhere. `what` names them in a size mismatch. */
export function restorePages(bytes: Uint8Array, state: State, what = "RAM (--mem)"): void {
  if (state.bytes !== bytes.length) throw new SnapshotError(`snapshot: its ${what} is ${state.bytes} bytes, this machine's ${bytes.length}`);
  const pages = state.pages as Uint32Array, data = state.data as Uint8Array;
  bytes.fill(0);
  pages.forEach((p, i) => { const at = p * PAGE; bytes.set(data.subarray(i * PAGE, i * PAGE + Math.min(PAGE, bytes.length - at)), at); });
}
