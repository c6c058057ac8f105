/**
 * The National Semiconductor DP8390 network interface controller as the
 * NE2000 family (and the RTL8029AS of an NE2000 PCI card) wires it: the
 * register file in four pages, the card's buffer memory reached only through
 * remote DMA and the data port, the receive ring with its boundary/current
 * pointers, transmit from buffer memory, and interrupt status/mask.
 * Register layout and bits: DP8390D datasheet (NS, 1995) and the RTL8029AS
 * datasheet (pages 0-3, the 8029 ID bytes); what Linux's 8390 core and
 * ne2k-pci driver rely on is noted where it matters.
 *
 * Card memory (word-wide NE2000): the station address PROM at 0x0000-0x001F
 * (16 bytes, each doubled as a word-wide card presents them; bytes 14-15 are
 * 0x57 'W', the NE2000 signature) and 16 KiB of buffer RAM at 0x4000-0x7FFF
 * (pages 0x40-0x7F; Linux uses 0x40-0x4B to transmit and 0x4C-0x7F as the
 * receive ring). Other addresses read as all ones and ignore writes.
 *
 * Where our wire differs from copper, as in QEMU's NE2000: frames carry no
 * FCS (the receive header's byte count is the frame plus the 4-byte header;
 * a page is still reserved for the CRC when the next packet pointer is
 * computed, as the chip does), frames shorter than 60 bytes are padded, there
 * are no collisions or CRC errors (the tally counters stay 0), and a frame
 * that does not fit in the ring is not overwritten-and-lost: the link holds
 * it until the driver frees ring pages (see canReceive), QEMU's flow control.
 * Because frames come in bursts here (a switch delivers at once, a held frame
 * cannot announce itself later the way an arriving one does), acknowledging
 * PRX while the ring still holds frames the driver has not taken sets PRX
 * again — as if the next frame had arrived right after the acknowledgement:
 * Linux's ei_receive takes at most 9 frames per interrupt and then
 * acknowledges PRX, relying on the next arrival to interrupt again.
 * The data port only moves data while a remote DMA is active (RD = read or
 * write and a byte count left): otherwise reads return all ones and writes
 * are ignored. An Abort/Complete command during a transfer ends it and
 * reports it complete (RDC); a zero-length transfer completes at once. Page 2 is read-only (the RTL8029AS's), page 3 keeps the
 * RTL8029AS configuration bytes (CONFIG0 reads 0: 10BASE-T).
 *
 * @module
 */
import { readBytewise, type AccessSize, type PortDevice } from "../../vmm/bus.js";
import { ETH_MIN_FRAME, macBytes, type Mac } from "../../net/ethernet.js";
import type { SavedTimer, TimerHandle } from "../../vmm/clock.js";
import type { State } from "../../vmm/snapshot.js";

// Command register (all pages).
export const CR_STP = 0x01;
export const CR_STA = 0x02;
export const CR_TXP = 0x04;
/** Remote DMA command, bits 5-3: 1 read, 2 write, 3 send packet, 4-7 abort/complete. */
export const CR_RD_MASK = 0x38;
export const CR_RD_READ = 0x08;
export const CR_RD_WRITE = 0x10;
export const CR_RD_SEND = 0x18;
export const CR_RD_ABORT = 0x20;
export const CR_PS_MASK = 0xc0;

// Interrupt status / mask bits.
export const ISR_PRX = 0x01;
export const ISR_PTX = 0x02;
export const ISR_RXE = 0x04;
export const ISR_TXE = 0x08;
export const ISR_OVW = 0x10;
export const ISR_CNT = 0x20;
export const ISR_RDC = 0x40;
export const ISR_RST = 0x80;

// Page 0 register offsets (write names; reads differ where noted).
export const REG_CR = 0x00;
export const REG_PSTART = 0x01;  // read: CLDA0
export const REG_PSTOP = 0x02;   // read: CLDA1
export const REG_BNRY = 0x03;
export const REG_TPSR = 0x04;    // read: TSR
export const REG_TBCR0 = 0x05;   // read: NCR
export const REG_TBCR1 = 0x06;   // read: FIFO
export const REG_ISR = 0x07;
export const REG_RSAR0 = 0x08;   // read: CRDA0
export const REG_RSAR1 = 0x09;   // read: CRDA1
export const REG_RBCR0 = 0x0a;   // read: RTL8029 ID 0x50
export const REG_RBCR1 = 0x0b;   // read: RTL8029 ID 0x43
export const REG_RCR = 0x0c;     // read: RSR
export const REG_TCR = 0x0d;     // read: CNTR0
export const REG_DCR = 0x0e;     // read: CNTR1
export const REG_IMR = 0x0f;     // read: CNTR2
/** Page 1: PAR0-5 at 1-6, CURR at 7, MAR0-7 at 8-15. */
export const REG_CURR = 0x07;

