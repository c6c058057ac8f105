/**
 * VPIO's device model of the NE2000 (seed 004, Xia, Lange & Dinda, "Towards
 * Virtual Passthrough I/O on Commodity Devices"): not an emulation of the
 * card — the guest drives the real (here: the emulated DP8390 standing in
 * for real) card through direct ports — but a small state machine the VMM
 * keeps in step with it from the few operations that matter, so that it
 * knows (1) whether a remote DMA or a transmit is about to run and over what
 * card memory, and can deny it before the card performs it, and (2) when the
 * card is serially reusable, so it can be handed to another VM.
 *
 * States and transitions are the seed's NE2K diagram ({@link TRANSITIONS}),
 * driven by command-register writes (Cmd…) and by the card's interrupt status
 * as the VMM sees it (Int…: RDC remote DMA complete; PTX/TXE, the diagram's
 * "PTX, PXE", transmit done or failed; RST). The diagram's extra information
 * is kept beside the state: the register page, the registers that define a
 * transfer (PSTART, PSTOP, TPSR, TBCR, RSAR, RBCR — all written through
 * hooked ports, so the model's copies are the card's), and whether the chip
 * is stopped.
 *
 * Checking functions, run on the transition before the command reaches the
 * card:
 * - remote read: [RSAR, RSAR+RBCR) lies in the station-address PROM or in
 *   buffer RAM; a read starting inside the receive ring wraps at PSTOP as the
 *   chip does, so it may be at most a ring long;
 * - remote write: [RSAR, RSAR+RBCR) lies in buffer RAM and outside the
 *   receive ring (the ring belongs to the card's receiver);
 * - transmit: 1-1518 bytes at TPSR, in buffer RAM and outside the ring;
 * - the receive ring (PSTART-PSTOP) of a running chip lies in buffer RAM
 *   (checked at Start and when either is written on the running chip; an
 *   empty ring receives nothing — Linux starts the chip before it sets the
 *   ring, to read the station address PROM);
 * - Send Packet (RD = 011), whose source the card takes from BNRY (a direct
 *   register), is always denied; Linux never uses it;
 * - while a transfer is in flight, writes to the registers that define it
 *   (RSAR, RBCR; TPSR, TBCR; PSTART, PSTOP) are denied — the chip uses RSAR
 *   as its running address, so a later write would move the transfer.
 *
 * What the guest sees when something is denied (the paper leaves the choice
 * open: notify, ignore, machine check): the operation is ignored the way a
 * failing card ignores it. A denied remote DMA never starts — the command
 * reaches the card as Abort/Complete with the card's memory and DMA registers
 * untouched, data-port reads return all ones, writes are dropped and no RDC
 * comes (Linux's block_output then times out and resets the card); a denied
 * transmit is completed as aborted (TSR.ABT, ISR.TXE — what the chip reports
 * after 16 collisions; Linux counts a tx_aborted_error); a denied register
 * write is dropped. Each denial is counted with a one-line reason.
 *
 * The model is reusable (the card may be switched to another VM) in Init and
 * Idle: no remote DMA and no transmission in flight.
 *
 * @module
 */
import { PROM_BYTES, RAM_START, RAM_END, ISR_RDC, ISR_PTX, ISR_TXE, ISR_RST, CR_STP, CR_STA, CR_TXP, CR_RD_MASK, CR_RD_READ, CR_RD_WRITE, CR_RD_SEND, CR_RD_ABORT } from "../devices/ne2k/dp8390.js";
import { ETH_MAX_FRAME } from "../net/ethernet.js";

export type Ne2kState = "Init" | "Idle" | "Trans" | "DmaRd" | "DmaWr" | "TransDmaRd" | "TransDmaWr" | "AbortDma";
export type Ne2kEvent = "CmdStart" | "CmdStop" | "CmdTransmit" | "CmdDmaRd" | "CmdDmaWr" | "CmdAbortDma" | "IntRdc" | "IntPtx" | "IntRst" | "Reset";

export const NE2K_STATES: readonly Ne2kState[] = ["Init", "Idle", "Trans", "DmaRd", "DmaWr", "TransDmaRd", "TransDmaWr", "AbortDma"];

/**
 * The seed's diagram. An event a state has no entry for leaves the state as
 * it is (RDC in Idle, a page select…). "Reset" (the reset port) leads to
 * Init from everywhere and is not repeated here. A DMA command in a DMA
 * state restarts the transfer (the chip reloads nothing; the model checks
 * the new range). Two targets depend on the extra information and are
 * resolved in {@link Ne2kModel}: Idle while the chip is stopped is Init
 * (a DMA can run on a stopped chip, and a transmission finishes after a
 * Stop), and AbortDma returns to Trans when a transmission was running.
 */
