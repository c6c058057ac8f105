// The benchmark kernels (benchmarks/kernels/*.asm), what each measures, its
// work unit, and the RESULT line it must print. Each expected value is
// computed here independently of any emulator: mathematically, or by a
// JavaScript model of the kernel. QEMU agrees (kernels/check-qemu.sh).
// Keep the constants in step with the .asm sources.

function primeCount(limit) { // pi(limit - 1), by a sieve
  const composite = new Uint8Array(limit);
  let n = 0;
  for (let i = 2; i < limit; i++) {
    if (composite[i]) continue;
    n++;
    for (let j = i * i; j < limit; j += i) composite[j] = 1;
  }
  return n;
}
function primeDivisions(limit) { // IDIVs isPrime executes for a in [2, limit)
  const spf = new Uint32Array(limit); // smallest prime factor
  let n = 0;
  for (let a = 2; a < limit; a++) {
    if (spf[a] === 0) { for (let j = a; j < limit; j += a) if (spf[j] === 0) spf[j] = a; }
    n += spf[a] === a ? a - 2 : spf[a] - 1;
  }
  return n;
}
function fib(n) { let a = 0, b = 1; for (let i = 0; i < n; i++) [a, b] = [b, (a + b) >>> 0]; return a; }
function memcpyModel(buf, rounds) {
  const src = new Uint8Array(buf);
  const w = new Uint32Array(src.buffer);
  for (let i = 0; i < buf / 4; i++) w[i] = Math.imul(i, 0x9e3779b1);
  for (let r = 0; r < rounds; r++) src.copyWithin(0, 1); // dst = src; src[0..buf-2] = dst[1..]
  let h = 0;
  for (let i = 0; i < buf / 4; i++) h = Math.imul(((h << 5) | (h >>> 27)) ^ w[i], 0x9e3779b1);
  return h >>> 0;
}
function tlbModel(pages, rounds) {
  let s = 0n;
  for (let r = 1n; r <= BigInt(rounds); r++) s += (r * (r + 1n)) / 2n;
  return Number((s * BigInt(pages)) & 0xffffffffn);
}
function pagefaultModel(k, pages) { const t = k / pages; return (pages * t * (t + 1) / 2) >>> 0; }

export const KERNELS = [
  { name: "primes", measures: "tight integer loop: trial-division isPrime (seed 002), IDIV + branches",
    expected: () => primeCount(15000), unit: "divisions", units: primeDivisions(15000) },
  { name: "memcpy", measures: "REP MOVSD (aligned) + REP MOVSB (misaligned) over 64 KiB buffers",
    expected: () => memcpyModel(65536, 1500), unit: "bytes copied", units: 1500 * (65536 + 65535) },
  { name: "calls", measures: "call/ret-heavy: recursive fib(32) with stack frames",
    expected: () => fib(32), unit: "calls", units: 2 * fib(33) - 1 },
  // The PC serves port 0x80 (Linux's delay port) without exits: the io kernel hooks it again.
  { name: "io", measures: "I/O-exit-heavy: 10M OUT to port 0x80, one VM exit each",
    expected: () => 10_000_000, unit: "OUTs", units: 10_000_000, setup: (pc) => pc.vm.direct.unset(0x80, 1) },
  { name: "iobase", measures: "the io loop with NOP instead of OUT (exit-cost baseline)",
    expected: () => 10_000_000, unit: "iterations", units: 10_000_000 },
  { name: "tlb", measures: "TLB misses: 8192 pages touched per round, CR3 reload, 1500 rounds",
    expected: () => tlbModel(8192, 1500), unit: "page walks", units: 8192 * 1500 },
  { name: "pagefault", measures: "#PF-heavy: 1.5M not-present faults, handler maps, INVLPG unmaps",
    expected: () => pagefaultModel(1_500_000, 1000), unit: "page faults", units: 1_500_000 },
  { name: "ptupdate", measures: "page-table updates: 20000 times map 64 pages in a second address space, switch CR3, touch, unmap",
    expected: () => (20000 * (64 * 65 / 2)) >>> 0, unit: "PTE writes", units: 20000 * 64 * 2 },
];

/** { name: expected RESULT value } for every kernel. */
export function expectedResults() {
  return Object.fromEntries(KERNELS.map((k) => [k.name, String(k.expected())]));
}
