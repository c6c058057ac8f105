// Network I/O, the three styles of I/O virtualization side by side (seeds 002, 003, 004): two
// Debian guests in one process (a VmGroup with deterministic clocks), each with a virtio-net card,
// an emulated NE2000 and an NE2000 under VPIO, one switch per kind; vm1 sends BENCH_NET_MB to vm0
// with busybox nc over each card in turn, into a file in vm0's RAM (counted after the window). Reported per card, between the
// serial markers vm0 prints around each transfer (timestamped in the serial callback):
//   MB/s of host time (wall, or CPU with BENCH_CLOCK=cpu), VM exits per MB and per packet (both
//   VMs' exits, packets = frames through the switch), the NE2000s' port accesses per packet, the
//   VPIO card's hooked fraction (exits / accesses on its ports), and the VPIO model's update cost:
//   the model inputs of the transfer recorded and replayed on a fresh model in a loop (ns each).
//
// Alone: node benchmarks/net.mjs (after npm run build); npm run bench runs it too (BENCH_NET=0
// leaves it out). Environment: BENCH_NET_MB (default 4), BENCH_ENGINES (wasm,js), BENCH_NET_CARDS
// (comma list of virtio, ne2k, vpio, virtio-nooffload; default all).
import { readFileSync } from "node:fs";
import { Pc, VmGroup, VirtualSwitch, Ne2kModel, plugNics, guestAddress, ipCommandLine, defaultMac, driverModules } from "../dist/index.js";
import { createEngine } from "../dist/node/engines.js";
import { cachedModules, findCachedImages } from "../dist/node/images.js";
import { LINUX_CMDLINE } from "../dist/boot/linux.js";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";

const RAM = 128 << 20;
const CMDLINE = `${LINUX_CMDLINE} quiet`;
const NE2K_PORTS = 32;
const ALL_CARDS = [
  { key: "virtio", name: "virtio-net", kind: { model: "virtio", vpio: false, shared: false }, subnet: 2 },
  { key: "ne2k", name: "NE2000 (emulated)", kind: { model: "ne2k", vpio: false, shared: false }, subnet: 3 },
  { key: "vpio", name: "NE2000 (VPIO)", kind: { model: "ne2k", vpio: true, shared: false }, subnet: 4 },
  // virtio-net without its transmit offloads (--nic virtio,offload=off): what checksum completion and TSO buy.
  { key: "virtio-nooffload", name: "virtio-net (no offloads)", kind: { model: "virtio", vpio: false, shared: false, offloads: false }, subnet: 5 },
];
const CARDS = ALL_CARDS.filter((c) => (process.env.BENCH_NET_CARDS ?? "virtio,ne2k,vpio,virtio-nooffload").split(",").includes(c.key));
const base = (subnet) => ({ mac: defaultMac(0x100 * (subnet - 2)), ipv4: ((10 << 24) | (subnet << 8) | 15) >>> 0, prefix: 24 });

function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }

