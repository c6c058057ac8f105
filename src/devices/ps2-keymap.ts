/**
 * Host keys to what a PS/2 keyboard sends: scan-code set 2 (the keyboard's
 * power-on set; the i8042 translates it to set 1 for a PC's BIOS and OS).
 * Keys are named as the DOM's KeyboardEvent.code names them (the physical
 * key of a US layout: "KeyA", "Digit1", "Enter", "ArrowUp" …), so a web
 * page passes `event.code` straight through and anyone else can name keys
 * the same way. Codes from the IBM PS/2 keyboard's set 2 table; E0-prefixed
 * keys are the extended ones. Pause/Break and Print Screen, whose sequences
 * are not make/break pairs, are left out.
 *
 * @module
 */

const SET2: Record<string, number> = {
  Escape: 0x76, F1: 0x05, F2: 0x06, F3: 0x04, F4: 0x0c, F5: 0x03, F6: 0x0b, F7: 0x83, F8: 0x0a, F9: 0x01, F10: 0x09, F11: 0x78, F12: 0x07,
  Backquote: 0x0e, Digit1: 0x16, Digit2: 0x1e, Digit3: 0x26, Digit4: 0x25, Digit5: 0x2e, Digit6: 0x36, Digit7: 0x3d, Digit8: 0x3e,
  Digit9: 0x46, Digit0: 0x45, Minus: 0x4e, Equal: 0x55, Backspace: 0x66,
  Tab: 0x0d, KeyQ: 0x15, KeyW: 0x1d, KeyE: 0x24, KeyR: 0x2d, KeyT: 0x2c, KeyY: 0x35, KeyU: 0x3c, KeyI: 0x43, KeyO: 0x44, KeyP: 0x4d,
  BracketLeft: 0x54, BracketRight: 0x5b, Backslash: 0x5d,
  CapsLock: 0x58, KeyA: 0x1c, KeyS: 0x1b, KeyD: 0x23, KeyF: 0x2b, KeyG: 0x34, KeyH: 0x33, KeyJ: 0x3b, KeyK: 0x42, KeyL: 0x4b,
  Semicolon: 0x4c, Quote: 0x52, Enter: 0x5a,
  ShiftLeft: 0x12, IntlBackslash: 0x61, KeyZ: 0x1a, KeyX: 0x22, KeyC: 0x21, KeyV: 0x2a, KeyB: 0x32, KeyN: 0x31, KeyM: 0x3a,
  Comma: 0x41, Period: 0x49, Slash: 0x4a, ShiftRight: 0x59,
  ControlLeft: 0x14, AltLeft: 0x11, Space: 0x29,
  NumLock: 0x77, ScrollLock: 0x7e, NumpadMultiply: 0x7c, NumpadSubtract: 0x7b, NumpadAdd: 0x79, NumpadDecimal: 0x71,
  Numpad0: 0x70, Numpad1: 0x69, Numpad2: 0x72, Numpad3: 0x7a, Numpad4: 0x6b, Numpad5: 0x73, Numpad6: 0x74, Numpad7: 0x6c,
  Numpad8: 0x75, Numpad9: 0x7d,
};

/** Keys whose codes follow an 0xE0 prefix. */
const SET2_EXTENDED: Record<string, number> = {
  AltRight: 0x11, ControlRight: 0x14, MetaLeft: 0x1f, MetaRight: 0x27, ContextMenu: 0x2f,
  Insert: 0x70, Delete: 0x71, Home: 0x6c, End: 0x69, PageUp: 0x7d, PageDown: 0x7a,
  ArrowUp: 0x75, ArrowDown: 0x72, ArrowLeft: 0x6b, ArrowRight: 0x74, NumpadDivide: 0x4a, NumpadEnter: 0x5a,
};

/** The set-2 bytes for pressing (`down`) or releasing the key named `code`, or null for a key the table lacks. */
export function ps2Scancodes(code: string, down: boolean): number[] | null {
  const plain = SET2[code];
  if (plain !== undefined) return down ? [plain] : [0xf0, plain];
  const ext = SET2_EXTENDED[code];
  if (ext !== undefined) return down ? [0xe0, ext] : [0xe0, 0xf0, ext];
  return null;
}

