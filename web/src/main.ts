/**
 * The page: controls, an xterm.js terminal on the guest's COM1, live charts.
 * The VM itself runs in worker.ts; this side only sends commands and input
 * and draws what comes back.
 *
 * @module
 */
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import "./style.css";
import { isBzImage, LINUX_CMDLINE } from "../../src/boot/linux.js";
import type { VmStats } from "../../src/vmm/vm.js";
import type { BootConfig, DiskSpec, FromWorker, GuestSpec, RunState, SymbioticView, ToWorker } from "./protocol.js";
import { RateTracker } from "./rates.js";
import { StatsCharts, fmt } from "./charts.js";
import { CP437 } from "../../src/devices/vga/cp437.js";
import { cellColors, screenLines } from "../../src/devices/vga/screen-text.js";
import type { VgaPixels, VgaScreen, VgaTextScreen } from "../../src/devices/vga/vga.js";
import { ps2Scancodes } from "../../src/devices/ps2-keymap.js";
import { RELAY_PATH } from "../../src/net/user/relay-protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const guestSel = $<HTMLSelectElement>("guest");
const fileInput = $<HTMLInputElement>("file");
const engineSel = $<HTMLSelectElement>("engine");
const memSel = $<HTMLSelectElement>("mem");
const pagingSel = $<HTMLSelectElement>("paging");
const diskSel = $<HTMLSelectElement>("disk");
const diskFileInput = $<HTMLInputElement>("disk-file");
const saveDiskBtn = $<HTMLButtonElement>("save-disk");
const saveStateBtn = $<HTMLButtonElement>("save-state");
const stateFileInput = $<HTMLInputElement>("state-file");
const cmdlineInput = $<HTMLInputElement>("cmdline");
const vgaInput = $<HTMLInputElement>("vga");
const netInput = $<HTMLInputElement>("net");
const screenEl = $("screen");
const screenText = $<HTMLPreElement>("screen-text");
const screenPixels = $<HTMLCanvasElement>("screen-pixels");
const startBtn = $<HTMLButtonElement>("start");
const pauseBtn = $<HTMLButtonElement>("pause");
const resetBtn = $<HTMLButtonElement>("reset");
const stateEl = $("state");
const detailEl = $("detail");
const logEl = $("log");
const summaryEl = $("summary");
const monitorForm = $<HTMLFormElement>("monitor");
const monitorInput = $<HTMLInputElement>("monitor-input");
const monitorOut = $<HTMLPreElement>("monitor-output");

// ---- terminal ----------------------------------------------------------------------------------

const term = new Terminal({
  convertEol: true, // the test kernels print bare LF
  cursorBlink: true,
  scrollback: 5000,
  fontSize: 13,
  fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, monospace",
  theme: { background: "#000000" },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open($("terminal"));
fit.fit();
new ResizeObserver(() => fit.fit()).observe($("terminal"));
const encoder = new TextEncoder();
term.onData((d) => send({ type: "input", bytes: encoder.encode(d) }));
term.onBinary((d) => send({ type: "input", bytes: Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff) }));

// ---- VGA screen ----------------------------------------------------------------------------------

let lastScreen: VgaScreen | null = null;

/** Draw the screen: a picture on the canvas (small modes doubled), or the text screen. */
function drawScreen(screen: VgaScreen): void {
  lastScreen = screen;
  screenEl.hidden = false;
  screenPixels.hidden = screen.kind !== "pixels";
  screenText.hidden = screen.kind === "pixels";
  if (screen.kind === "pixels") { drawPixels(screen); return; }
  if (screen.kind !== "text") { screenText.textContent = screenLines(screen)[0]!; return; }
  drawText(screen);
}

function drawPixels(p: VgaPixels): void {
  if (screenPixels.width !== p.width || screenPixels.height !== p.height) {
    screenPixels.width = p.width;
    screenPixels.height = p.height;
    const scale = p.width <= 400 ? 2 : 1;
    screenPixels.style.width = `${p.width * scale}px`;
    screenPixels.style.height = `${p.height * scale}px`;
  }
  const image = new ImageData(p.width, p.height);
  for (let i = 0, o = 0; i < p.rgb.length; i += 3, o += 4) {
    image.data[o] = p.rgb[i]!;
    image.data[o + 1] = p.rgb[i + 1]!;
    image.data[o + 2] = p.rgb[i + 2]!;
    image.data[o + 3] = 255;
  }
  screenPixels.getContext("2d")!.putImageData(image, 0, 0);
}

/** The text screen: runs of cells with one attribute as spans, the cursor cell marked (it blinks by CSS). */
function drawText(screen: VgaTextScreen): void {
  const css = (rgb: number) => `#${rgb.toString(16).padStart(6, "0")}`;
  const escape = (c: string) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c);
  let html = "";
  for (let r = 0; r < screen.rows; r++) {
    let run = "", runAttr = -1;
    const close = () => {
      if (runAttr < 0) return;
      const [fg, bg] = cellColors(screen, runAttr);
      html += `<span style="color:${css(fg)};background:${css(bg)}">${run}</span>`;
      run = "";
    };
    for (let c = 0; c < screen.cols; c++) {
      const i = r * screen.cols + c, attr = screen.attrs[i]!;
      const ch = escape(CP437[screen.chars[i]!]!);
      const atCursor = screen.cursor?.row === r && screen.cursor.col === c;
      if (attr !== runAttr || atCursor) { close(); runAttr = attr; }
      run += atCursor ? `<span class="cursor">${ch}</span>` : ch;
      if (atCursor) { close(); runAttr = -1; }
    }
    close();
    html += "\n";
  }
  screenText.innerHTML = html;
}