const RCR_AB = 0x04, RCR_AM = 0x08, RCR_PRO = 0x10, RCR_MON = 0x20;
const TCR_LB = 0x06;
const DCR_WTS = 0x01, DCR_BOS = 0x02;
const RSR_PRX = 0x01, RSR_PHY = 0x20;
const TSR_PTX = 0x01, TSR_ABT = 0x08;

/** Card memory: PROM at 0, buffer RAM at [RAM_START, RAM_END). */
export const PROM_BYTES = 32;
export const RAM_START = 0x4000;
export const RAM_END = 0x8000;

/** Everything that makes up the chip's state: what a context switch saves and restores. */
export interface Dp8390State {
  cr: number; isr: number; imr: number; dcr: number; tcr: number; rcr: number; tsr: number; rsr: number;
  pstart: number; pstop: number; bnry: number; curr: number; tpsr: number; tbcr: number; rsar: number; rbcr: number;
  par: number[]; mar: number[]; page3: number[];
  /** Card memory (PROM and RAM), 0x0000-0x7FFF. */
  memory: Uint8Array;
}

/** Where the chip's transmitter gets its time (the VM's VirtualClock fits; a snapshot keeps a transmission's timer). */
export interface TransmitClock {
  nowNs(): number;
  schedule(atNs: number, callback: () => void): TimerHandle;
  saveTimer(handle: TimerHandle | null): SavedTimer;
  restoreTimer(saved: SavedTimer, callback: () => void): TimerHandle | null;
}

/** 10BASE-T: 100 ns per bit. */
export const NS_PER_BYTE_10MBIT = 800;
/** Preamble and start delimiter (8), FCS (4) and the inter-frame gap (12) around every frame. */
const WIRE_OVERHEAD_BYTES = 24;

export interface Dp8390Options {
  /** Station address in the PROM (the driver copies it into PAR). */
  mac: Mac;
  /**
   * Time for the transmitter: a transmission then takes the frame's time on
   * a 10 Mbit/s wire and completes (frame out, PTX) when that has passed, as
   * on the card — the driver sees the transmitter busy meanwhile (CR.TXP).
   * Without it a transmission completes within the command.
   */
  clock?: TransmitClock;
  /** A transmitted frame leaves the card. */
  transmit(frame: Uint8Array): void;
  /** The INT pin: (ISR & IMR) has a bit set. */
  setIrq(level: boolean): void;
  /** The driver freed ring space, or the receiver started: queued frames may come in now. */
  onReceiveReady?(): void;
}

export class Dp8390 implements PortDevice {
  readonly name = "dp8390";
  /** Interrupt events as a VMM watching the card's interrupt status sees them (VPIO drives its model with them). */
  onInterruptEvent: ((bits: number) => void) | null = null;

  private s: Dp8390State;
  private irq = false;

  constructor(private readonly opts: Dp8390Options) {
    this.s = Dp8390.powerOnState(opts.mac);
    this.hardReset();
  }

  /** The state at power-on: PROM filled, RAM zero, chip stopped. */
  static powerOnState(mac: Mac): Dp8390State {
    const memory = new Uint8Array(RAM_END);
    const prom = new Uint8Array(16);
    prom.set(macBytes(mac), 0);
    prom[14] = prom[15] = 0x57;
    for (let i = 0; i < 16; i++) memory[2 * i] = memory[2 * i + 1] = prom[i]!;
    return {
      cr: CR_STP | CR_RD_ABORT, isr: ISR_RST, imr: 0, dcr: 0, tcr: 0, rcr: 0, tsr: 0, rsr: 0,
      pstart: 0, pstop: 0, bnry: 0, curr: 0, tpsr: 0, tbcr: 0, rsar: 0, rbcr: 0,
      par: [0, 0, 0, 0, 0, 0], mar: [0, 0, 0, 0, 0, 0, 0, 0], page3: new Array<number>(16).fill(0),
      memory,
    };
  }

  // ---- context (VPIO multiplexing) ---------------------------------------------------

