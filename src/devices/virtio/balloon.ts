/**
 * virtio-balloon, the traditional memory balloon (Virtual I/O Device (VIRTIO) Version 1.2, §5.5; seed 001's
 * "ballooning"): the VMM sets a target (`num_pages`), the guest's driver allocates that many pages and hands their
 * frame numbers over the inflate queue, and the VMM withdraws them — each page leaves the guest-physical map (an
 * access becomes an EPT violation) and its frame is zeroed. Pages come back over the deflate queue or, if the guest
 * touches one first (no VIRTIO_BALLOON_F_MUST_TELL_HOST: Linux frees before it tells), when it faults, as a page a
 * host dropped with MADV_DONTNEED faults back in under KVM: zeroed (the machine's EPT-violation hook calls
 * {@link VirtioBalloon.faultBack}). A device reset gives every page back.
 *
 * The statistics queue (VIRTIO_BALLOON_F_STATS_VQ) carries the guest's memory figures: the driver offers a buffer of
 * them, the device keeps it until the VMM wants fresh ones ({@link VirtioBalloon.requestStats}) and then returns it,
 * and the driver refills it.
 *
 * Features as QEMU's virtio-balloon-pci offers them by default: STATS_VQ, not DEFLATE_ON_OOM — so Linux takes the
 * pages out of its MemTotal (drivers/virtio/virtio_balloon.c adjusts managed pages without DEFLATE_ON_OOM).
 *
 * A WebAssembly (or JavaScript) engine's memory cannot give pages back to the host: a withdrawn frame stays the
 * guest page's, zeroed, for when it comes back. What the balloon does is take memory away from the guest — memory
 * pressure the VMM controls at run time (a thrashing SwapBypass guest without a reboot) — and the zeroed pages cost
 * a snapshot nothing.
 *
 * @module
 */
import { QueueDevice, type VirtioDevice, VIRTIO_ID_BALLOON, bit, readConfigBytes } from "./device.js";
import type { DescriptorChain } from "./virtqueue.js";
import type { AccessSize } from "../../vmm/bus.js";
import type { GuestMemory, Perms } from "../../vmm/memory.js";
import type { State } from "../../vmm/snapshot.js";

const F_STATS_VQ = 1;
const INFLATE = 0, DEFLATE = 1, STATS = 2;
const PAGE = 4096;
/** Statistics tags (§5.5.6.3: VIRTIO_BALLOON_S_SWAP_IN …) by number, named as `info balloon` prints them. */
export const BALLOON_STAT_NAMES = [
  "swap-in", "swap-out", "major-faults", "minor-faults", "free-memory", "total-memory", "available-memory",
  "disk-caches", "hugetlb-allocations", "hugetlb-failures",
] as const;

/** What the balloon has done, for `info balloon`, `--stats` and tests. */
export interface BalloonStats {
  /** The VMM's target (num_pages) and the driver's count (actual), in 4 KiB pages. */
  targetPages: number;
  actualPages: number;
  /** Guest pages out of the map now. */
  withdrawnPages: number;
  /** Pages taken over the inflate queue, given back over the deflate queue, and given back because the guest touched them. */
  inflated: number;
  deflated: number;
  faultedBack: number;
  /** The guest's last report (bytes for the memory figures, pages for swap, counts for faults), or null before one. */
  guest: Record<string, number> | null;
}

/** A withdrawn page: the map entry it had. */
interface Withdrawn { frame: number; perms: Perms; writesExit: boolean }

