/**
 * Network cards for PCs, one kind for every VM of a run:
 *
 * - `ne2k`: an emulated NE2000 PCI (devices/ne2k/): every port access exits
 *   to the VMM — the baseline of seeds 002 and 004;
 * - `ne2k` + `vpio`: the NE2000 under VPIO (src/vpio/): the model's few
 *   ports exit, the rest are direct; with `shared` one card serves every VM;
 * - `virtio`: virtio-net (devices/virtio/net.ts) on the virtio PCI transport.
 *
 * Each card goes into a free PCI slot of its PC (pci-slots.ts does the
 * firmware's BAR and Interrupt Line set-up; INTA# goes through
 * `pciSlots.intx`) and gets a cable ({@link NicLink}) the caller connects to
 * a back end: a {@link VirtualSwitch} port, a socket, or nothing.
 *
 * Addresses: VM i's card has QEMU's 52:54:00:12:34:56 + i and 10.0.2.(15+i)/24,
 * handed to the guest on the kernel command line (`symbiont.ip=`, which the
 * busybox /init applies: boot/initramfs.ts NETWORK_SETUP).
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import type { PciSlots } from "./pci-slots.js";
import type { NetworkCard } from "./pc.js";
import { Ne2kPci } from "../devices/ne2k/ne2k-pci.js";
import { Ne2kVpio, type VpioMember } from "../vpio/ne2k-vpio.js";
import { VirtioNet } from "../devices/virtio/net.js";
import type { VirtioDevice } from "../devices/virtio/device.js";
import { NicLink } from "../net/link.js";
import { defaultMac, formatMac, type Mac } from "../net/ethernet.js";
import { formatIpv4 } from "../net/inet.js";

/** What plugging a card needs of a machine (a Pc has all of it). */
export interface NicHost {
  readonly vm: Vm;
  readonly pciSlots: PciSlots;
  addVirtio<D extends VirtioDevice>(device: D): D;
  /** Snapshots hold the card from now on (virtio-net's are held as a virtio device). */
  addNetworkCard?(card: NetworkCard): void;
}

/** Which card every VM gets. `shared`: one VPIO NE2000 for all of them. */
export interface NicKind {
  model: "ne2k" | "virtio";
  vpio: boolean;
  shared: boolean;
  /** virtio-net's transmit offloads (checksum, TCPv4 segmentation; default true). */
  offloads?: boolean;
}

/** An emulated NE2000 PCI in the next free slot. */
export function plugNe2k(pc: NicHost, link: NicLink, mac: Mac): Ne2kPci {
  const card = new Ne2kPci({ mac, link, clock: pc.vm.clock ?? undefined });
  const slot = pc.pciSlots.freeSlot();
  card.setIntx = (level) => pc.pciSlots.intx(slot, 0, level);
  pc.pciSlots.add(card.pci, slot);
  card.attach(pc.pciSlots.addressSpaces);
  pc.addNetworkCard?.(card);
  return card;
}

/** This VM's function of a VPIO NE2000 in the next free slot (the card itself is the Ne2kVpio's). */
export function plugVpioMember(pc: NicHost, member: VpioMember): void {
  if (member.vm !== pc.vm) throw new Error("plugVpioMember: the member belongs to another VM");
  const slot = pc.pciSlots.freeSlot();
  member.setIntx = (level) => pc.pciSlots.intx(slot, 0, level);
  pc.pciSlots.add(member.pci, slot);
  member.attach(pc.pciSlots.addressSpaces);
  pc.addNetworkCard?.(member);
}

/** Where a run's addresses start: VM i gets the station address and IPv4 address i above these. */
export interface AddressBase {
  mac: Mac;
  /** IPv4 address as a 32-bit number. */
  ipv4: number;
  prefix: number;
}

/** QEMU's first NIC address and its user network's first guest address, 52:54:00:12:34:56 and 10.0.2.15/24. */
export const DEFAULT_ADDRESSES: AddressBase = { mac: defaultMac(0), ipv4: 0x0a00020f, prefix: 24 };

/** VM i's station address and `ADDR/LEN`. */
export function guestAddress(i: number, base: AddressBase = DEFAULT_ADDRESSES): { mac: Mac; ip: string } {
  const a = (base.ipv4 + i) >>> 0;
  return { mac: (base.mac + i) % 2 ** 48, ip: `${formatIpv4(a)}/${base.prefix}` };
}