// Keys typed on the screen go to the PS/2 keyboard as scan codes (a key the table lacks stays with the browser).
for (const type of ["keydown", "keyup"] as const) {
  screenEl.addEventListener(type, (e) => {
    const bytes = ps2Scancodes(e.code, type === "keydown");
    if (!bytes) return;
    e.preventDefault();
    send({ type: "keys", bytes });
  });
}

// ---- charts ------------------------------------------------------------------------------------

const charts = new StatsCharts({ mips: $("chart-mips"), exits: $("chart-exits"), tlb: $("chart-tlb"), tcache: $("chart-tcache") });
let rates = new RateTracker();
let lastStats: VmStats | null = null;

// ---- worker ------------------------------------------------------------------------------------

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
function send(m: ToWorker, transfer: Transferable[] = []): void { worker.postMessage(m, transfer); }

let state: RunState | "idle" = "idle";
let boot = -1;

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case "serial": term.write(m.bytes); break;
    case "screen": if (m.boot === boot) drawScreen(m.screen); break;
    case "log": appendLog(m.text); break;
    case "disk":
      saveDiskBtn.disabled = m.disk === null;
      saveDiskBtn.title = m.disk ? `Download ${m.disk.name} as it is now (a raw image)` : "no disk attached";
      break;
    case "disk-contents": download(m.fileName, m.bytes, "the disk"); break;
    case "state-contents": download(m.fileName, m.bytes, "the machine"); break;
    case "monitor-output": appendMonitor(m.command, m.text); break;
    case "file-contents": download(m.fileName, m.bytes, "a monitor command's file"); break;
    case "state":
      if (m.boot !== boot) { boot = m.boot; rates = new RateTracker(); charts.reset(); }
      setState(m.state, m.detail);
      break;
    case "stats": {
      if (m.boot !== boot) break;
      lastStats = m.stats;
      const r = rates.push(m.t, m.stats);
      if (r) charts.add(r);
      const s = m.stats;
      const exits = Object.values(s.exits).reduce((a, b) => a + b, 0);
      summaryEl.textContent =
        `instructions ${fmt(s.instructions, 2)}   MIPS ${r ? r.mips.toFixed(1) : "–"}   slice ${fmt(m.slice, 1)}\n` +
        `exits ${fmt(exits, 1)}   TLB misses ${fmt(s.tlbMisses, 1)}   tcache hits ${s.tcache.lookups ? ((100 * s.tcache.hits) / s.tcache.lookups).toFixed(1) + "%" : "–"}` +
        `   compiled regions ${s.compiler ? (s.compiler.error ? `off (${s.compiler.error})` : fmt(s.compiler.regions, 1)) : "–"}\n` +
        pagingSummary(s.paging) +
        symbioticLine(m.symbiotic);
      lastSymbiotic = m.symbiotic;
      break;
    }
  }
};
worker.onerror = (e) => setState("error", `worker: ${e.message}`);