  /** A copy of the whole state (not while a transmission is on the wire: it belongs to the timeline of the VM that started it). */
  saveState(): Dp8390State {
    if (this.txPending) throw new Error("DP8390: cannot save the state while a frame is being transmitted");
    return copyState(this.s);
  }

  /** Replace the whole state (the IRQ pin follows). */
  loadState(st: Dp8390State): void {
    if (this.txPending) throw new Error("DP8390: cannot load a state while a frame is being transmitted");
    this.s = copyState(st);
    this.updateIrq();
    this.opts.onReceiveReady?.();
  }

  // ---- snapshots (src/vmm/snapshot.ts) ------------------------------------------------

  /** The chip for a machine snapshot: registers, card memory, the INT pin, and a frame on the wire with its timer. */
  save(): State {
    return {
      registers: copyState(this.s) as unknown as State,
      irq: this.irq,
      txPending: this.txPending?.slice() ?? null,
      txTimer: this.txPending ? this.opts.clock?.saveTimer(this.txTimer) ?? null : null,
    };
  }

  /** Take back save()'s state: the pin driven to the saved level, a transmission on the wire re-armed where it was. */
  restore(state: State): void {
    this.s = copyState(state.registers as unknown as Dp8390State);
    this.txPending = (state.txPending as Uint8Array | null)?.slice() ?? null;
    this.txTimer = this.txPending && this.opts.clock ? this.opts.clock.restoreTimer(state.txTimer as SavedTimer, () => this.transmitTimer()) : null;
    this.irq = state.irq as boolean;
    this.opts.setIrq(this.irq);
  }

  /** Read-only view of the registers (monitor, tests). */
  get state(): Readonly<Dp8390State> { return this.s; }

