/**
 * The symbiotic ABI, declared once for the VMM: Palacios' discovery leaf,
 * SymSpy and SymCall MSRs, hypercalls, call numbers and page layouts
 * (palacios/src/palacios/vmm_symspy.c, vmm_symcall.c, vmm_symbiotic.c), and
 * Symbiont's versioned extension of the SymSpy pages and its own calls.
 * docs/symbiotic.md is the guest author's description of the same; the guest
 * side has its copies in guests/linux/symbiotic/symbiotic_abi.h and
 * tests/kernels/symbiotic.inc, and tests/unit/symbiotic-abi.test.ts checks
 * that they agree with this file.
 *
 * @module
 */

// ---- discovery ---------------------------------------------------------------------

/** CPUID leaf a symbiotic guest asks (SYM_CPUID_NUM). */
export const SYM_CPUID_LEAF = 0x90000000;
/** EAX of that leaf: "V3V" as a little-endian u32. */
export const SYM_CPUID_EAX = 0x00563356;
/** EBX: "VMX" (Palacios on Intel; "SVM" on AMD). */
export const SYM_CPUID_EBX = 0x00584d56;

// ---- MSRs and hypercalls ---------------------------------------------------------------

export const Msr = {
  /** GPA of the VM-wide SymSpy page. */
  SYMSPY_GLOBAL: 0x534,
  /** GPA of this vCPU's SymSpy page. */
  SYMSPY_LOCAL: 0x535,
  /** SymCall entry point (per vCPU, as the four below). */
  SYMCALL_RIP: 0x536,
  /** SymCall stack pointer. */
  SYMCALL_RSP: 0x537,
  /** SymCall code selector; SS = CS + 8. */
  SYMCALL_CS: 0x538,
  SYMCALL_GS: 0x539,
  SYMCALL_FS: 0x540,
} as const;

/** VMCALL numbers (EAX) that end a SymCall. */
export const Hypercall = {
  /** Return: results in EBX, ECX, EDX, ESI, EDI. */
  SYMCALL_RETURN: 0x535,
  /** Error: the code in EBX. */
  SYMCALL_ERROR: 0x536,
} as const;

/**
 * VMCALL numbers (EAX) the Linux module makes on its own, outside a call: Symbiont's, made only when
 * the VMM wrote its magic into the SymSpy extension (docs/symbiotic.md). The VMM answers EAX = 0.
 */
export const Notify = {
  /** Linear [EBX, ECX) of the current address space changed protection (mprotect's change_protection). */
  PROTECTION_CHANGED: 0x537,
} as const;

/** Call numbers (EAX at entry). 1 and 10 are Palacios'; 0x100… are Symbiont's (docs/symbiotic.md). */
export const SymcallNr = {
  /** Answers the five arguments bit-inverted (~EBX … ~EDI). */
  TEST: 1,
  /** query_vaddr: EBX vaddr, ECX PTE, ESI pid (0: the interrupted task) → EBX vaddr or 0, ECX PTE, EDX permissions, ESI/EDI the VMA. */
  MEM_LOOKUP: 10,
  /** The interrupted task: EBX tgid, ECX tid, EDX GPA of its TaskRecord, ESI CPU. */
  CURRENT: 0x100,
  /** Process list, paged: EBX cursor (0 first) → EBX count, ECX GPA of TaskRecords, EDX next cursor (0: done), ESI record size. */
  PS: 0x101,
  /** Memory in KiB: EBX total, ECX free, EDX available, ESI swap total, EDI swap free. */
  MEMINFO: 0x102,
  /** A swap slot's use count: EBX type, ECX slot → EBX GPA of its swap_map byte, ECX slots in the area, EDX the byte now. */
  SWAP_MAP: 0x103,
} as const;

/** A swap_map byte (include/linux/swap.h): the slot's use count, and this bit while a swap-cache page stands for it. */
export const SWAP_HAS_CACHE = 0x40;