export const TRANSITIONS: Readonly<Record<Ne2kState, Partial<Record<Ne2kEvent, Ne2kState>>>> = {
  Init: { CmdStart: "Idle", CmdDmaRd: "DmaRd", CmdDmaWr: "DmaWr" },
  Idle: { CmdTransmit: "Trans", CmdDmaRd: "DmaRd", CmdDmaWr: "DmaWr", CmdStop: "Init" },
  Trans: { IntPtx: "Idle", CmdDmaRd: "TransDmaRd", CmdDmaWr: "TransDmaWr" },
  DmaRd: { IntRdc: "Idle", CmdTransmit: "TransDmaRd", CmdStop: "AbortDma", CmdAbortDma: "AbortDma", CmdDmaWr: "DmaWr", CmdDmaRd: "DmaRd" },
  DmaWr: { IntRdc: "Idle", CmdTransmit: "TransDmaWr", CmdStop: "AbortDma", CmdAbortDma: "AbortDma", CmdDmaRd: "DmaRd", CmdDmaWr: "DmaWr" },
  TransDmaRd: { IntRdc: "Trans", IntPtx: "DmaRd", CmdStop: "AbortDma", CmdAbortDma: "AbortDma" },
  TransDmaWr: { IntRdc: "Trans", IntPtx: "DmaWr", CmdStop: "AbortDma", CmdAbortDma: "AbortDma" },
  AbortDma: { IntRdc: "Idle", IntRst: "Init" },
};

/** Which ports of the card's 32 the model needs to see (the rest are direct). */
export interface HookedPort { offset: number; read: boolean; write: boolean; why: string }

/**
 * The hooked-port set: everything that can start, aim or reset a transfer.
 * Reads of all registers, ISR/IMR/BNRY/RCR/TCR/DCR writes and the data port
 * are direct — the data port carries almost every access.
 */
export const HOOKED_PORTS: readonly HookedPort[] = [
  { offset: 0x00, read: false, write: true, why: "CR: every command" },
  { offset: 0x01, read: false, write: true, why: "PSTART (page 0)" },
  { offset: 0x02, read: false, write: true, why: "PSTOP (page 0)" },
  { offset: 0x04, read: false, write: true, why: "TPSR (page 0)" },
  { offset: 0x05, read: false, write: true, why: "TBCR0 (page 0)" },
  { offset: 0x06, read: false, write: true, why: "TBCR1 (page 0)" },
  { offset: 0x08, read: false, write: true, why: "RSAR0 (page 0)" },
  { offset: 0x09, read: false, write: true, why: "RSAR1 (page 0)" },
  { offset: 0x0a, read: false, write: true, why: "RBCR0 (page 0)" },
  { offset: 0x0b, read: false, write: true, why: "RBCR1 (page 0)" },
  ...Array.from({ length: 8 }, (_, i) => ({ offset: 0x18 + i, read: true, write: true, why: "reset port" })),
];

const RING_PAGES_MIN = RAM_START >> 8, RING_PAGES_MAX = RAM_END >> 8;

/** What to do with a hooked write: forward `value` to the card (possibly changed), or drop it. */
export interface Verdict {
  forward: number | null;
  /** A transmit was denied: complete it as aborted (the front tells the card). */
  abortTransmit: boolean;
}

export interface ModelStats {
  /** Model updates (hooked writes and interrupt events handled). */
  updates: number;
  /** Transitions taken, "From→To (Event)". */
  transitions: Record<string, number>;
  denied: number;
  /** The last denial, one line. */
  lastDenial: string | null;
}

/** One thing the model saw, for replaying (the benchmark's update-cost measurement). */
export type ModelInput = { kind: "write"; offset: number; value: number } | { kind: "interrupt"; bits: number } | { kind: "reset" };

export class Ne2kModel {
  state: Ne2kState = "Init";
  // The extra information.
  page = 0;
  stopped = true;
  pstart = 0;
  pstop = 0;
  tpsr = 0;
  tbcr = 0;
  rsar = 0;
  rbcr = 0;
  readonly stats: ModelStats = { updates: 0, transitions: {}, denied: 0, lastDenial: null };
  /** When set, every input is appended (the benchmark replays them). */
  record: ModelInput[] | null = null;
  /** Called on each transition (the monitor's trace, tests). */
  onTransition: ((from: Ne2kState, to: Ne2kState, event: Ne2kEvent) => void) | null = null;

  /** No remote DMA and no transmission in flight: the card can be context-switched. */
  get reusable(): boolean { return this.state === "Init" || this.state === "Idle"; }