export class VirtioBalloon extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-balloon";
  readonly deviceId = VIRTIO_ID_BALLOON;
  readonly pciClass = 0x00ff00; // unclassified, as QEMU's virtio-balloon-pci
  readonly features = bit(F_STATS_VQ);
  readonly queueSizes = [128, 128, 2];
  readonly configSize = 8; // num_pages, actual (free_page_hint_cmd_id and poison_val only come with their features)
  private targetPages = 0;
  private actualPages = 0;
  private readonly withdrawn = new Map<number, Withdrawn>();
  /** The guest's statistics buffer, kept until the VMM asks for fresh figures. */
  private statsBuffer: DescriptorChain | null = null;
  private guest: Record<string, number> | null = null;
  private inflated = 0;
  private deflated = 0;
  private faultedBack = 0;

  constructor(private readonly memory: GuestMemory) {
    super();
  }

  /** Ask the guest to give up `pages` 4 KiB pages in all (0: take none); a configuration interrupt tells its driver. */
  setTarget(pages: number): void {
    const max = Math.floor(this.memory.ramBytes / PAGE);
    if (!Number.isInteger(pages) || pages < 0 || pages > max) throw new RangeError(`a balloon of ${pages} pages: it holds 0 to ${max} (the guest's RAM)`);
    this.targetPages = pages;
    this.ctx?.configChanged();
  }

  /** Ask the driver for fresh statistics: the buffer it left goes back, and it refills it (false: it has left none). */
  requestStats(): boolean {
    const q = this.queues[STATS], ctx = this.ctx, chain = this.statsBuffer;
    if (!q || !ctx || !chain) return false;
    this.statsBuffer = null;
    q.push(chain, 0);
    ctx.used(q);
    return true;
  }

  /**
   * The guest touched a page the balloon holds (the machine's EPT-violation hook): it comes back, zeroed. False
   * for any other page.
   */
  faultBack(gpa: number): boolean {
    const page = gpa - (gpa % PAGE);
    if (!this.withdrawn.has(page)) return false;
    this.giveBack(page);
    this.faultedBack++;
    return true;
  }

  stats(): BalloonStats {
    return {
      targetPages: this.targetPages, actualPages: this.actualPages, withdrawnPages: this.withdrawn.size,
      inflated: this.inflated, deflated: this.deflated, faultedBack: this.faultedBack, guest: this.guest && { ...this.guest },
    };
  }

  readConfig(offset: number, size: AccessSize): number {
    const cfg = new Uint8Array(8), dv = new DataView(cfg.buffer);
    dv.setUint32(0, this.targetPages, true);
    dv.setUint32(4, this.actualPages, true);
    return readConfigBytes(cfg, offset, size);
  }

  /** The driver writes `actual` (the device owns num_pages: a write there changes nothing). */
  writeConfig(offset: number, size: AccessSize, value: number): void {
    if (offset < 4 || offset + size > 8) return;
    const cfg = new Uint8Array(4), dv = new DataView(cfg.buffer);
    dv.setUint32(0, this.actualPages, true);
    for (let i = 0; i < size; i++) cfg[offset - 4 + i] = (value >>> (8 * i)) & 0xff;
    this.actualPages = dv.getUint32(0, true);
  }

  notify(index: number): void {
    if (index === INFLATE || index === DEFLATE) {
      this.drain(index, (q, chain) => {
        const pfns = q.read(chain);
        for (let o = 0; o + 4 <= pfns.length; o += 4) {
          const gpa = (pfns[o]! | pfns[o + 1]! << 8 | pfns[o + 2]! << 16 | pfns[o + 3]! << 24) >>> 0;
          if (index === INFLATE) this.withdraw(gpa * PAGE);
          else if (this.withdrawn.has(gpa * PAGE)) { this.giveBack(gpa * PAGE); this.deflated++; }
        }
        return 0;
      });
    } else if (index === STATS) {
      this.takeStats();
    }
  }

  /**
   * Linux's driver offers its first statistics buffer and kicks before it sets DRIVER_OK (virtballoon_probe: init_vqs,
   * then virtio_device_ready), a notification the transport does not pass on: take the buffer now.
   */
  protected override activated(): void { this.takeStats(); }

  /** The driver's statistics buffer: read, and kept (not returned) until the VMM asks for fresh figures. */
  private takeStats(): void {
    const q = this.queues[STATS], ctx = this.ctx;
    if (!q || !ctx) return;
    try {
      for (let chain: DescriptorChain | null; this.statsBuffer === null && (chain = q.pop()) !== null;) {
        this.guest = parseStats(q.read(chain));
        this.statsBuffer = chain;
      }
    } catch (e) {
      ctx.fail(e);
    }
  }

  /** Device reset: every page comes back (the driver that held them is gone), the target stays. */
  override reset(): void {
    super.reset();
    for (const page of [...this.withdrawn.keys()]) this.giveBack(page);
    this.actualPages = 0;
    this.statsBuffer = null;
  }

  /** The balloon's figures and pages; the transport saves the queues. */
  save(): State {
    return {
      targetPages: this.targetPages, actualPages: this.actualPages, inflated: this.inflated, deflated: this.deflated,
      faultedBack: this.faultedBack, guest: this.guest, statsBuffer: this.statsBuffer ? { ...this.statsBuffer } as unknown as State : null,
      withdrawn: [...this.withdrawn].map(([page, w]) => [page, w.frame, w.perms.read ?? false, w.perms.write ?? false, w.perms.exec ?? false, w.writesExit]),
    };
  }

  /** Take back save()'s state: the pages it held leave the map again (their frames are zero in the snapshot's RAM). */
  restore(state: State): void {
    for (const page of [...this.withdrawn.keys()]) this.giveBack(page);
    this.targetPages = state.targetPages as number;
    this.actualPages = state.actualPages as number;
    this.inflated = state.inflated as number;
    this.deflated = state.deflated as number;
    this.faultedBack = state.faultedBack as number;
    this.guest = state.guest as Record<string, number> | null;
    this.statsBuffer = state.statsBuffer as unknown as DescriptorChain | null;
    for (const [page, frame, read, write, exec, writesExit] of state.withdrawn as [number, number, boolean, boolean, boolean, boolean][]) {
      this.withdrawn.set(page, { frame, perms: { read, write, exec }, writesExit });
      this.memory.unmap(page);
    }
  }

  /** Take a page from the guest: out of the map, its frame zeroed. Pages not in RAM or not plainly mapped stay. */
  private withdraw(page: number): void {
    if (page >= this.memory.ramBytes || this.withdrawn.has(page)) return;
    const e = this.memory.lookup(page);
    if (e.kind !== "mapped") return;
    this.memory.zeroHost(e.frame, PAGE);
    this.memory.unmap(page);
    this.withdrawn.set(page, { frame: e.frame, perms: { read: e.read, write: e.write, exec: e.exec }, writesExit: e.writesExit });
    this.inflated++;
  }

  private giveBack(page: number): void {
    const w = this.withdrawn.get(page)!;
    this.withdrawn.delete(page);
    this.memory.map(page, w.frame, w.perms, 1, w.writesExit);
  }
}