/** The guest's own account by SymSpy (a symbiotic guest keeps it current; the worker reads it without an exit). */
function symbioticLine(v: SymbioticView | null): string {
  if (!v) return "";
  const t = v.task, m = v.memory;
  const task = t ? `pid ${t.pid} ${t.kernelThread ? `[${t.comm}]` : t.comm}${t.idle ? " (idle)" : ""}` : "–";
  const mib = (k: number) => (k / 1024).toFixed(1);
  const mem = m ? `${mib(m.memFreeKiB)} MiB free of ${mib(m.memTotalKiB)} (available ${mib(m.memAvailableKiB)}), swap used ${mib(m.swapTotalKiB - m.swapFreeKiB)} MiB, ${m.tasks} processes` : "–";
  // Two lines: the panel is narrow, and the memory figures are the long part.
  return `\nguest (SymSpy)   running ${task}\n  memory ${mem}`;
}

/** The memory-virtualization counters that matter in the running mode (vm.stats().paging). */
function pagingSummary(p: VmStats["paging"]): string {
  const n = (k: string) => fmt(Number(p[k] ?? 0), 1);
  if (p.mode === "nested") return `paging nested   2-D walks ${n("nestedWalks")}   refs ${n("nestedRefs")}   violations ${n("violations")}`;
  if (p.mode === "shadow") {
    return `paging shadow   hidden faults ${n("hiddenFaults")}   true faults ${n("trueFaults")}   trace exits ${n("traceExits")}` +
      `   CR3 loads ${n("cr3Loads")} (${n("cr3TargetHits")} without exit)   shadow pages ${n("shadowPages")}`;
  }
  return `paging direct   CR3 loads ${n("cr3Loads")}`;
}

function setState(s: RunState, detail: string): void {
  state = s;
  stateEl.textContent = s;
  stateEl.dataset.state = s;
  detailEl.textContent = detail;
  const live = s === "running" || s === "paused";
  pauseBtn.disabled = !live;
  pauseBtn.textContent = s === "paused" ? "Resume" : "Pause";
  saveStateBtn.disabled = !live;
  stateFileInput.disabled = !live;
  resetBtn.disabled = boot < 0;
  if (s === "running") term.focus();
}

function appendLog(text: string): void {
  logEl.textContent += `${new Date().toLocaleTimeString()}  ${text}\n`;
  logEl.scrollTop = logEl.scrollHeight;
}

// ---- guests ------------------------------------------------------------------------------------

let files: { name: string; bytes: Uint8Array }[] = [];
let debianBase: string | null = null;
/** The dev server has SeaBIOS's VGA BIOS for a disk booted with the VGA. */
let haveVgaBios = false;
/** The kernel release the server's symbiotic.ko is built for (null: none). */
let symbioticRelease: string | null = null;
let lastSymbiotic: SymbioticView | null = null;

function guestSpec(): GuestSpec {
  const v = guestSel.value;
  if (v === "demo" || v === "echo") return { kind: "builtin", id: v };
  if (v === "debian") return { kind: "debian", baseUrl: debianBase!, ...(symbioticRelease ? { symbioticRelease } : {}) };
  if (v === "firmware") return { kind: "firmware", url: debianBase! + "seabios.bin", ...(haveVgaBios ? { vgaBiosUrl: debianBase! + "vgabios.bin" } : {}) };
  if (files.length === 0) throw new Error("no files chosen");
  return { kind: "files", files };
}

/** Linux's default command line; with the VGA its console goes to the screen too (and /init puts a shell on tty1). */
function defaultCmdline(): string {
  const v = guestSel.value;
  const linux = vgaInput.checked ? `console=tty0 ${LINUX_CMDLINE}` : LINUX_CMDLINE;
  if (v === "debian") return linux;
  if (v === "files" && files.some((f) => isBzImage(f.bytes))) return linux;
  return "";
}

guestSel.addEventListener("change", () => {
  cmdlineInput.value = defaultCmdline();
  if (guestSel.value === "debian" && Number(memSel.value) < 64) memSel.value = "128";
});
vgaInput.addEventListener("change", () => {
  cmdlineInput.value = defaultCmdline();
  if (!vgaInput.checked) screenEl.hidden = true;
});

async function useFiles(list: FileList | File[]): Promise<void> {
  const arr = [...list];
  if (arr.length === 0) return;
  files = await Promise.all(arr.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  const opt = guestSel.querySelector<HTMLOptionElement>("option[value=files]")!;
  opt.disabled = false;
  opt.textContent = `Your files: ${files.map((f) => f.name).join(" + ")}`;
  guestSel.value = "files";
  cmdlineInput.value = defaultCmdline();
  await startGuest();
}

fileInput.addEventListener("change", () => { if (fileInput.files) void useFiles(fileInput.files); fileInput.value = ""; });
let dragDepth = 0;
document.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; document.body.classList.add("dragging"); });
document.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; document.body.classList.remove("dragging"); } });
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  if (e.dataTransfer?.files.length) void useFiles(e.dataTransfer.files);
});