  private get transmitting(): boolean { return this.state === "Trans" || this.state === "TransDmaRd" || this.state === "TransDmaWr"; }
  private get dmaInFlight(): boolean { return this.state === "DmaRd" || this.state === "DmaWr" || this.state === "TransDmaRd" || this.state === "TransDmaWr"; }

  /** A guest write to a hooked register port (offset 0x00-0x0F). */
  write(offset: number, value: number): Verdict {
    this.record?.push({ kind: "write", offset, value });
    this.stats.updates++;
    if (offset === 0) return this.command(value);
    if (this.page !== 0) return { forward: value, abortTransmit: false }; // PAR/MAR (page 1), page 2/3: no transfer meaning
    const inFlight = (what: string) => this.deny(`${what} written while a transfer is in flight (${this.state})`);
    switch (offset) {
      case 0x01:
      case 0x02: {
        const name = offset === 1 ? "PSTART" : "PSTOP";
        if (this.dmaInFlight) return inFlight(name);
        const [start, stop] = offset === 1 ? [value, this.pstop] : [this.pstart, value];
        const bad = this.stopped ? null : this.ringProblem(start, stop);
        if (bad) return this.deny(`${name} written on the running chip would make ${bad}`);
        this.pstart = start;
        this.pstop = stop;
        break;
      }
      case 0x04: if (this.transmitting) return inFlight("TPSR"); this.tpsr = value; break;
      case 0x05: if (this.transmitting) return inFlight("TBCR0"); this.tbcr = (this.tbcr & 0xff00) | value; break;
      case 0x06: if (this.transmitting) return inFlight("TBCR1"); this.tbcr = (this.tbcr & 0xff) | (value << 8); break;
      case 0x08: if (this.dmaInFlight) return inFlight("RSAR0"); this.rsar = (this.rsar & 0xff00) | value; break;
      case 0x09: if (this.dmaInFlight) return inFlight("RSAR1"); this.rsar = (this.rsar & 0xff) | (value << 8); break;
      case 0x0a: if (this.dmaInFlight) return inFlight("RBCR0"); this.rbcr = (this.rbcr & 0xff00) | value; break;
      case 0x0b: if (this.dmaInFlight) return inFlight("RBCR1"); this.rbcr = (this.rbcr & 0xff) | (value << 8); break;
    }
    return { forward: value, abortTransmit: false };
  }

  /** Interrupt status bits the card just set. */
  interrupt(bits: number): void {
    this.record?.push({ kind: "interrupt", bits });
    this.stats.updates++;
    if (bits & ISR_RST) this.event("IntRst");
    if (bits & ISR_RDC) this.event("IntRdc");
    if (bits & (ISR_PTX | ISR_TXE)) {
      if (this.state === "AbortDma") this.txDuringAbort = false; // the transmission ended meanwhile
      this.event("IntPtx");
    }
  }

  /** The reset port was accessed: the chip is stopped and idle. */
  reset(): void {
    this.record?.push({ kind: "reset" });
    this.stats.updates++;
    this.stopped = true;
    this.go("Init", "Reset");
  }

  /** Replay recorded inputs (benchmark): the same updates without a card behind them. */
  replay(inputs: readonly ModelInput[]): void {
    for (const i of inputs) {
      if (i.kind === "write") this.write(i.offset, i.value);
      else if (i.kind === "interrupt") this.interrupt(i.bits);
      else this.reset();
    }
  }

  private command(v: number): Verdict {
    let forward = v;
    let abortTransmit = false;
    this.page = v >> 6;
    if (v & CR_STP) { this.stopped = true; this.event("CmdStop"); }
    else if (v & CR_STA) {
      if (this.stopped) {
        const bad = this.ringProblem(this.pstart, this.pstop);
        if (bad) return this.deny(`start with ${bad}`);
      }
      this.stopped = false;
      this.event("CmdStart");
    }
    const rd = v & CR_RD_MASK;
    if (rd === CR_RD_READ || rd === CR_RD_WRITE || rd === CR_RD_SEND) {
      const bad = rd === CR_RD_SEND ? "Send Packet (source taken from BNRY, a register the model does not see)" : this.dmaProblem(rd === CR_RD_WRITE);
      if (bad) {
        this.deny(`remote ${rd === CR_RD_WRITE ? "write" : "read"} denied: ${bad}`);
        forward = (forward & ~CR_RD_MASK) | CR_RD_ABORT;
      } else {
        this.event(rd === CR_RD_WRITE ? "CmdDmaWr" : "CmdDmaRd");
      }
    } else if (rd >= CR_RD_ABORT && this.dmaInFlight) {
      this.event("CmdAbortDma");
    }
    if ((v & CR_TXP) && !this.stopped) {
      const bad = this.transmitProblem();
      if (bad) {
        this.deny(`transmit denied: ${bad}`);
        forward &= ~CR_TXP;
        abortTransmit = true;
      } else {
        this.event("CmdTransmit");
      }
    }
    return { forward, abortTransmit };
  }