/** The driver's statistics: 10-byte entries, a le16 tag and a le64 value (§5.5.6.3); unknown tags are skipped. */
function parseStats(bytes: Uint8Array): Record<string, number> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out: Record<string, number> = {};
  for (let o = 0; o + 10 <= bytes.length; o += 10) {
    const name = BALLOON_STAT_NAMES[dv.getUint16(o, true)];
    if (name) out[name] = Number(dv.getBigUint64(o + 2, true));
  }
  return out;
}

/**
 * One line for `info balloon` and `--stats`: the guest's memory as QEMU's `info balloon` gives it (actual=MiB: RAM
 * less what the driver says the balloon holds), the target, the pages withdrawn and moved, and the guest's last
 * statistics (memory figures in MiB).
 */
export function formatBalloon(s: BalloonStats, ramBytes: number): string {
  const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;
  const guest = s.guest
    ? Object.entries(s.guest).map(([k, v]) => `${k} ${k.endsWith("memory") || k === "disk-caches" ? mib(v) : v}`).join(", ")
    : "no statistics from the guest yet";
  return `actual=${mib(ramBytes - s.actualPages * PAGE)} (target ${mib(ramBytes - s.targetPages * PAGE)}); ${s.withdrawnPages} pages withdrawn `
    + `(inflated ${s.inflated}, deflated ${s.deflated}, faulted back ${s.faultedBack}); the guest's last report: ${guest}`;
}
