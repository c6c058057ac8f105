/**
 * The APIC bus: interrupt messages between the local APICs and from the I/O
 * APIC, with the destination rules of the Intel SDM vol. 3, 10.6.2
 * (physical: one APIC ID or 0xFF for all; logical: the flat model matches
 * any bit of the LDR's top byte, the cluster model a cluster number in
 * bits 7:4 and a member bitmap in bits 3:0) and the ICR's shorthands
 * (10.6.1: self, all including self, all excluding self). An IPI sent in
 * x2APIC mode (10.12.9) has a 32-bit destination, 0xFFFFFFFF for all, and
 * reaches logical destinations by the x2APIC cluster model.
 *
 * @module
 */

/** Delivery modes (ICR and redirection entries, bits 10:8). */
export const enum DeliveryMode { Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, StartUp = 6, ExtInt = 7 }

/** One interrupt message on the bus. */
export interface ApicMessage {
  vector: number;
  mode: DeliveryMode;
  /** Logical destination mode (else physical). */
  logical: boolean;
  /** Destination field: an APIC ID (physical) or a logical mask. */
  dest: number;
  /** Level-triggered (the APIC sets the vector's TMR bit and tells the I/O APIC at EOI). */
  level: boolean;
  /** Level assert (INIT level de-assert has this clear). */
  assert: boolean;
  /** x2APIC format (an ICR written in x2APIC mode): a 32-bit destination, broadcast 0xFFFFFFFF (else 8 bits, 0xFF). */
  wide?: boolean;
}

/** The destination that means every APIC: 0xFF in xAPIC format, 0xFFFFFFFF in x2APIC format (`wide`). */
export const broadcastDestination = (wide: boolean): number => (wide ? 0xffffffff : 0xff);

/** What the bus needs of a local APIC. */
export interface ApicEndpoint {
  /** APIC ID (bits 7:0). */
  readonly id: number;
  /** Does this APIC accept a logical destination (per its LDR and DFR, or in x2APIC mode its LDR's cluster)? */
  matchesLogical(dest: number, wide: boolean): boolean;
  /** Is the APIC enabled at all (APIC-base MSR bit 11)? A disabled APIC takes no messages. */
  readonly hardwareEnabled: boolean;
  /** Priority for lowest-priority arbitration (the PPR). */
  arbitrationPriority(): number;
  receive(msg: ApicMessage): void;
}

/** EOI of a level-triggered vector: the I/O APIC clears Remote IRR of entries with that vector. */
export type EoiListener = (vector: number) => void;

export class ApicBus {
  readonly apics: ApicEndpoint[] = [];
  private readonly eoiListeners: EoiListener[] = [];

  attach(apic: ApicEndpoint): void { this.apics.push(apic); }
  onEoi(listener: EoiListener): void { this.eoiListeners.push(listener); }
  broadcastEoi(vector: number): void { for (const l of this.eoiListeners) l(vector); }

  /** The APICs a message reaches (before lowest-priority arbitration). */
  targets(logical: boolean, dest: number, wide = false): ApicEndpoint[] {
    const on = this.apics.filter((a) => a.hardwareEnabled);
    if (!logical) return dest === broadcastDestination(wide) ? on : on.filter((a) => a.id === dest);
    return on.filter((a) => a.matchesLogical(dest, wide));
  }

  /** Deliver a message to its destination (lowest priority: the one APIC with the lowest PPR; ties by APIC ID). */
  send(msg: ApicMessage, targets = this.targets(msg.logical, msg.dest, msg.wide)): void {
    if (msg.mode === DeliveryMode.LowestPriority && targets.length > 1) {
      let best = targets[0]!;
      for (const a of targets) if (a.arbitrationPriority() < best.arbitrationPriority()) best = a;
      targets = [best];
    }
    for (const a of targets) a.receive(msg);
  }
}