/**
 * Offer Debian Linux when the server has the cached images: the dev server
 * says where with <meta name="symbiont-images"> (static builds have none).
 */
async function probeDebian(): Promise<void> {
  const meta = document.querySelector<HTMLMetaElement>("meta[name=symbiont-images]");
  if (!meta) return;
  try {
    const base = new URL(meta.content, location.href).href;
    const r = await fetch(base + "index.json");
    if (!r.ok || !(r.headers.get("content-type") ?? "").includes("json")) return;
    const info = (await r.json()) as { version: string; kernelBytes: number; symbioticModule?: string | null; seabios?: string | null; vgabios?: string | null; netRelay?: boolean };
    debianBase = base;
    if (info.netRelay && relayUrl === null) offerNetwork(new URL(RELAY_PATH, location.href.replace(/^http/, "ws")).href, "the dev server's relay");
    haveVgaBios = !!info.vgabios;
    symbioticRelease = info.symbioticModule === info.version ? info.version : null;
    const opt = document.createElement("option");
    opt.value = "debian";
    opt.textContent = `Debian Linux ${info.version}${symbioticRelease ? " (symbiotic)" : ""}`;
    opt.title = "Debian's i386 kernel with a busybox initramfs built in the worker" +
      (symbioticRelease ? "; init loads symbiotic.ko and the page shows its running task and memory figures (SymSpy)" : "");
    guestSel.insertBefore(opt, guestSel.querySelector("option[value=files]"));
    if (info.seabios) {
      // A PC's own way in: the BIOS boots the chosen disk (its text screen is the terminal: SeaBIOS's serial console).
      const fw = document.createElement("option");
      fw.value = "firmware";
      fw.textContent = "Your disk, booted by SeaBIOS";
      fw.title = `The disk chosen below, booted through ${info.seabios} and whatever boot loader it holds (npm run boot-disk makes one with Linux)`;
      guestSel.insertBefore(fw, guestSel.querySelector("option[value=files]"));
    }
  } catch {
    // no images: the option stays absent
  }
}

// ---- disk --------------------------------------------------------------------------------------

/** The image the picker chose (read at each Start, so a new Start begins from the file again). */
let diskFile: File | null = null;

async function diskSpec(): Promise<DiskSpec | null> {
  const v = diskSel.value;
  if (v === "none") return null;
  if (v === "blank16" || v === "blank64") return { kind: "blank", mib: Number(v.slice(5)) };
  if (!diskFile) throw new Error("no disk image chosen: pick one with Image…");
  return { kind: "image", name: diskFile.name, bytes: new Uint8Array(await diskFile.arrayBuffer()) };
}

/** Picking an image selects it for the next Start; it does not start the guest. */
diskFileInput.addEventListener("change", () => {
  const f = diskFileInput.files?.[0];
  diskFileInput.value = "";
  if (!f) return;
  diskFile = f;
  diskSel.querySelector<HTMLOptionElement>("option[value=image]")!.textContent = `image: ${f.name} (${(f.size / 1048576).toFixed(1)} MiB)`;
  diskSel.value = "image";
});
diskSel.addEventListener("change", () => { if (diskSel.value === "image" && !diskFile) diskFileInput.click(); });

/** Hand bytes to the browser as a download. */
function download(fileName: string, bytes: Uint8Array<ArrayBuffer>, what: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download reads the blob after click() returns
  appendLog(`saved ${what} as ${fileName} (${(bytes.length / 1048576).toFixed(1)} MiB)`);
}

// ---- the VMM monitor ----------------------------------------------------------------------------

/** Commands typed so far (Up and Down recall them), and where the recall is. */
const monitorHistory: string[] = [];
let recallAt = 0;
/** The output pane keeps about this many characters (the oldest go). */
const MONITOR_KEEP = 100_000;

monitorForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const command = monitorInput.value.trim();
  if (!command) return;
  if (monitorHistory.at(-1) !== command) monitorHistory.push(command);
  recallAt = monitorHistory.length;
  monitorInput.value = "";
  send({ type: "monitor", command });
});
monitorInput.addEventListener("keydown", (ev) => {
  if (ev.key !== "ArrowUp" && ev.key !== "ArrowDown") return;
  ev.preventDefault();
  recallAt = Math.max(0, Math.min(monitorHistory.length, recallAt + (ev.key === "ArrowUp" ? -1 : 1)));
  monitorInput.value = monitorHistory[recallAt] ?? "";
});

