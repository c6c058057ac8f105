/**
 * Messages between the page (main.ts) and the VM worker (worker.ts).
 *
 * @module
 */
import type { EngineKind } from "../../src/engine/engine.js";
import type { VmStats } from "../../src/vmm/vm.js";
import type { PagingModeName } from "../../src/vmm/paging/index.js";
import type { GlobalExtension, LocalExtension } from "../../src/symbiotic/symspy.js";
import type { VgaScreen } from "../../src/devices/vga/vga.js";

/** What a symbiotic guest publishes by SymSpy, read by the worker without an exit. */
export interface SymbioticView { task: LocalExtension | null; memory: GlobalExtension | null }

/** What to boot. */
export type GuestSpec =
  /** A guest that comes with the page: the demo kernel or the interactive echo kernel. */
  | { kind: "builtin"; id: "demo" | "echo" }
  /** Files from the picker or a drop: a bzImage (+ initrd), or a Multiboot kernel (+ modules), or a flat binary. */
  | { kind: "files"; files: { name: string; bytes: Uint8Array }[] }
  /**
   * Debian's i386 kernel and busybox as the dev server serves them; the initramfs is built in the worker.
   * With `symbioticRelease` (the server has symbiotic.ko for that kernel) /init loads the module.
   */
  | { kind: "debian"; baseUrl: string; symbioticRelease?: string }
  /**
   * The disk, booted as a PC boots it: the BIOS at `url` (the dev server's SeaBIOS) from its reset vector; with the
   * VGA, the VGA BIOS at `vgaBiosUrl` (SeaBIOS's vgabios-isavga), which SeaBIOS runs to draw on the screen.
   */
  | { kind: "firmware"; url: string; vgaBiosUrl?: string };

/**
 * The guest's disk, attached as virtio-blk (/dev/vda in Linux). Its writes stay in the worker's
 * memory (a page cannot write the user's file): "Save disk" downloads the current contents.
 */
export type DiskSpec =
  | { kind: "blank"; mib: number }
  /** A raw image from the file picker; the worker gets its own copy. */
  | { kind: "image"; name: string; bytes: Uint8Array };

/** GET /symbiont-images/modules.json?drivers=… (images-middleware.ts): the cached kernel's modules, dependencies first. */
export interface ModulesJson {
  /** Kernel release (uname -r): the modules go to /lib/modules/RELEASE/. */
  release: string;
  modulesDep: string;
  files: { path: string; base64: string }[];
}

export interface BootConfig {
  engine: EngineKind;
  ramMiB: number;
  /** How guest memory is virtualized (src/vmm/paging/). */
  paging: PagingModeName;
  guest: GuestSpec;
  /** Kernel command line (Linux) or Multiboot command line. */
  cmdline: string;
  /** A new disk for this start (null: none); a reset keeps the one the last start made. */
  disk: DiskSpec | null;
  /** A VGA (src/devices/vga/): the page draws its text screen and sends the keys typed on it to the PS/2 keyboard. */
  vga: boolean;
  /**
   * A virtio-net card on the user network (QEMU's -netdev user: DHCP, DNS, NAT; 10.0.2.2 is the host), whose sockets
   * are the network relay's at this WebSocket address (src/node/net-relay.ts: the dev server's, or `symbiont relay`
   * for a static build); Linux configures itself by DHCP. null: no card.
   */
  net: string | null;
}

export type ToWorker =
  | { type: "start"; config: BootConfig }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "reset" }
  /** Send the disk's current contents back ("disk-contents"). */
  | { type: "save-disk" }
  /** Snapshot the whole machine ("state-contents" with its bytes, to download). */
  | { type: "save-state" }
  /** Take a snapshot back into the running machine (one started with the options the saved one had). */
  | { type: "load-state"; name: string; bytes: Uint8Array }
  | { type: "input"; bytes: Uint8Array }
  /** PS/2 scan codes (set 2) of keys pressed and released on the screen. */
  | { type: "keys"; bytes: number[] }
  /** A line for the VMM monitor (src/vmm/monitor.ts, the CLI's): run between two slices, answered by "monitor-output". */
  | { type: "monitor"; command: string };

export type RunState = "loading" | "running" | "paused" | "stopped" | "error";

export type FromWorker =
  /** Bytes the guest wrote to COM1 since the last message. */
  | { type: "serial"; bytes: Uint8Array }
  /** Cumulative VM statistics at host time `t` (ms, the worker's performance.now()); `boot` counts machine starts. */
  | { type: "stats"; boot: number; t: number; stats: VmStats; slice: number; symbiotic: SymbioticView | null }
  /** `boot` changes on every start and reset: the page clears its charts. */
  | { type: "state"; boot: number; state: RunState; detail: string }
  /** The VGA's screen, when it changed (at most about twenty times a second). */
  | { type: "screen"; boot: number; screen: VgaScreen }
  /** A line for the page's log (what was loaded, why the guest stopped). */
  | { type: "log"; text: string }
  /** The disk a start attached (null: none); it outlives the machine, so it can be saved after the guest stopped. */
  | { type: "disk"; disk: { name: string; size: number } | null }
  /** The disk's bytes when "save-disk" was handled (between two slices: no request is half done), to download as `fileName`. */
  | { type: "disk-contents"; fileName: string; bytes: Uint8Array<ArrayBuffer> }
  /** The machine's snapshot (Pc.saveSnapshot, between two slices), to download as `fileName`. */
  | { type: "state-contents"; fileName: string; bytes: Uint8Array<ArrayBuffer> }
  /** What a monitor command answered. */
  | { type: "monitor-output"; command: string; text: string }
  /** A file a monitor command wrote (screendump, dump-guest-memory, memsave, savevm), to download as `fileName`. */
  | { type: "file-contents"; fileName: string; bytes: Uint8Array<ArrayBuffer> };
