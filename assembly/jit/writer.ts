// A byte writer for WebAssembly binaries in the JIT buffer (layout.ts JIT_BUF).
// Sizes that are only known afterwards (sections, function bodies) are
// reserved as 5-byte LEB128 and patched: the binary format allows padded
// LEB128 for u32.
import { st8 } from "../portable";
import { JIT_BUF, JIT_BUF_SIZE } from "../layout";

let pos: i32 = 0;
/** Set when the module would not fit: the caller gives up on this batch. */
export let overflow: bool = false;
/** A dry run writes nothing: the emitter runs once to learn what a function uses, then for real. */
export let dry: bool = false;
export function setDry(on: bool): void { dry = on; }

export function reset(): void { pos = 0; overflow = false; dry = false; hintCount = 0; }
export function length(): i32 { return pos; }

export function byte(b: i32): void {
  if (dry) return;
  if (pos >= JIT_BUF_SIZE) { overflow = true; return; }
  st8(JIT_BUF + pos, b);
  pos++;
}
export function u32leb(v: i32): void {
  let x = v;
  for (;;) {
    const b = x & 0x7f;
    x = x >>> 7;
    if (x == 0) { byte(b); return; }
    byte(b | 0x80);
  }
}
export function i32leb(v: i32): void {
  let x = v;
  for (;;) {
    const b = x & 0x7f;
    x = x >> 7;
    if ((x == 0 && (b & 0x40) == 0) || (x == -1 && (b & 0x40) != 0)) { byte(b); return; }
    byte(b | 0x80);
  }
}
export function name(s: string): void {
  u32leb(s.length);
  for (let i = 0; i < s.length; i++) byte(s.charCodeAt(i));
}
/** Reserve a 5-byte size field; returns its position for patch(). */
export function reserveSize(): i32 {
  if (dry) return 0;
  const at = pos;
  for (let i = 0; i < 5; i++) byte(0);
  return at;
}
/** Reserve a function body's size field: the body of module function `func` starts after it (hint offsets). */
export function bodySize(func: i32): i32 { const at = reserveSize(); beginBody(func); return at; }
/** Write the number of bytes since the reserved field into it. */
export function patch(at: i32): void {
  if (overflow || dry) return;
  const v = pos - at - 5;
  for (let i = 0; i < 5; i++) st8(JIT_BUF + at + i, ((v >>> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
}

// ---- branch hints ---------------------------------------------------------------------------------
// The "metadata.code.branch_hint" custom section (the Wasm branch-hinting proposal): for an `if`, whether
// its condition is likely true. V8 (TurboFan) then lays the unlikely arm out of line as deferred code and
// spills values live across its helper calls there, not on the fast path. Engines without the feature
// skip the section. An offset counts from the start of the function's body (its local declarations).

const HINTS_MAX: i32 = 0x10000;
/** Per hint: the function's index, and its offset << 1 | likely. */
const hintFunc = new StaticArray<i32>(HINTS_MAX);
const hintAt = new StaticArray<i32>(HINTS_MAX);
let hintCount: i32 = 0;
let bodyFunc: i32 = -1;
let bodyStart: i32 = 0;
/** The function body of module function `func` starts here (right after its reserved size). */
export function beginBody(func: i32): void { bodyFunc = func; bodyStart = pos; }
/** The next byte written is an `if` whose condition is likely true (or false). */
export function hint(likely: bool): void {
  if (dry || bodyFunc < 0 || hintCount >= HINTS_MAX) return;
  unchecked(hintFunc[hintCount] = bodyFunc);
  unchecked(hintAt[hintCount] = ((pos - bodyStart) << 1) | (likely ? 1 : 0));
  hintCount++;
}
function lebSize(v: i32): i32 { let n = 1; for (let x = v >>> 7; x != 0; x >>>= 7) n++; return n; }
const HINT_SECTION_NAME = "metadata.code.branch_hint";
/** The section's payload: name, then per function with hints its index, count and hints. */
function hintPayload(emit: bool): i32 {
  let n = lebSize(HINT_SECTION_NAME.length) + HINT_SECTION_NAME.length;
  let funcs = 0;
  for (let i = 0; i < hintCount; i++) if (i == 0 || unchecked(hintFunc[i]) != unchecked(hintFunc[i - 1])) funcs++;
  if (emit) { name(HINT_SECTION_NAME); u32leb(funcs); }
  n += lebSize(funcs);
  for (let i = 0; i < hintCount;) {
    const f = unchecked(hintFunc[i]);
    let j = i;
    while (j < hintCount && unchecked(hintFunc[j]) == f) j++;
    n += lebSize(f) + lebSize(j - i);
    if (emit) { u32leb(f); u32leb(j - i); }
    for (; i < j; i++) {
      const h = unchecked(hintAt[i]);
      n += lebSize(h >>> 1) + 2;
      if (emit) { u32leb(h >>> 1); byte(1); byte(h & 1); }
    }
  }
  return n;
}
/**
 * Put the hints recorded since reset() into the module as a custom section at `at` (where the code section
 * starts: V8 reads hints only before it), moving what follows; none when there are none or no room.
 */
export function insertHints(at: i32): void {
  bodyFunc = -1;
  if (hintCount == 0 || overflow || dry) return;
  const payload = hintPayload(false);
  const len = 1 + lebSize(payload) + payload;
  if (pos + len > JIT_BUF_SIZE) return;
  memory.copy(JIT_BUF + at + len, JIT_BUF + at, pos - at);
  const end = pos + len;
  pos = at;
  byte(0); u32leb(payload); hintPayload(true);
  pos = end;
}