/** One pair of boots on `engineKind`: every card's transfer window. */
async function run(engineKind, mb, progress) {
  const images = findCachedImages();
  const count = mb * 16; // 64 KiB blocks
  // vm1 serves a stream of zeros per card (dd, so no file in its RAM); vm0 fetches each in turn.
  // dd writes to the socket itself (nc -e), 64 KiB at a time, so a card with TSO can take 64 KiB segments; through a
  // pipe, busybox nc would write 1 KiB at a time (what runs before 12-05 measured).
  const server = [...CARDS.map((c) => `while true; do nc -l -p 500${c.subnet} -e sh -c 'dd if=/dev/zero bs=64k count=${count} 2>/dev/null'; done &`), "sleep 100000"].join("\n");
  const client = [
    // A first, unmeasured round over every card: the region compiler compiles the guests' code for each card's path
    // (its driver, TCP) and the host's JIT warms up, so that the measured round finds every card warm and the card
    // that comes first pays for nothing (before 12-05 it did: the first card's transfer ran ≈ 1.6× slower).
    ...CARDS.flatMap((c) => [
      `until ping -c 1 10.0.${c.subnet}.16 >/dev/null; do sleep 1; done`,
      `nc 10.0.${c.subnet}.16 500${c.subnet} > /dev/null`,
    ]),
    ...CARDS.flatMap((c, k) => [
      `echo NET-B${k}`,
      `nc 10.0.${c.subnet}.16 500${c.subnet} > /tmp/n`,
      `echo NET-E${k}`,
      `echo NET-BYTES${k}=$(wc -c < /tmp/n)`,
      "rm /tmp/n",
    ]),
    "echo NET-DONE",
  ].join("\n");
  const marks = new Map();
  const serial = ["", ""];
  const pcs = [];
  const snapshot = () => ({
    t: performance.now(), cpu: cpuMs(),
    exits: pcs.reduce((n, pc) => n + Object.values(pc.vm.stats().exits).reduce((a, b) => a + b, 0), 0),
    instructions: pcs.map((pc) => pc.vm.core.getRetired()),
    frames: nics.map((n) => n.links.reduce((a, l) => a + l.stats.txFrames, 0)),
    ports: nics.map((n) => ne2kPorts(n)),
  });
  for (let i = 0; i < 2; i++) {
    let line = "";
    pcs.push(new Pc({
      engine: await createEngine(engineKind, RAM), ramBytes: RAM, clock: "deterministic",
      onSerial: (b) => {
        serial[i] += String.fromCharCode(b);
        if (b !== 10) { line += String.fromCharCode(b); return; }
        const m = i === 0 && /^NET-([BE]\d)$/.exec(line.trim());
        if (m) marks.set(m[1], snapshot());
        line = "";
      },
    }));
  }
  const nics = CARDS.map((c) => plugNics(pcs, c.kind, { addresses: base(c.subnet), linkPrefix: `${c.name} ` }));
  for (const n of nics) { const sw = new VirtualSwitch(); for (const l of n.links) sw.connectLink(l); }
  // The NE2000s' port accesses (exits + direct) on both VMs' cards.
  const ne2kPorts = (n) => {
    const cards = [...n.emulated.map((c, i) => ({ vm: pcs[i].vm, base: c.pci.barAddress(0) })), ...n.vpio.map((v, i) => ({ vm: pcs[i].vm, base: v.members[0].base }))];
    let exits = 0, direct = 0;
    for (const c of cards) { const s = c.vm.direct.countsIn(c.base, NE2K_PORTS); exits += s.exits; direct += s.direct; }
    return { exits, direct };
  };
  const vpioModel = nics.find((n) => n.kind.vpio)?.vpio[0].members[0].model;
  const modules = cachedModules(images, driverModules(["virtio-net", "ne2k-pci"]));
  pcs.forEach((pc, i) => {
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images.busybox)), modules, run: i === 0 ? client : server });
    const ip = ipCommandLine(CARDS.map((c) => guestAddress(i, base(c.subnet))));
    pc.loadLinux(new Uint8Array(readFileSync(images.kernel)), { cmdline: `${CMDLINE} ${ip}`, initrd });
  });
  const group = new VmGroup(pcs.map((p) => p.vm), { pollers: nics.flatMap((n) => n.pollers) });
  let recording = false, recorded = null;
  const outcome = await group.run({
    timeoutSeconds: 7200,
    shouldStop: () => {
      // Record the VPIO model's inputs during its own transfer (from its begin marker on).
      const k = CARDS.findIndex((c) => c.kind.vpio);
      if (vpioModel && !recording && marks.has(`B${k}`)) { recording = true; vpioModel.record = []; }
      if (vpioModel && recording && marks.has(`E${k}`) && vpioModel.record) { recorded = vpioModel.record; vpioModel.record = null; }
      return serial[0].includes("NET-DONE") ? "done" : null;
    },
  });
  if (outcome.kind !== "until") throw new Error(`net bench on ${engineKind}: ${JSON.stringify(outcome)}; vm0: ${serial[0].slice(-500)}`);
  progress(".");
  return CARDS.map((c, k) => {
    const s = marks.get(`B${k}`), e = marks.get(`E${k}`);
    const bytes = Number(new RegExp(`NET-BYTES${k}=(\\d+)`).exec(serial[0])?.[1]);
    if (bytes !== mb << 20) throw new Error(`net bench on ${engineKind}: ${c.name} moved ${bytes} bytes, not ${mb << 20}`);
    const packets = e.frames[k] - s.frames[k];
    const ports = { exits: e.ports[k].exits - s.ports[k].exits, direct: e.ports[k].direct - s.ports[k].direct };
    return { card: c.name, wallMs: e.t - s.t, cpuMs: e.cpu - s.cpu, exits: e.exits - s.exits, instructions: e.instructions.map((n, i) => n - s.instructions[i]), packets, ports, recorded: c.kind.vpio ? recorded : null };
  });
}

