// Fixed layout of the core's linear memory. The same offsets hold in both
// engines, so the VMM reads the exit block and the register file through a
// DataView without calling into the core. The AssemblyScript compiler's own
// static data starts at MEMORY_BASE (asconfig.json: memoryBase), above all of
// this, and guest RAM starts at RAM_BASE.

export const REGS: i32 = 0x1000;          // 8 × i32: EAX ECX EDX EBX ESP EBP ESI EDI, then an i32 that stays 0:
                                          // register 8 is "no register" in address forms (cpu/decode.ts, fastforms.ts)
export const SEG_SEL: i32 = 0x1040;       // 8 × i32: ES CS SS DS FS GS LDTR TR
export const SEG_BASE: i32 = 0x1060;
export const SEG_LIMIT: i32 = 0x1080;     // byte-granular limit (after G scaling)
export const SEG_ATTR: i32 = 0x10a0;      // VMX access-rights format, see segments.ts
export const SEG_LO: i32 = 0x10c0;        // lowest valid offset (expand-down segments)
export const SEG_HI: i32 = 0x10e0;        // highest valid offset
export const DR: i32 = 0x1100;            // 8 × i32: DR0..DR7
export const EXIT: i32 = 0x1200;          // the exit block, see exit.ts
export const EXIT_SIZE: i32 = 0x100;
export const FPU: i32 = 0x1300;           // x87: 8 × f64 registers (physical order) + scratch slots, 0xA0 bytes, then the
                                          // registers' exact 80-bit images (MMX registers), 0x60 bytes (cpu/fpu/state.ts)
export const MMIO_READS: i32 = 0x1400;    // MMIO reads answered for the current instruction, those carried into its re-execution, queued MMIO writes (memory.ts; 0x240 bytes)
export const CR3_TARGETS: i32 = 0x1700;   // CR3-target list (controls.ts): 64 × (guest CR3, shadow root), 0x200 bytes
export const CR3_TARGET_MAX: i32 = 64;
export const TRACE_LOG: i32 = 0x1900;     // shadow paging's trace log (mmu/walk.ts): 64 host addresses of 16-byte lines written, 0x100 bytes
export const TRACE_LOG_MAX: i32 = 64;
export const XMM: i32 = 0x1a00;           // SSE: XMM0-XMM7 (16 bytes each), then operand, result and FXRSTOR scratch, 0x120 bytes (cpu/sse/state.ts)
export const FPU_DEBUG: i32 = 0x1c80;     // the x87 state as a debugger reads it, 0x80 bytes (cpu/fpu/env.ts fpuDebugState)
export const P2M_WRITTEN: i32 = 0x1c00;   // 1024 bits, one per 4 KiB page of P2M (4 MiB of guest-physical space): set when an entry there was written (mmu/p2m.ts)
// The I/O bitmaps (VT-x's, inverted: a set bit is a *direct* port, served by the host without an
// exit; see cpu/ops/io.ts): one bit per port, 8 KiB for IN at IO_DIRECT_IN, 8 KiB for OUT after it.
export const IO_DIRECT_IN: i32 = 0x2000;
export const IO_DIRECT_OUT: i32 = 0x4000;

export const MMIO_READS_SIZE: i32 = 0x240;
// Nested VM entries (a SymCall run from inside an exit handler): the interrupted
// entry's exit block, MMIO carry state, events and vCPU state, saved per level (index.ts).
export const NESTED_SAVE: i32 = 0x6000;       // 4 levels × NESTED_SLOT: 0x6000-0x7BFF
export const NESTED_SLOT: i32 = 0x700;        // exit block 0x100, MMIO state 0x258, events 0x28, vCPU state 0x300 (vcpu.ts)
export const NESTED_DEPTH: i32 = 4;

// Saved state of the vCPUs that are not running (vcpu.ts): 16 slots of 0x300 bytes.
export const VCPU_SAVE: i32 = 0x8000;
export const VCPU_SAVE_SIZE: i32 = 0x300;
export const VCPU_MAX: i32 = 16;

// Software TLB: one i32 per linear 4 KiB page (1 Mi entries), v86-style:
// entry = (hostPage ^ linearPage) | flag bits; 0 means not cached.
export const TLB: i32 = 0x100000;          // 4 MiB
export const TLB_VALID_LIST: i32 = 0x500000; // pages that hold entries, for fast flushes
export const TLB_VALID_LIST_MAX: i32 = 0x10000;
// One bit per guest-physical page the page walker has read a table entry from: a map
// change there can alter any translation, elsewhere only those that reach its frame.
export const WALKED_FRAMES: i32 = 0x540000;   // 128 KiB
// One bit per host frame (2 GiB of host memory): a store the shadow walk logs into a frame whose
// bit is set may exit right after its instruction (mmu/walk.ts fill, EXIT_TRACE_LOG; mmu/sync.ts).
export const SYNC_FRAMES: i32 = 0x560000;     // 64 KiB
// Which words of those frames (mmu/sync.ts): all of the frame after the mask table overflowed (a bitmap as
// SYNC_FRAMES), else the frame's 1024-bit mask, found by frame number in SYNC_KEYS.
export const SYNC_OVERFLOW: i32 = 0x570000;   // 64 KiB
export const SYNC_SLOTS: i32 = 1024;
export const SYNC_KEYS: i32 = 0x580000;       // SYNC_SLOTS × i32 (frame + 1; 0 = empty)
export const SYNC_MASKS: i32 = 0x581000;      // SYNC_SLOTS × 128 bytes