  // ---- checking functions -------------------------------------------------------------

  /** An empty ring (PSTART ≥ PSTOP) receives nothing; a non-empty one must lie in buffer RAM. */
  private ringProblem(start: number, stop: number): string | null {
    if (start >= stop) return null;
    if (start < RING_PAGES_MIN || stop > RING_PAGES_MAX) {
      return `a receive ring (pages ${hex(start)}-${hex(stop)}) outside buffer RAM (pages ${hex(RING_PAGES_MIN)}-${hex(RING_PAGES_MAX)})`;
    }
    return null;
  }

  // (The checks run on every remote DMA and transmit: the messages are built only for a denial.)
  private dmaProblem(write: boolean): string | null {
    const start = this.rsar, end = this.rsar + this.rbcr;
    const ringStart = this.pstart << 8, ringEnd = this.pstop << 8;
    const what = () => `[${hex(start)}, ${hex(end)})`;
    if (write) {
      if (start < RAM_START || end > RAM_END) return `${what()} is outside buffer RAM [${hex(RAM_START)}, ${hex(RAM_END)})`;
      if (start < ringEnd && end > ringStart) return `${what()} overlaps the receive ring [${hex(ringStart)}, ${hex(ringEnd)})`;
      return null;
    }
    if (end <= PROM_BYTES) return null;
    if (start >= ringStart && start < ringEnd && ringEnd > ringStart && ringEnd <= RAM_END) {
      return this.rbcr <= ringEnd - ringStart ? null : `${what()} is longer than the receive ring it wraps in`;
    }
    if (start >= RAM_START && end <= RAM_END) return null;
    return `${what()} is outside the PROM [0, ${hex(PROM_BYTES)}) and buffer RAM [${hex(RAM_START)}, ${hex(RAM_END)})`;
  }

  private transmitProblem(): string | null {
    const start = this.tpsr << 8, end = start + this.tbcr;
    const ringStart = this.pstart << 8, ringEnd = this.pstop << 8;
    if (this.tbcr === 0 || this.tbcr > ETH_MAX_FRAME) return `a ${this.tbcr}-byte frame (1-${ETH_MAX_FRAME})`;
    if (start < RAM_START || end > RAM_END) return `[${hex(start)}, ${hex(end)}) is outside buffer RAM`;
    if (start < ringEnd && end > ringStart) return `[${hex(start)}, ${hex(end)}) overlaps the receive ring`;
    return null;
  }

  // ---- the state machine --------------------------------------------------------------

  private event(e: Ne2kEvent): void {
    let to = TRANSITIONS[this.state][e];
    if (to === undefined) return;
    // The extra information decides two targets (see TRANSITIONS).
    if (this.state === "AbortDma") {
      if (e === "IntRdc" && this.txDuringAbort) to = "Trans";
    } else if (to === "AbortDma") {
      this.txDuringAbort = this.transmitting;
    }
    if (to === "Idle" && this.stopped) to = "Init";
    this.go(to, e);
  }

  /** A transmission was running when the DMA was aborted (AbortDma returns to Trans). */
  private txDuringAbort = false;

  private go(to: Ne2kState, e: Ne2kEvent): void {
    const from = this.state;
    const key = transitionName(from, to, e);
    this.stats.transitions[key] = (this.stats.transitions[key] ?? 0) + 1;
    this.state = to;
    this.onTransition?.(from, to, e);
  }

  private deny(reason: string): Verdict {
    this.stats.denied++;
    this.stats.lastDenial = reason;
    return { forward: null, abortTransmit: false };
  }
}

function hex(n: number): string { return "0x" + n.toString(16); }

/** "From→To (Event)" for every state pair and event, made once (the model counts every transition it takes). */
const NE2K_EVENTS: readonly Ne2kEvent[] = ["CmdStart", "CmdStop", "CmdTransmit", "CmdDmaRd", "CmdDmaWr", "CmdAbortDma", "IntRdc", "IntPtx", "IntRst", "Reset"];
const NAMES = Object.fromEntries(NE2K_STATES.map((from) => [from, Object.fromEntries(NE2K_EVENTS.map((e) =>
  [e, Object.fromEntries(NE2K_STATES.map((to) => [to, `${from}→${to} (${e})`]))]))])) as Record<Ne2kState, Record<Ne2kEvent, Record<Ne2kState, string>>>;
function transitionName(from: Ne2kState, to: Ne2kState, e: Ne2kEvent): string {
  return NAMES[from][e][to];
}