/** ns of CPU time per model update: the recorded inputs replayed on a fresh model, the fastest of 5 rounds of ≥ 100 ms. */
function modelUpdateNs(inputs) {
  if (!inputs || inputs.length === 0) return null;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const t0 = cpuMs();
    while (cpuMs() - t0 < 100) { new Ne2kModel().replay(inputs); n += inputs.length; }
    best = Math.min(best, ((cpuMs() - t0) * 1e6) / n);
  }
  return best;
}

/** The network rows for `engines` (wasm, js). */
export async function netBench({ engines, mb = 4, clock = "wall", progress = () => {} }) {
  if (!findCachedImages()) return { skipped: "network rows skipped: the Debian images are not cached (npm run images)" };
  const rows = [];
  for (const engine of engines) {
    progress(`bench: network I/O on ${engine} `);
    const r = await run(engine, mb, progress);
    progress("\n");
    for (const w of r) {
      const ms = clock === "cpu" ? w.cpuMs : w.wallMs;
      const accesses = w.ports.exits + w.ports.direct;
      rows.push({
        engine, card: w.card, mb, ms: +ms.toFixed(1), mbPerS: +(mb / (ms / 1000)).toFixed(3), packets: w.packets,
        exitsPerMb: Math.round(w.exits / mb), exitsPerPacket: +(w.exits / w.packets).toFixed(2),
        // Guest instructions per MB: the receiver's and the sender's.
        instructionsPerMb: w.instructions.map((n) => Math.round(n / mb)),
        portAccessesPerPacket: accesses ? +(accesses / w.packets).toFixed(1) : null,
        hookedFraction: w.card.includes("VPIO") && accesses ? +(w.ports.exits / accesses).toFixed(4) : null,
        modelUpdateNs: w.recorded ? +modelUpdateNs(w.recorded).toFixed(1) : null,
        modelUpdates: w.recorded ? w.recorded.length : null,
      });
    }
  }
  return { rows, ratios: netRatios(rows) };
}

/** Per engine: virtio-net and VPIO against the emulated NE2000 (throughput ×, exits per packet ÷). */
function netRatios(rows) {
  const out = [];
  for (const emu of rows.filter((r) => r.card === "NE2000 (emulated)")) {
    for (const r of rows.filter((x) => x.engine === emu.engine && x !== emu)) {
      out.push({ engine: r.engine, card: r.card, throughput: +(r.mbPerS / emu.mbPerS).toFixed(2), fewerExitsPerPacket: +(emu.exitsPerPacket / Math.max(r.exitsPerPacket, 0.01)).toFixed(1) });
    }
  }
  return out;
}

export function netLines(d) {
  if (!d || d.skipped) return [d?.skipped ?? ""];
  const lines = ["", "| engine | card | MB/s | M instructions/MB (receiver, sender) | exits/MB | exits/packet | port accesses/packet | hooked fraction | model update |", "|---|---|---|---|---|---|---|---|---|"];
  for (const r of d.rows) {
    lines.push(`| ${r.engine} | ${r.card} | ${r.mbPerS} | ${r.instructionsPerMb.map((n) => (n / 1e6).toFixed(1)).join(", ")} | ${r.exitsPerMb} | ${r.exitsPerPacket} | ${r.portAccessesPerPacket ?? "-"} | ${r.hookedFraction === null ? "-" : `${r.hookedFraction} (1/${(1 / r.hookedFraction).toFixed(1)})`} | ${r.modelUpdateNs === null ? "-" : `${r.modelUpdateNs} ns × ${r.modelUpdates}`} |`);
  }
  lines.push("", "against the emulated NE2000 (throughput ×, exits per packet ÷):");
  for (const q of d.ratios) lines.push(`  ${q.engine} ${q.card}: ${q.throughput}× throughput, ${q.fewerExitsPerPacket}× fewer exits per packet`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const engines = (process.env.BENCH_ENGINES ?? "wasm,js").split(",").filter((e) => e === "wasm" || e === "js");
  const mb = Number(process.env.BENCH_NET_MB ?? 4);
  const d = await netBench({ engines, mb, clock: process.env.BENCH_CLOCK === "cpu" ? "cpu" : "wall", progress: (s) => process.stderr.write(s) });
  console.log(netLines(d).join("\n"));
  console.log(JSON.stringify(d));
}