/** MEM_LOOKUP permission bits (EDX out). Bits 1 and 2 are where Palacios' pf_error_t has write and user. */
export const LookupPerm = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  USER: 1 << 2,
  EXEC: 1 << 4,
  /** The PTE is present. */
  PRESENT: 1 << 5,
  /** The PTE is a swap entry whose page is in the swap cache. */
  SWAP_CACHED: 1 << 6,
} as const;

/** A TaskRecord (PS and CURRENT), 48 bytes, little-endian. */
export const TaskRecord = {
  SIZE: 48,
  PID: 0, PPID: 4, UID: 8,
  /** One character, as /proc/PID/stat's state (R S D T Z I …). */
  STATE: 12,
  THREADS: 16, VSZ_KIB: 20, RSS_KIB: 24,
  /** Bit 0: kernel thread. */
  FLAGS: 28,
  COMM: 32, COMM_LEN: 16,
} as const;

// ---- SymSpy pages -------------------------------------------------------------------------

export const PAGE_SIZE = 4096;

/** Palacios' global page: u64 magic "V3V"; u32 feature flags; u8 pci_pt_map[128]. */
export const GlobalPage = {
  MAGIC: 0, FEATURES: 8, PCI_MAP: 12, PCI_MAP_LEN: 128,
  /** Feature bits. */
  PCI_MAP_VALID: 1 << 0, SYMMOD_ENABLED: 1 << 1, SEC_SYMMOD_ENABLED: 1 << 2,
} as const;

/** Palacios' local page: u64 magic "V3V.<vcpu>"; u32 symcall flags. */
export const LocalPage = {
  MAGIC: 0, FLAGS: 8,
  /** The VMM sets it while a call runs on this vCPU. */
  SYM_CALL_ACTIVE: 1 << 0,
  /** The guest sets it once its SymCall entry is ready. */
  SYM_CALL_ENABLED: 1 << 1,
} as const;

/**
 * Symbiont's extension, at the same offset in both pages. The VMM writes the
 * header's first two words when it maps a page; the guest writes the rest,
 * inside a sequence count (odd while it updates), so the VMM can read a
 * consistent snapshot at any exit without asking.
 */
export const Ext = {
  OFFSET: 0x100,
  /** u32 "SYMB", written by the VMM. */
  VMM_MAGIC: 0x100,
  /** u32: the newest extension layout the VMM reads. */
  VMM_VERSION: 0x104,
  /** u32: the layout the guest fills (0: none). */
  GUEST_VERSION: 0x108,
  /** u32: even when stable; the guest makes it odd before an update and even after. */
  SEQ: 0x10c,
  MAGIC_VALUE: 0x424d5953, // "SYMB"
  VERSION: 1,
} as const;

/** Global page extension, version 1 (memory figures, KiB). */
export const GlobalExt = {
  MEM_TOTAL: 0x110, MEM_FREE: 0x114, MEM_AVAILABLE: 0x118, SWAP_TOTAL: 0x11c, SWAP_FREE: 0x120,
  /** Updates the guest has made (it refreshes on a timer). */
  UPDATES: 0x124,
  /** Processes in the guest at the last update. */
  TASKS: 0x128,
} as const;

/** Local page extension, version 1 (the task running on this vCPU). */
export const LocalExt = {
  /** Thread-group id: what ps calls the PID. */
  PID: 0x110,
  /** The thread's own id. */
  TID: 0x114,
  /** Context switches seen on this vCPU. */
  SWITCHES: 0x118,
  /** Bit 0: kernel thread; bit 1: the idle task. */
  FLAGS: 0x11c,
  COMM: 0x120, COMM_LEN: 16,
} as const;

/** Guest error codes (EBX of Hypercall.SYMCALL_ERROR) that the Linux module uses: negative errno values. */
export const GUEST_ERRNO: Record<number, string> = {
  [-1]: "EPERM", [-3]: "ESRCH", [-14]: "EFAULT", [-16]: "EBUSY", [-22]: "EINVAL", [-38]: "ENOSYS", [-11]: "EAGAIN",
};
