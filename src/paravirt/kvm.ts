/**
 * The KVM paravirtual interface stock Linux uses (CONFIG_KVM_GUEST, Debian's
 * kernels have it): the hypervisor CPUID leaves and kvmclock, after the
 * kernel's Documentation/virt/kvm/x86/cpuid.rst and msr.rst.
 *
 * - CPUID 0x40000000: EAX = highest hypervisor leaf (0x40000001),
 *   EBX/ECX/EDX = "KVMKVMKVM\0\0\0".
 * - CPUID 0x40000001: EAX = features: KVM_FEATURE_NOP_IO_DELAY (bit 1: no
 *   port 0x80 delays, which would each be an exit), KVM_FEATURE_CLOCKSOURCE2
 *   (bit 3: kvmclock at the MSRs below), KVM_FEATURE_CLOCKSOURCE_STABLE_BIT
 *   (bit 24); EDX = hints (none).
 * - MSR_KVM_WALL_CLOCK_NEW 0x4b564d00: the guest writes a GPA; the host
 *   writes `struct pvclock_wall_clock { u32 version; u32 sec; u32 nsec; }`
 *   there: the wall-clock time at which system time was 0.
 * - MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01: GPA | 1 (enable); the host keeps
 *   `struct pvclock_vcpu_time_info { u32 version; u32 pad0; u64
 *   tsc_timestamp; u64 system_time; u32 tsc_to_system_mul; s8 tsc_shift;
 *   u8 flags; u8 pad[2]; }` there (32 bytes, must not cross a page). The
 *   guest computes ns = system_time + (((tsc − tsc_timestamp) << shift or
 *   >> −shift) × mul) >> 32, and its TSC frequency as
 *   (10^6 << 32) / mul, shifted back (pvclock_tsc_khz): that is what makes
 *   /proc/cpuinfo's "cpu MHz" right and `kvm-clock` the clocksource.
 *   Versions are even when the structure is consistent (the host writes it
 *   whole within one exit, so it only ever increments by 2).
 *
 * System time is the guest TSC converted at the clock's TSC frequency
 * (VirtualClock.tscFrequencyHz): the core's TSC runs at exactly that rate
 * of virtual time (one tick per instruction in deterministic mode, caught
 * up to host time otherwise), so one (tsc_timestamp, system_time) pair
 * stays right and deterministic boots stay deterministic.
 *
 * The symbiotic interface (CPUID 0x90000000, Palacios' MSRs) is separate.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import type { VirtualClock } from "../vmm/clock.js";

export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;
export const KVM_FEATURE_NOP_IO_DELAY = 1;
export const KVM_FEATURE_CLOCKSOURCE2 = 3;
export const KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 24;
export const MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00;
export const MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;
/** pvclock flags. */
export const PVCLOCK_TSC_STABLE_BIT = 1;

/** "KVMKVMKVM\0\0\0" as EBX, ECX, EDX. */
const SIGNATURE = [0x4b4d564b, 0x564b4d56, 0x0000004d] as const;

/**
 * tsc_to_system_mul and tsc_shift for a TSC of `hz`: ns per tick =
 * mul · 2^shift / 2^32, with mul in [2^31, 2^32) for the most precision.
 */
export function pvclockScale(hz: number): { mul: number; shift: number } {
  // ns per tick as a fraction 1e9 / hz; find shift so that 1e9 · 2^(32 − shift) / hz lands in [2^31, 2^32).
  let shift = 0;
  const num = 1_000_000_000n, den = BigInt(Math.round(hz));
  const mulFor = (s: number) => (s <= 32 ? (num << BigInt(32 - s)) / den : num / (den << BigInt(s - 32)));
  while (mulFor(shift) >= 1n << 32n) shift++;
  while (mulFor(shift) < 1n << 31n && shift > -31) shift--;
  return { mul: Number(mulFor(shift)), shift };
}

/** The guest's TSC frequency in kHz as Linux's pvclock_tsc_khz() derives it from mul and shift. */
export function pvclockTscKhz(mul: number, shift: number): number {
  let khz = (1_000_000n << 32n) / BigInt(mul);
  khz = shift < 0 ? khz << BigInt(-shift) : khz >> BigInt(shift);
  return Number(khz);
}

export interface KvmParavirtOptions {
  clock: VirtualClock;
  /** Where the two leaves are: 0x40000000, or 0x40000100 when Hyper-V's take that place (as KVM moves them). */
  cpuidBase?: number;
  /** Wall-clock time (Unix seconds) at which the guest's TSC was 0: the RTC's power-on time. */
  bootEpochSeconds: number;
}

/** Installs the KVM CPUID leaves and kvmclock MSRs on a VM. */
export class KvmParavirt {
  private systemTimeMsr = 0n;
  private wallClockMsr = 0n;
  private version = 0;
  private readonly scale: { mul: number; shift: number };

  constructor(private readonly vm: Vm, private readonly opts: KvmParavirtOptions) {
    this.scale = pvclockScale(opts.clock.tscFrequencyHz);
    const base = opts.cpuidBase ?? KVM_CPUID_SIGNATURE;
    vm.onCpuid((leaf) => {
      if (leaf === base) return [base + 1, ...SIGNATURE];
      if (leaf === base + 1) {
        return [(1 << KVM_FEATURE_NOP_IO_DELAY) | (1 << KVM_FEATURE_CLOCKSOURCE2) | (1 << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT), 0, 0, 0];
      }
      return undefined;
    });
    vm.onMsr(MSR_KVM_SYSTEM_TIME_NEW, {
      read: () => this.systemTimeMsr,
      write: (_i, v) => this.writeSystemTime(v),
    });
    vm.onMsr(MSR_KVM_WALL_CLOCK_NEW, {
      read: () => this.wallClockMsr,
      write: (_i, v) => this.writeWallClock(v),
    });
  }

  /** The guest TSC frequency kvmclock tells the guest, in kHz. */
  get tscKhz(): number {
    return pvclockTscKhz(this.scale.mul, this.scale.shift);
  }

  private guestTsc(): bigint {
    return BigInt(this.vm.core.getTscOffset() + this.vm.core.getRetired());
  }

  private writeSystemTime(v: bigint): boolean {
    this.systemTimeMsr = v;
    if ((v & 1n) === 0n) return true; // disabled
    const gpa = Number(v & ~1n);
    if (gpa > 0xffffffff || (gpa & 0xfff) > 0x1000 - 32 || !this.vm.memory.isRam(gpa, 32)) return true; // KVM ignores such areas too
    const tsc = this.guestTsc();
    const ns = (tsc * 1_000_000_000n) / BigInt(Math.round(this.opts.clock.tscFrequencyHz));
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    this.version += 2;
    dv.setUint32(0, this.version, true);
    dv.setBigUint64(8, tsc, true);
    dv.setBigUint64(16, ns, true);
    dv.setUint32(24, this.scale.mul, true);
    dv.setInt8(28, this.scale.shift);
    dv.setUint8(29, PVCLOCK_TSC_STABLE_BIT);
    this.vm.memory.write(gpa, b);
    return true;
  }

  private writeWallClock(v: bigint): boolean {
    this.wallClockMsr = v;
    const gpa = Number(v);
    if (gpa > 0xffffffff || !this.vm.memory.isRam(gpa, 12)) return true;
    const b = new Uint8Array(12);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 2, true);
    dv.setUint32(4, Math.floor(this.opts.bootEpochSeconds) >>> 0, true);
    dv.setUint32(8, 0, true);
    this.vm.memory.write(gpa, b);
    return true;
  }
}