function appendMonitor(command: string, text: string): void {
  const all = `${monitorOut.textContent}(monitor) ${command}\n${text ? `${text}\n` : ""}`;
  monitorOut.textContent = all.length > MONITOR_KEEP ? all.slice(all.indexOf("\n", all.length - MONITOR_KEEP) + 1) : all;
  monitorOut.scrollTop = monitorOut.scrollHeight;
}

saveDiskBtn.addEventListener("click", () => send({ type: "save-disk" }));
saveStateBtn.addEventListener("click", () => send({ type: "save-state" }));
stateFileInput.addEventListener("change", async () => {
  const f = stateFileInput.files?.[0];
  if (!f) return;
  const bytes = new Uint8Array(await f.arrayBuffer());
  stateFileInput.value = ""; // (the same file may be restored again)
  send({ type: "load-state", name: f.name, bytes }, [bytes.buffer]);
});

// ---- controls ----------------------------------------------------------------------------------

/**
 * Where the Network box's user network gets its sockets: the relay named by the page's `?relay=ws://…` (a static
 * build served anywhere, with `symbiont relay --origin <this page's origin>` running), else the dev server's own.
 */
let relayUrl: string | null = null;

/** The `?relay=` of the page's address, when it is a WebSocket URL (else the log says why it is not used). */
function relayFromAddress(): string | null {
  const v = new URLSearchParams(location.search).get("relay");
  if (v === null) return null;
  try {
    const url = new URL(v);
    if (url.protocol === "ws:" || url.protocol === "wss:") return url.href;
  } catch { /* said below */ }
  appendLog(`?relay=${v}: not a ws:// or wss:// address; the Network box stays off (symbiont relay prints the address to use)`);
  return null;
}

function offerNetwork(url: string, from: string): void {
  relayUrl = url;
  netInput.disabled = false;
  netInput.parentElement!.title = `A virtio-net card on the user network (as symbiont boot --net user: DHCP, DNS, NAT; 10.0.2.2 is the host), through ${from} at ${url}`;
}

async function startGuest(): Promise<void> {
  let guest: GuestSpec, disk: DiskSpec | null;
  try {
    guest = guestSpec();
    disk = await diskSpec();
  } catch (e) {
    setState("error", (e as Error).message);
    return;
  }
  const config: BootConfig = {
    engine: engineSel.value as "wasm" | "js", ramMiB: Number(memSel.value), paging: pagingSel.value as BootConfig["paging"], guest, cmdline: cmdlineInput.value, disk,
    vga: vgaInput.checked,
    net: netInput.checked && !netInput.disabled ? relayUrl : null,
  };
  term.reset();
  screenEl.hidden = true;
  lastScreen = null;
  lastStats = null;
  send({ type: "start", config }, disk?.kind === "image" ? [disk.bytes.buffer] : []);
}

startBtn.addEventListener("click", () => void startGuest());
pauseBtn.addEventListener("click", () => send({ type: state === "paused" ? "resume" : "pause" }));
resetBtn.addEventListener("click", () => { term.reset(); send({ type: "reset" }); });

{
  const url = relayFromAddress();
  if (url) offerNetwork(url, "the relay this page's address names");
}
const ready = probeDebian();

// ---- hooks for the end-to-end test ---------------------------------------------------------------

declare global {
  interface Window {
    symbiont: {
      ready: Promise<void>;
      state(): string;
      terminalText(): string;
      chartPoints(): ReturnType<StatsCharts["points"]>;
      stats(): VmStats | null;
      symbiotic(): SymbioticView | null;
      /** The VGA's screen as text lines (null before it drew anything). */
      screenText(): string[] | null;
    };
  }
}

window.symbiont = {
  ready,
  state: () => state,
  terminalText: () => {
    const b = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) {
      const line = b.getLine(i);
      const text = line?.translateToString(true) ?? "";
      if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text; else lines.push(text);
    }
    return lines.join("\n").replace(/\n+$/, "");
  },
  chartPoints: () => charts.points(),
  stats: () => lastStats,
  symbiotic: () => lastSymbiotic,
  screenText: () => (lastScreen ? screenLines(lastScreen) : null),
};
