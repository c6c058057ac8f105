/**
 * Direct (pass-through) port I/O, the counterpart of VT-x's I/O bitmap: a
 * port marked direct is served inside the instruction, without an exit, by
 * the same device the bus would use. The guest must not be able to tell —
 * registers, memory and what the device saw are identical with the port
 * hooked or direct, on both engines — while the per-port counts move from
 * exits to direct accesses. Expected values come from the test device's
 * own rule (a counter sequence), computed here independently.
 *
 * Guest (32-bit, loaded flat at 1 MiB, hand-assembled):
 *   mov dx,0x300; in al,dx; mov [0x2000],al; in ax,dx; mov [0x2002],ax
 *   in eax,dx; mov [0x2004],eax; mov al,0x5a; out dx,al
 *   mov edi,0x3000; mov ecx,16; cld; rep insb
 *   mov esi,0x3000; mov ecx,4; rep outsd
 * mov al,0; out 0xf4,al   (isa-debug-exit: status (0 << 1) | 1)
 */
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { ExitCode } from "../../src/engine/core.js";
import type { AccessSize, PortDevice } from "../../src/vmm/bus.js";
import { ENGINES } from "../helpers.js";

const GUEST = Uint8Array.from([
  0x66, 0xba, 0x00, 0x03,
  0xec, 0xa2, 0x00, 0x20, 0x00, 0x00,
  0x66, 0xed, 0x66, 0xa3, 0x02, 0x20, 0x00, 0x00,
  0xed, 0xa3, 0x04, 0x20, 0x00, 0x00,
  0xb0, 0x5a, 0xee,
  0xbf, 0x00, 0x30, 0x00, 0x00, 0xb9, 0x10, 0x00, 0x00, 0x00, 0xfc, 0xf3, 0x6c,
  0xbe, 0x00, 0x30, 0x00, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xf3, 0x6f,
  0xb0, 0x00, 0xe6, 0xf4,
]);
/** EIP after `in eax,dx` (offset 0x12 + 1 byte, at 1 MiB). */
const AFTER_IN_EAX = 0x100000 + 0x13;

/** Reads return the next value of a counter rule; writes are logged. */
class SequenceDevice implements PortDevice {
  readonly name = "sequence";
  reads = 0;
  readonly writes: [number, number, number][] = [];
  onRead: ((n: number) => void) | null = null;
  read(offset: number, size: AccessSize): number {
    const n = this.reads++;
    this.onRead?.(n);
    return expectedRead(n, size) + offset;
  }
  write(offset: number, size: AccessSize, value: number): void { this.writes.push([offset, size, value]); }
}
function expectedRead(n: number, size: number): number {
  const v = (Math.imul(n + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v;
}

async function machine(engine: "wasm" | "js") {
  const ramBytes = 4 << 20;
  const pc = new Pc({ engine: await createEngine(engine, ramBytes), ramBytes, onSerial: () => {} });
  const dev = new SequenceDevice();
  pc.vm.addPortDevice(0x300, 4, dev);
  pc.loadKernel(GUEST, { path: "direct-ports.bin" });
  return { pc, dev };
}

async function runGuest(engine: "wasm" | "js", direct: boolean) {
  const { pc, dev } = await machine(engine);
  if (direct) pc.vm.direct.set(0x300, 4, dev, { read: true, write: true });
  const stop = pc.vm.run(1_000_000);
  return { stop, dev, pc, mem: pc.vm.memory.read(0x2000, 8), buf: pc.vm.memory.read(0x3000, 16), st: pc.vm.getState(), counts: pc.vm.direct.counts(0x300) };
}

describe("direct port I/O (the I/O bitmap)", () => {
  for (const engine of ENGINES) {
    it(`${engine}: a direct port behaves exactly as a hooked one, without exits`, async () => {
      const hooked = await runGuest(engine, false);
      const direct = await runGuest(engine, true);
      for (const r of [hooked, direct]) {
        expect(r.stop).toEqual({ kind: "debug-exit", status: 1 });
        // in al / in ax / in eax: reads 0, 1, 2 of the rule.
        const dv = new DataView(r.mem.buffer, r.mem.byteOffset);
        expect(dv.getUint8(0)).toBe(expectedRead(0, 1));
        expect(dv.getUint16(2, true)).toBe(expectedRead(1, 2));
        expect(dv.getUint32(4, true)).toBe(expectedRead(2, 4));
        // rep insb: reads 3..18, one byte each.
        expect([...r.buf]).toEqual(Array.from({ length: 16 }, (_, i) => expectedRead(3 + i, 1)));
        // out dx,al then rep outsd of the 16 bytes just read.
        const bv = new DataView(r.buf.buffer, r.buf.byteOffset);
        expect(r.dev.writes).toEqual([[0, 1, 0x5a], ...[0, 1, 2, 3].map((i) => [0, 4, bv.getUint32(4 * i, true)])]);
        expect(r.st.ecx).toBe(0);
        expect(r.st.edi).toBe(0x3010);
        expect(r.st.esi).toBe(0x3010);
      }
      expect(direct.st).toEqual(hooked.st);
      // 3 IN + 1 OUT + 16 INSB + 4 OUTSD accesses of port 0x300.
      expect(hooked.counts).toEqual({ exits: 24, direct: 0 });
      expect(direct.counts).toEqual({ exits: 0, direct: 24 });
      expect((hooked.pc.vm.stats().exits["io-in"] ?? 0) - (direct.pc.vm.stats().exits["io-in"] ?? 0)).toBe(19);
    });

    it(`${engine}: a direct read-only port still exits on writes; hooking it again restores exits`, async () => {
      const { pc, dev } = await machine(engine);
      pc.vm.direct.set(0x300, 4, dev, { read: true, write: false });
      expect(pc.vm.direct.isDirect(0x300, false)).toBe(true);
      expect(pc.vm.direct.isDirect(0x300, true)).toBe(false);
      pc.vm.run(1_000_000);
      expect(pc.vm.direct.counts(0x300)).toEqual({ exits: 5, direct: 19 });
      pc.vm.direct.unset(0x300, 4);
      expect(pc.vm.direct.isDirect(0x300, false)).toBe(false);
    });

    it(`${engine}: kick() during a direct access ends run() right after the instruction`, async () => {
      const { pc, dev } = await machine(engine);
      pc.vm.direct.set(0x300, 4, dev, { read: true, write: true });
      dev.onRead = (n) => { if (n === 2) pc.vm.direct.kick(); };
      const code = pc.vm.core.run(1_000_000);
      expect(code).toBe(ExitCode.Budget);
      expect(pc.vm.core.getEip() >>> 0).toBe(AFTER_IN_EAX);
      expect(dev.reads).toBe(3);
      // Outside an access kick() does nothing: the rest runs to the debug exit.
      pc.vm.direct.kick();
      expect(pc.vm.run(1_000_000)).toEqual({ kind: "debug-exit", status: 1 });
    });
  }
});
