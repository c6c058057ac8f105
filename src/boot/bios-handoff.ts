/**
 * The interrupt hardware as a PC BIOS leaves it when it hands over to a
 * loaded kernel — what QEMU's `-kernel` gives a Multiboot kernel, since
 * SeaBIOS runs before its multiboot option ROM, and what GRUB leaves on real
 * hardware. A kernel that never touches the 8259A and enables interrupts in
 * real mode (kvm-unit-tests' `realmode`: `sti; hlt`, woken by the BIOS timer)
 * relies on it; a kernel that remaps and masks the PICs first, as the
 * Multiboot spec expects, never sees the difference.
 *
 * The state, as SeaBIOS sets it (src/hw/pic.c `pic_reset`, src/hw/timer.c
 * `pit_setup`, src/clock.c `clock_setup`):
 * - both 8259As initialised, edge-triggered, cascaded on master IR2, 8086
 *   mode, vector bases 0x08 (IRQ 0-7) and 0x70 (IRQ 8-15);
 * - masks: everything but the cascade and IRQ 0, the timer. (SeaBIOS also
 *   unmasks the devices it drives itself — keyboard, mouse, RTC, disks — each
 *   behind its own BIOS handler; without a BIOS here they stay masked, so the
 *   only interrupt a kernel meets unprompted is the timer's);
 * - 8254 channel 0 in mode 2 with count 0 (65 536): 18.2 Hz;
 * - real-mode vectors 0x08-0x0F and 0x70-0x77 pointing at handlers in the
 *   BIOS area that acknowledge the interrupt (non-specific EOI, to the slave
 *   and master for IRQ 8-15) and return. No other vector is set: this
 *   machine has no BIOS services to point them at.
 *
 * @module
 */
import type { TableBlob } from "./acpi.js";

/** The handlers' segment and where they start in it (F000:FF00, in the reserved BIOS area, clear of the ACPI and MP tables). */
const HANDLER_SEGMENT = 0xf000;
const HANDLER_OFFSET = 0xff00;

/** `push ax; mov al, 0x20; out 0x20, al; pop ax; iret` — IRQ 0-7. */
const MASTER_EOI_IRET = [0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf];
/** `push ax; mov al, 0x20; out 0xa0, al; out 0x20, al; pop ax; iret` — IRQ 8-15. */
const SLAVE_EOI_IRET = [0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf];

const MASTER_VECTOR_BASE = 0x08;
const SLAVE_VECTOR_BASE = 0x70;

/** The port writes, in order (ICW1-ICW4 of both chips, their masks, then the 8254's channel 0). */
export const BIOS_HANDOFF_PORT_WRITES: ReadonlyArray<readonly [port: number, value: number]> = [
  [0x20, 0x11], [0xa0, 0x11],                               // ICW1: edge, cascaded, ICW4 follows
  [0x21, MASTER_VECTOR_BASE], [0xa1, SLAVE_VECTOR_BASE],    // ICW2: vector bases
  [0x21, 0x04], [0xa1, 0x02],                               // ICW3: slave on master IR2, slave ID 2
  [0x21, 0x01], [0xa1, 0x01],                               // ICW4: 8086 mode
  [0x21, 0xff & ~0x05], [0xa1, 0xff],                       // OCW1: IRQ 0 and the cascade unmasked
  [0x43, 0x34], [0x40, 0x00], [0x40, 0x00],                 // channel 0, lobyte/hibyte, mode 2, binary; count 0
];

/** The handlers and the sixteen real-mode interrupt vectors that point at them. */
export function biosInterruptVectors(): TableBlob[] {
  const handlers = Uint8Array.from([...MASTER_EOI_IRET, ...SLAVE_EOI_IRET]);
  const vectors = (base: number, handler: number): TableBlob => {
    const bytes = new Uint8Array(8 * 4);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < 8; i++) {
      dv.setUint16(i * 4, HANDLER_OFFSET + handler, true);
      dv.setUint16(i * 4 + 2, HANDLER_SEGMENT, true);
    }
    return { addr: base * 4, bytes };
  };
  return [
    { addr: HANDLER_SEGMENT * 16 + HANDLER_OFFSET, bytes: handlers },
    vectors(MASTER_VECTOR_BASE, 0),
    vectors(SLAVE_VECTOR_BASE, MASTER_EOI_IRET.length),
  ];
}