/** Modifier prefixes of {@link ps2Typing}'s key names and the key each holds down. */
const MODIFIERS: Record<string, string> = { Shift: "ShiftLeft", Control: "ControlLeft", Alt: "AltLeft" };

/**
 * Press and release each key in turn, modifiers held around it (`Shift+KeyA` holds ShiftLeft around KeyA,
 * `Control+KeyC` ControlLeft): the bytes for typing them.
 */
export function ps2Typing(keys: readonly string[]): number[] {
  const out: number[] = [];
  for (const key of keys) {
    const parts = key.split("+");
    const code = parts.pop()!;
    const held = parts.map((m) => {
      const k = MODIFIERS[m];
      if (!k) throw new Error(`no modifier "${m}" (Shift, Control, Alt) in key "${key}"`);
      return k;
    });
    const make = ps2Scancodes(code, true), brk = ps2Scancodes(code, false);
    if (!make || !brk) throw new Error(`no PS/2 scan code for key "${code}"`);
    for (const m of held) out.push(...ps2Scancodes(m, true)!);
    out.push(...make, ...brk);
    for (const m of held.reverse()) out.push(...ps2Scancodes(m, false)!);
  }
  return out;
}

/** QEMU's key names (its monitor's `sendkey`, QAPI QKeyCode) → KeyboardEvent.code names. */
const QEMU_KEYS: Record<string, string> = {
  ...Object.fromEntries("abcdefghijklmnopqrstuvwxyz".split("").map((c) => [c, `Key${c.toUpperCase()}`])),
  ...Object.fromEntries("0123456789".split("").map((d) => [d, `Digit${d}`])),
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i + 1}`, `F${i + 1}`])),
  ...Object.fromEntries("0123456789".split("").map((d) => [`kp_${d}`, `Numpad${d}`])),
  ret: "Enter", spc: "Space", esc: "Escape", tab: "Tab", backspace: "Backspace", minus: "Minus", equal: "Equal",
  bracket_left: "BracketLeft", bracket_right: "BracketRight", backslash: "Backslash", semicolon: "Semicolon",
  apostrophe: "Quote", grave_accent: "Backquote", comma: "Comma", dot: "Period", slash: "Slash", less: "IntlBackslash",
  caps_lock: "CapsLock", num_lock: "NumLock", scroll_lock: "ScrollLock",
  shift: "ShiftLeft", shift_r: "ShiftRight", ctrl: "ControlLeft", ctrl_r: "ControlRight", alt: "AltLeft", alt_r: "AltRight",
  meta_l: "MetaLeft", meta_r: "MetaRight", menu: "ContextMenu",
  up: "ArrowUp", down: "ArrowDown", left: "ArrowLeft", right: "ArrowRight", home: "Home", end: "End",
  pgup: "PageUp", pgdn: "PageDown", insert: "Insert", delete: "Delete",
  kp_enter: "NumpadEnter", kp_add: "NumpadAdd", kp_subtract: "NumpadSubtract", kp_multiply: "NumpadMultiply",
  kp_divide: "NumpadDivide", kp_decimal: "NumpadDecimal",
};

/**
 * The bytes of QEMU's monitor command `sendkey KEYS` (`ctrl-alt-delete`, `shift-a`, `ret`): the keys pressed in
 * order, then released in the reverse order. Throws, naming it, for a key QEMU's names do not have.
 */
export function sendkeyScancodes(spec: string): number[] {
  const codes = spec.split("-").map((name) => {
    const code = QEMU_KEYS[name.toLowerCase()];
    if (!code) throw new Error(`unknown key "${name}" (QEMU's names: a, 1, ret, spc, esc, shift, ctrl, alt, f1, up, delete, kp_0 …)`);
    return code;
  });
  return [...codes.flatMap((c) => ps2Scancodes(c, true)!), ...codes.reverse().flatMap((c) => ps2Scancodes(c, false)!)];
}