// RTM transactions (cpu/ops/rtm.ts): the vCPU's state at the outermost XBEGIN (VCPU_SAVE_SIZE bytes), the host
// pages written since (i32 each) and their contents before the first write (4 KiB each).
export const TX_SAVE: i32 = 0x5a2000;
export const TX_LOG_PAGES: i32 = 0x5a2400;
export const TX_LOG_DATA: i32 = 0x5b0000;   // TX_LOG_MAX × 4 KiB, up to 0x5d0000
export const TX_LOG_MAX: i32 = 32;

export const ROM: i32 = 0x600000;          // up to 1 MiB of BIOS/option ROM image
export const ROM_MAX: i32 = 0x100000;

// Region compiler (jit/): the Wasm module being emitted, the blocks queued for it, the regions
// it holds, and the function-table slots the compiled regions occupy.
export const JIT_BUF: i32 = 0x700000;
export const JIT_BUF_SIZE: i32 = 0x800000;
export const JIT_QUEUE: i32 = 0xf00000;      // block indices, i32 each
export const JIT_QUEUE_MAX: i32 = 1024;
export const JIT_OFFSETS: i32 = 0xf01000;    // while emitting a region: per page of it, page offset -> its block there (index + 1)
export const JIT_REGIONS: i32 = 0xf21000;    // the module's regions (jit/compiler.ts)
export const JIT_REGIONS_MAX: i32 = 0x10000; // i32 words
export const JIT_SLOTS_MAX: i32 = 0x2000;    // function-table slots for compiled regions
export const JIT_SLOT_FREE: i32 = 0xf61000;  // free slots (a stack of i32)
export const JIT_SLOT_LIVE: i32 = 0xf69000;  // per slot: 1 while a region's function occupies it
export const JIT_SLOT_PAGES: i32 = 0xf6b000; // per slot: 8 × i32, the number of pages the region covers, then their host addresses
export const JIT_SLOT_GEN: i32 = 0xfab000;   // per slot: i32 bumped each time it is freed (a link naming the slot must name this generation)
// Links between compiled regions (jit/region.ts, tcache.ts runBlock): a cache of region entries by EIP, 32 bytes each
// (EIP, host page, slot, its generation, entry, module offset, needs), filled when the cache enters a region and read
// by a region leaving for an EIP outside it, which then tail-calls the other region instead of returning.
export const JIT_LINKS: i32 = 0xfb3000;
export const JIT_LINKS_COUNT: i32 = 2048;
export const JIT_LINK_ON: i32 = 0xfc3000;    // i32: 1 while the translation cache chains blocks (tcache.ts tcRun's `chain`)
export const JIT_LINKS_TAKEN: i32 = 0xfc3008; // i64: links taken (statistics)
// Regions kept for a page none of whose blocks names them any more (tcache.ts keepRegionForPage): 16 bytes each
// (the page's frame number, the slot, its generation).
export const JIT_KEPT: i32 = 0xfc4000;
export const JIT_KEPT_MAX: i32 = 4096;       // up to 0xfd4000

export const MEMORY_BASE: i32 = 0x1000000; // keep in sync with asconfig.json

// Translation cache (tcache.ts): 16 MiB.
export const TC_HASH: i32 = 0x2000000;      // 64 Ki buckets × i32 (block index + 1)
export const TC_HASH_SIZE: i32 = 0x10000;
export const TC_BLOCKS: i32 = 0x2040000;    // 32 Ki blocks × 64 bytes
export const TC_BLOCK_MAX: i32 = 0x8000;
export const TC_PAGES: i32 = 0x2240000;     // per host frame: first block on it + 1 (up to 2 GiB of host memory)
// (TC_PAGES and TC_LINES cover 512 Ki frames: 2 GiB of host memory.)
export const TC_LINES: i32 = 0x2440000;     // per host frame: 64-bit mask of 64-byte lines holding code
export const TC_SMC: i32 = 0x2840000;       // per host frame: invalidations so far (255 = interpret only)
export const TC_RECORDS: i32 = 0x28c0000;   // decoded instructions, 32 bytes each
export const TC_RECORD_MAX: i32 = (0x3000000 - 0x28c0000) >> 5;

// The guest-physical map (mmu/p2m.ts): one i32 per guest-physical 4 KiB page of the
// 4 GiB space, host frame | permission bits. Owned by the VMM (src/vmm/memory.ts).
export const P2M: i32 = 0x3000000;          // 4 MiB

// Host memory: the frame pool. Host-physical address h (an offset into the pool) lives at
// RAM_BASE + h. Guest RAM is the pool's first frames (the identity map); the frames above
// it are the VMM's own (shadow and nested page tables, SymSpy pages, swap caches).
export const RAM_BASE: i32 = 0x3400000;