/** `symbiont.ip=MAC=ADDR/LEN,…` for the kernel command line ("" for no cards). */
export function ipCommandLine(cards: readonly { mac: Mac; ip: string }[]): string {
  return cards.length === 0 ? "" : `symbiont.ip=${cards.map((c) => `${formatMac(c.mac)}=${c.ip}`).join(",")}`;
}

/** The cards of a run and what it takes to run and report them. */
export interface Nics {
  readonly kind: NicKind;
  /** The cables to connect to a back end: one per VM, or one for a shared card. */
  readonly links: readonly NicLink[];
  readonly emulated: readonly Ne2kPci[];
  /** VPIO cards: one per VM, or the one shared. */
  readonly vpio: readonly Ne2kVpio[];
  readonly virtio: readonly VirtioNet[];
  /** Call between the VMs' turns (a shared card changes hands there): VmGroup's pollers. */
  readonly pollers: readonly (() => void)[];
  /** Lines for --stats: traffic per cable, VPIO model state. */
  describe(): string[];
}

/**
 * Give every PC a card of `kind`, VM i's at {@link guestAddress}(i, addresses).
 * The links are named `vm<i>`, or `card <name>` for a shared card (after
 * `linkPrefix`); none is connected yet.
 */
export function plugNics(pcs: readonly NicHost[], kind: NicKind, opts: { addresses?: AddressBase; sharedName?: string; linkPrefix?: string } = {}): Nics {
  if (kind.shared && !(kind.model === "ne2k" && kind.vpio)) throw new Error("only a VPIO NE2000 can be shared (ne2k,vpio,shared=NAME)");
  if (kind.vpio && kind.model !== "ne2k") throw new Error("VPIO models the NE2000 only");
  const macs = pcs.map((_, i) => guestAddress(i, opts.addresses).mac);
  const prefix = opts.linkPrefix ?? "";
  const links = kind.shared ? [new NicLink(`${prefix}card ${opts.sharedName ?? "shared"}`)] : pcs.map((_, i) => new NicLink(`${prefix}vm${i}`));
  const emulated: Ne2kPci[] = [], vpio: Ne2kVpio[] = [], virtio: VirtioNet[] = [], pollers: (() => void)[] = [];
  if (kind.shared) {
    const card = new Ne2kVpio({ link: links[0]!, members: pcs.map((pc, i) => ({ vm: pc.vm, mac: macs[i]! })) });
    card.members.forEach((m, i) => plugVpioMember(pcs[i]!, m));
    vpio.push(card);
    pollers.push(() => card.poll());
  } else {
    pcs.forEach((pc, i) => {
      const link = links[i]!, mac = macs[i]!;
      if (kind.model === "virtio") virtio.push(pc.addVirtio(new VirtioNet(mac, link, { offloads: kind.offloads ?? true })));
      else if (kind.vpio) {
        const card = new Ne2kVpio({ link, members: [{ vm: pc.vm, mac }] });
        plugVpioMember(pc, card.members[0]!);
        vpio.push(card);
      } else emulated.push(plugNe2k(pc, link, mac));
    });
  }
  return {
    kind, links, emulated, vpio, virtio, pollers,
    describe() {
      const lines = links.map((l) => {
        const s = l.stats;
        return `net ${l.name}: tx ${s.txFrames} frames ${s.txBytes} bytes, rx ${s.rxFrames} frames ${s.rxBytes} bytes, dropped ${s.rxDropped}`;
      });
      for (const v of virtio) if (v.stats.rxTruncated > 0) lines.push(`virtio-net ${formatMac(v.mac)}: ${v.stats.rxTruncated} frames cut to the guest's receive buffers`);
      for (const v of virtio) {
        const s = v.stats;
        if (s.txSegmented + s.txChecksummed + s.txDropped + s.rxLarge > 0) {
          lines.push(`virtio-net ${formatMac(v.mac)}: offloads: ${s.txSegmented} TSO packets sent, ${s.txChecksummed} checksums completed, ${s.txDropped} packets dropped (a GSO type not offered); ${s.rxLarge} large packets received whole in ${s.rxLargeBuffers} buffers`);
        }
      }
      for (const card of vpio) {
        lines.push(...card.describe().map((l) => `vpio ${l}`));
        if (card.members.length > 1) lines.push(`vpio card: switches ${card.stats.switches} refused ${card.stats.refused} local frames ${card.stats.localFrames}`);
      }
      return lines;
    },
  };
}