  // ---- the 16 register ports ------------------------------------------------------------

  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => this.readReg(o & 0x0f), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeReg((offset + i) & 0x0f, (value >>> (8 * i)) & 0xff);
  }

  readReg(reg: number): number {
    const s = this.s;
    if (reg === REG_CR) return s.cr;
    switch (s.cr >> 6) {
      case 0:
        switch (reg) {
          case 0x01: return 0; // CLDA0: local DMA is instantaneous here
          case 0x02: return 0;
          case REG_BNRY: return s.bnry;
          case 0x04: return s.tsr;
          case 0x05: return 0; // NCR: no collisions
          case 0x06: return 0; // FIFO
          case REG_ISR: return s.isr;
          case 0x08: return s.rsar & 0xff; // CRDA
          case 0x09: return s.rsar >> 8;
          case 0x0a: return 0x50; // RTL8029AS ID
          case 0x0b: return 0x43;
          case 0x0c: return s.rsr;
          default: return 0; // tally counters (cleared by reading; never count here)
        }
      case 1:
        if (reg <= 6) return s.par[reg - 1]!;
        if (reg === REG_CURR) return s.curr;
        return s.mar[reg - 8]!;
      case 2:
        switch (reg) {
          case 0x01: return s.pstart;
          case 0x02: return s.pstop;
          case 0x03: return s.curr; // remote next packet pointer
          case 0x04: return s.tpsr;
          case 0x05: return s.curr; // local next packet pointer
          case 0x06: return s.rsar >> 8; // address counter
          case 0x07: return s.rsar & 0xff;
          case 0x0c: return s.rcr | 0xc0;
          case 0x0d: return s.tcr | 0xe0;
          case 0x0e: return s.dcr | 0x80;
          case 0x0f: return s.imr | 0x80;
          default: return 0;
        }
      default:
        return s.page3[reg]!;
    }
  }

  writeReg(reg: number, v: number): void {
    const s = this.s;
    if (reg === REG_CR) { this.command(v); return; }
    switch (s.cr >> 6) {
      case 0:
        switch (reg) {
          case REG_PSTART: s.pstart = v; return;
          case REG_PSTOP: s.pstop = v; return;
          case REG_BNRY: s.bnry = v; this.opts.onReceiveReady?.(); return;
          case REG_TPSR: s.tpsr = v; return;
          case REG_TBCR0: s.tbcr = (s.tbcr & 0xff00) | v; return;
          case REG_TBCR1: s.tbcr = (s.tbcr & 0xff) | (v << 8); return;
          case REG_ISR:
            s.isr &= ~(v & 0x7f); // RST is not cleared by writing (datasheet)
            if ((v & ISR_PRX) && this.receiving && this.ringHasFrames()) s.isr |= ISR_PRX;
            this.updateIrq();
            return;
          case REG_RSAR0: s.rsar = (s.rsar & 0xff00) | v; return;
          case REG_RSAR1: s.rsar = (s.rsar & 0xff) | (v << 8); return;
          case REG_RBCR0: s.rbcr = (s.rbcr & 0xff00) | v; return;
          case REG_RBCR1: s.rbcr = (s.rbcr & 0xff) | (v << 8); return;
          case REG_RCR: s.rcr = v & 0x3f; this.opts.onReceiveReady?.(); return;
          case REG_TCR: s.tcr = v & 0x1f; return;
          case REG_DCR: s.dcr = v & 0x7f; return;
          case REG_IMR: s.imr = v & 0x7f; this.updateIrq(); return;
        }
        return;
      case 1:
        if (reg <= 6) s.par[reg - 1] = v;
        else if (reg === REG_CURR) { s.curr = v; this.opts.onReceiveReady?.(); }
        else s.mar[reg - 8] = v;
        return;
      case 2:
        return; // read-only
      default:
        s.page3[reg] = v;
    }
  }

  private command(v: number): void {
    const s = this.s;
    const wasStopped = (s.cr & CR_STP) !== 0;
    const wasDma = this.dmaActive !== null;
    // STA and STP both 0 leave the chip as it is (Linux selects pages that way); TXP reads back 1
    // until the transmission ends, whatever is written.
    let run = s.cr & (CR_STP | CR_STA);
    if (v & CR_STP) run = CR_STP;
    else if (v & CR_STA) run = CR_STA;
    s.cr = (v & (CR_PS_MASK | CR_RD_MASK)) | run | (s.cr & CR_TXP);
    if (v & CR_STP) this.raise(ISR_RST);
    else if ((v & CR_STA) && wasStopped) {
      s.isr &= ~ISR_RST;
      this.updateIrq();
      this.opts.onReceiveReady?.();
    }
    const rd = v & CR_RD_MASK;
    if (rd === CR_RD_SEND) {
      // Send Packet: a remote read of the packet at BNRY, its length taken from its ring header.
      s.rsar = s.bnry << 8;
      s.rbcr = this.peek(s.rsar + 2) | (this.peek(s.rsar + 3) << 8);
      s.cr = (s.cr & ~CR_RD_MASK) | CR_RD_READ;
    }
    if (rd === CR_RD_READ || rd === CR_RD_WRITE || rd === CR_RD_SEND) {
      if (s.rbcr === 0) this.dmaDone(); // a zero-length transfer completes at once
    } else if (rd >= CR_RD_ABORT && wasDma) {
      // Abort/Complete during a transfer ends it; the chip reports it complete.
      s.rbcr = 0;
      this.raise(ISR_RDC);
    }
    if ((v & CR_TXP) && !(s.cr & CR_STP)) this.transmitBuffer();
  }

  // ---- remote DMA through the data port ----------------------------------------------------

  /** Is a remote read or write in progress? */
  get dmaActive(): "read" | "write" | null {
    const rd = this.s.cr & CR_RD_MASK;
    if (this.s.rbcr === 0) return null;
    return rd === CR_RD_READ ? "read" : rd === CR_RD_WRITE ? "write" : null;
  }

  /** A data-port read of `size` bytes (1, 2 or 4; 4 is two word transfers on the RTL8029AS). */
  dataRead(size: AccessSize): number {
    if (this.dmaActive !== "read") return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    if (!(this.s.dcr & DCR_WTS)) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.dmaByte(0, false) << (8 * i);
      return v >>> 0;
    }
    const lo = this.dmaWord(0, false);
    if (size !== 4) return size === 1 ? lo & 0xff : lo;
    return (lo | (this.dmaWord(0, false) << 16)) >>> 0;
  }

  /** A data-port write. */
  dataWrite(size: AccessSize, value: number): void {
    if (this.dmaActive !== "write") return;
    if (!(this.s.dcr & DCR_WTS)) {
      for (let i = 0; i < size; i++) this.dmaByte((value >>> (8 * i)) & 0xff, true);
      return;
    }
    this.dmaWord(value & 0xffff, true);
    if (size === 4) this.dmaWord(value >>> 16, true);
  }

  private dmaByte(v: number, write: boolean): number {
    const s = this.s;
    if (s.rbcr === 0) return 0xff;
    let r = 0xff;
    if (write) this.poke(s.rsar, v); else r = this.peek(s.rsar);
    this.dmaAdvance(1);
    return r;
  }

  private dmaWord(v: number, write: boolean): number {
    const s = this.s;
    if (s.rbcr === 0) return 0xffff;
    const a = s.rsar & ~1; // word transfers use even addresses
    const swap = (s.dcr & DCR_BOS) !== 0;
    let r = 0xffff;
    if (write) {
      this.poke(a, swap ? v >> 8 : v & 0xff);
      this.poke(a + 1, swap ? v & 0xff : v >> 8);
    } else {
      const b0 = this.peek(a), b1 = this.peek(a + 1);
      r = swap ? (b0 << 8) | b1 : b0 | (b1 << 8);
    }
    this.dmaAdvance(2);
    return r;
  }

  private dmaAdvance(n: number): void {
    const s = this.s;
    s.rsar = (s.rsar + n) & 0xffff;
    // The remote DMA wraps from the end of the ring to its start (a packet that wraps reads in one DMA).
    if (s.pstop !== 0 && s.rsar === s.pstop << 8) s.rsar = s.pstart << 8;
    s.rbcr = s.rbcr > n ? s.rbcr - n : 0;
    if (s.rbcr === 0) this.dmaDone();
  }

  private dmaDone(): void {
    this.s.cr = (this.s.cr & ~CR_RD_MASK) | CR_RD_ABORT;
    this.raise(ISR_RDC);
  }

  /** Card memory as the chip's DMA sees it. */
  peek(addr: number): number {
    addr &= 0xffff;
    if (addr < PROM_BYTES) return this.s.memory[addr]!;
    if (addr >= RAM_START && addr < RAM_END) return this.s.memory[addr]!;
    return 0xff;
  }

  private poke(addr: number, v: number): void {
    addr &= 0xffff;
    if (addr >= RAM_START && addr < RAM_END) this.s.memory[addr] = v;
  }

  // ---- transmit -------------------------------------------------------------------------

  /** The frame is read from buffer memory when the command is given (the chip's FIFO fetches it as it sends). */
  private transmitBuffer(): void {
    const s = this.s;
    if (s.cr & CR_TXP) return; // already sending: the datasheet leaves a second TXP undefined; ignored
    const start = s.tpsr << 8;
    const frame = new Uint8Array(s.tbcr);
    for (let i = 0; i < frame.length; i++) frame[i] = this.peek(start + i);
    const clock = this.opts.clock;
    if (!clock) { this.transmitDone(frame); return; }
    s.cr |= CR_TXP;
    this.txPending = frame;
    this.txTimer = clock.schedule(clock.nowNs() + (frame.length + WIRE_OVERHEAD_BYTES) * NS_PER_BYTE_10MBIT, () => this.transmitTimer());
  }

  /** The frame's time on the wire has passed. */
  private transmitTimer(): void {
    const f = this.txPending;
    this.txPending = null;
    this.txTimer = null;
    if (f) this.transmitDone(f);
  }

  /** A frame being sent (its completion is scheduled), or null. */
  private txPending: Uint8Array | null = null;
  private txTimer: TimerHandle | null = null;

  /** True while the transmitter is busy. */
  get transmitting(): boolean { return this.txPending !== null; }

  private transmitDone(frame: Uint8Array): void {
    const s = this.s;
    s.tsr = TSR_PTX;
    s.cr &= ~CR_TXP;
    if (s.tcr & TCR_LB) this.receiveFrame(frame); // loopback: the frame never reaches the wire
    else this.opts.transmit(frame);
    this.raise(ISR_PTX);
  }

  /**
   * For a VMM that refused a transmit (VPIO's model): complete it as the chip
   * completes one it had to abort after 16 collisions (TSR.ABT, ISR.TXE).
   */
  abortTransmit(): void {
    this.s.tsr = TSR_ABT;
    this.raise(ISR_TXE);
  }

  // ---- receive ----------------------------------------------------------------------------

  private get receiving(): boolean {
    const s = this.s;
    return (s.cr & CR_STP) === 0 && (s.cr & CR_STA) !== 0 && (s.rcr & RCR_MON) === 0 && s.pstop > s.pstart;
  }

  private ringPages(): number { return this.s.pstop - this.s.pstart; }

  /** Ring pages a frame of `length` bytes occupies: header, data and the CRC's room. */
  private pagesFor(length: number): number {
    return Math.ceil((4 + Math.max(length, ETH_MIN_FRAME) + 4) / 256);
  }

  /** Pages free between CURR and BNRY (the chip never writes the page BNRY names). */
  private freePages(): number {
    const s = this.s;
    const n = this.ringPages();
    const d = (s.bnry - s.curr + n) % n;
    return d === 0 ? n : d;
  }

  /**
   * Whether a frame can come in now. A stopped or monitoring receiver takes
   * (and drops) everything, as the chip would; a running one holds frames
   * back while the ring lacks room (QEMU's flow control, see the module comment).
   */
  canReceive(length: number): boolean {
    if (!this.receiving) return true;
    return this.pagesFor(length) < this.freePages();
  }

  /** Frames between BNRY and CURR the driver has not taken (BNRY one page behind, or equal to CURR, means none). */
  private ringHasFrames(): boolean { return this.freePages() < this.ringPages() - 1; }

  /** A frame from the wire (only when canReceive said so). */
  receive(frame: Uint8Array): void {
    if (!this.receiving || !this.accepts(frame)) return;
    this.receiveFrame(frame);
  }

  private receiveFrame(frame: Uint8Array): void {
    const s = this.s;
    if (!this.receiving) return;
    const pages = this.pagesFor(frame.length);
    if (pages >= this.freePages() || pages > this.ringPages()) return; // no room: dropped (the link normally prevents this)
    const data = frame.length >= ETH_MIN_FRAME ? frame : padded(frame);
    const count = data.length + 4;
    let next = s.curr + pages;
    if (next >= s.pstop) next -= this.ringPages();
    const status = RSR_PRX | (frame[0]! & 1 ? RSR_PHY : 0);
    let a = s.curr << 8;
    const put = (b: number) => {
      this.poke(a, b); // buffer RAM only: a ring set outside it loses the bytes, as on the card
      a = (a + 1) & 0xffff;
      if (a === s.pstop << 8) a = s.pstart << 8;
    };
    put(status); put(next); put(count & 0xff); put(count >> 8);
    for (let i = 0; i < data.length; i++) put(data[i]!);
    s.rsr = status;
    s.curr = next;
    this.raise(ISR_PRX);
  }

  /** The DP8390's address filter. */
  private accepts(frame: Uint8Array): boolean {
    const s = this.s;
    if (frame.length < 6) return false;
    if (s.rcr & RCR_PRO) return true;
    if ((frame[0]! & 1) === 0) {
      for (let i = 0; i < 6; i++) if (frame[i] !== s.par[i]) return false;
      return true;
    }
    let broadcast = true;
    for (let i = 0; i < 6; i++) if (frame[i] !== 0xff) broadcast = false;
    if (broadcast) return (s.rcr & RCR_AB) !== 0;
    if ((s.rcr & RCR_AM) === 0) return false;
    const bit = multicastHashIndex(frame.subarray(0, 6));
    return (s.mar[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  // ---- reset and interrupts ------------------------------------------------------------------

  /** The NE2000 reset port: the chip stops, RST is set, DMA and interrupts are cleared. */
  hardReset(): void {
    const s = this.s;
    this.txPending = null; // a frame being sent is cut off
    s.cr = CR_STP | CR_RD_ABORT;
    s.isr = ISR_RST;
    s.imr = 0;
    s.rbcr = 0;
    s.tsr = 0;
    this.updateIrq();
    this.onInterruptEvent?.(ISR_RST);
  }

  private raise(bits: number): void {
    this.s.isr |= bits;
    this.updateIrq();
    this.onInterruptEvent?.(bits);
  }

  private updateIrq(): void {
    const level = (this.s.isr & this.s.imr & 0x7f) !== 0;
    if (level !== this.irq) {
      this.irq = level;
      this.opts.setIrq(level);
    }
  }

  /** The INT pin now. */
  get irqLevel(): boolean { return this.irq; }
}

/** A state of its own (the arrays and card memory copied). */
export function copyState(s: Dp8390State): Dp8390State {
  return { ...s, par: [...s.par], mar: [...s.mar], page3: [...s.page3], memory: s.memory.slice() };
}

function padded(frame: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_MIN_FRAME);
  f.set(frame);
  return f;
}

/**
 * The multicast filter bit of a destination address: the top 6 bits of the
 * Ethernet CRC-32 computed over the 6 address bytes, bits in wire order (least
 * significant first) — Linux's `ether_crc(6, addr) >> 26`.
 */
export function multicastHashIndex(addr: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < 6; i++) {
    let b = addr[i]!;
    for (let j = 0; j < 8; j++) {
      const carry = (crc >>> 31) ^ (b & 1);
      crc = (crc << 1) >>> 0;
      b >>= 1;
      if (carry) crc = (crc ^ 0x04c11db7) >>> 0;
    }
  }
  return crc >>> 26;
}
