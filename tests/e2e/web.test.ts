// End-to-end tests of the web page (web/) in a real browser: Debian's
// headless Chromium driven by playwright-core. The production build is
// served as plain static files (it must work without the dev server); the
// dev server is used for what only it offers (the cached Debian images).
//
// Covers: the demo kernel boots on both engines and its output appears in
// the xterm.js terminal; keystrokes reach the guest through COM1 and come
// back (the interactive echo kernel, web/guests/echo.asm); the live charts
// get points; pause, resume and reset; a disk image from the picker is
// selected (not booted), attached and saved back byte for byte; Save state and Restore state take the echo kernel
// back to the saved instant (its line buffer); the VMM monitor's line (info pci, stop and cont, pmemsave's download
// against the kernel's file); a disk booted by SeaBIOS with the VGA draws
// SeaBIOS's banner on the page's screen and takes keys typed on it (PS/2); a kernel's mode 13h picture is drawn on
// the page's canvas; and, when
// `npm run images` has cached Debian's kernel and busybox, Linux boots to the
// shell with a blank disk, runs `echo hi`, makes an ext2 file system on
// /dev/vda and writes a file, and the disk saved from the page is checked with
// Debian's e2fsck and debugfs on the host (and, with symbiotic.ko built, the
// page shows the guest's running task and memory figures from SymSpy, checked
// against the guest's /proc/meminfo). Takes a screenshot of the page: into
// docs/screenshot.png (the README's) with SYMBIONT_UPDATE_SCREENSHOT=1, else into
// the system's temporary directory, so that a test run leaves the checkout as it was.
//
// Skipped, with the reason, when /usr/bin/chromium (Debian package
// "chromium") is absent; CI installs it and sets SYMBIONT_REQUIRE_BROWSER=1,
// which turns a missing browser into a failure.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { CHROMIUM, REPO, buildWeb, serveStatic, startDevServer, launchChromium, type Running } from "./servers.js";
import { findCachedImages } from "../../src/node/images.js";
import { findBuiltModule } from "../../src/node/symbiotic-module.js";
import { findSeabios } from "../../src/node/firmware.js";
import { busyboxInitramfs } from "../../src/boot/initramfs.js";
import { cachedModules } from "../../src/node/images.js";
import { driverModules } from "../../src/boot/kmod.js";

const haveChromium = existsSync(CHROMIUM);
const images = findCachedImages();
const seabios = findSeabios();
/** With symbiotic.ko built (npm run module), the dev server's Debian guest loads it and the page shows SymSpy. */
const symbiotic = findBuiltModule(images) !== null;
const SCREENSHOT = process.env.SYMBIONT_UPDATE_SCREENSHOT ? join(REPO, "docs/screenshot.png") : join(tmpdir(), "symbiont-screenshot.png");
/** Debian's e2fsprogs: the oracle for the disk the page saves (CI installs it). */
const e2fsck = ["/usr/sbin/e2fsck", "/sbin/e2fsck"].find((p) => spawnSync(p, ["-V"]).status === 0);
const debugfs = ["/usr/sbin/debugfs", "/sbin/debugfs"].find((p) => spawnSync(p, ["-V"]).status === 0);

if (!haveChromium && process.env.SYMBIONT_REQUIRE_BROWSER) {
  describe("web page", () => { it(`needs Chromium at ${CHROMIUM} (apt-get install chromium)`, () => { expect(haveChromium).toBe(true); }); });
}

/** Text of the page's terminal (xterm.js buffer, wrapped lines joined). */
function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => window.symbiont.terminalText());
}

async function waitForTerminal(page: Page, text: string, timeoutMs: number): Promise<void> {
  try {
    await page.waitForFunction((t) => window.symbiont.terminalText().includes(t), text, { timeout: timeoutMs, polling: 100 });
  } catch (e) {
    const state = await page.evaluate(() => `${window.symbiont.state()}: ${document.getElementById("detail")?.textContent}`);
    throw new Error(`"${text}" did not appear in the terminal within ${timeoutMs} ms (${state}); terminal:\n${(await terminalText(page)).slice(-2000)}`, { cause: e });
  }
}

async function waitForState(page: Page, state: string, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction((s) => window.symbiont.state() === s, state, { timeout: timeoutMs, polling: 50 });
}

/** Open the page, failing the test on any uncaught error in the page or the worker. */
async function openPage(context: BrowserContext, url: string, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console error: ${m.text()}`); });
  page.on("worker", (w) => w.on("console", (m) => { if (m.type() === "error") errors.push(`worker console error: ${m.text()}`); }));
  await page.goto(url);
  await page.evaluate(() => window.symbiont.ready);
  // A reload (e.g. the dev server re-optimizing dependencies) would silently lose the running guest.
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) errors.push(`the page reloaded (${f.url()})`); });
  return page;
}

async function boot(page: Page, guest: string, engine: "wasm" | "js", memMiB = 128, paging = "direct"): Promise<void> {
  await page.selectOption("#guest", guest);
  await page.selectOption("#engine", engine);
  await page.selectOption("#mem", String(memMiB));
  await page.selectOption("#paging", paging);
  await page.click("#start");
}

describe.skipIf(!haveChromium)(`web page in headless Chromium${haveChromium ? "" : ` (skipped: no ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let dist = "";
  let server: Running;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  const errors: string[] = [];
  /** Files the tests write (a disk image to pick, disks the page saves). */
  const scratch = mkdtempSync(join(tmpdir(), "symbiont-web-disks-"));

  beforeAll(async () => {
    dist = await buildWeb();
    server = await serveStatic(dist);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("static build: boots the demo kernel on the Wasm engine and shows its output in the terminal", async () => {
    const page = await openPage(browser.context, server.url, errors);
    // The static build has no image server, so no Debian option.
    expect(await page.locator("#guest option[value=debian]").count()).toBe(0);
    await boot(page, "demo", "wasm");
    await waitForTerminal(page, "Hello from the Symbiont demo guest!", 30_000);
    await waitForTerminal(page, "sum of the first 100000 odd numbers (low 32 bits): 0x540be400", 30_000);
    await waitForTerminal(page, "This guest ran on the Symbiont x86 core.", 30_000);
    await waitForState(page, "stopped");
    expect(await page.textContent("#detail")).toContain("isa-debug-exit");
    const stats = await page.evaluate(() => window.symbiont.stats());
    expect(stats!.instructions).toBeGreaterThan(200_000);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: the JS engine gives the same output", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await boot(page, "demo", "js", 32);
    await waitForTerminal(page, "0x540be400", 60_000);
    await waitForState(page, "stopped");
    expect(await page.textContent("#log")).toContain("js engine");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: under shadow paging the demo kernel prints the same, and the page shows the shadow pager's counters", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await boot(page, "demo", "wasm", 32, "shadow");
    await waitForTerminal(page, "0x540be400", 60_000);
    await waitForState(page, "stopped");
    expect(await page.textContent("#log")).toContain("shadow paging");
    const stats = await page.evaluate(() => window.symbiont.stats());
    expect(stats!.paging.mode).toBe("shadow");
    expect(Number(stats!.paging.hiddenFaults)).toBeGreaterThan(0); // every page the guest touches is filled once
    expect(await page.textContent("#summary")).toMatch(/paging shadow\s+hidden faults \d/);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: keystrokes reach the echo kernel and come back; charts update; pause, resume, reset", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await boot(page, "echo", "wasm");
    await waitForTerminal(page, "Symbiont echo guest", 30_000);
    await waitForTerminal(page, "> ", 30_000);
    await page.click("#terminal");
    await page.keyboard.type("hello from chromium");
    // Each byte is echoed by the guest's interrupt handler (there is no local echo).
    await waitForTerminal(page, "> hello from chromium", 30_000);
    await page.keyboard.press("Enter");
    await waitForTerminal(page, "echo: hello from chromium", 30_000);

    // Stats arrive about ten times a second: every chart gets points, and the exits seen are the UART's.
    await page.waitForFunction(() => window.symbiont.chartPoints().mips >= 10, null, { timeout: 30_000, polling: 100 });
    const points = await page.evaluate(() => window.symbiont.chartPoints());
    expect(points.exits).toBeGreaterThanOrEqual(10);
    expect(points.tlb).toBeGreaterThanOrEqual(10);
    expect(points.tcache).toBeGreaterThanOrEqual(10);
    expect(points.exitReasons).toEqual(expect.arrayContaining(["io-in", "io-out", "hlt"]));
    // uPlot drew its series paths.
    expect(await page.locator("#chart-mips canvas").count()).toBe(1);

    await page.click("#pause");
    await waitForState(page, "paused");
    const frozen = await page.evaluate(() => window.symbiont.chartPoints().mips);
    await page.click("#terminal");
    await page.keyboard.type("x"); // queued in the worker while paused
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => window.symbiont.chartPoints().mips)).toBe(frozen);
    expect(await terminalText(page)).not.toContain("> x");
    await page.click("#pause"); // now "Resume"
    await waitForState(page, "running");
    await waitForTerminal(page, "> x", 10_000);

    await page.click("#reset");
    await page.waitForFunction(() => window.symbiont.terminalText().startsWith("Symbiont echo guest"), null, { timeout: 30_000 });
    await page.click("#terminal");
    await page.keyboard.type("again\r");
    await waitForTerminal(page, "echo: again", 30_000);
    await page.waitForFunction(() => window.symbiont.chartPoints().mips >= 5, null, { timeout: 30_000, polling: 100 });

    if (!images) {
      await page.screenshot({ path: SCREENSHOT });
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: Save state downloads the machine, Restore state takes the echo kernel back to that instant", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await boot(page, "echo", "wasm");
    await waitForTerminal(page, "> ", 30_000);
    await page.click("#terminal");
    await page.keyboard.type("first-");
    await waitForTerminal(page, "> first-", 30_000);
    // Saved with "first-" in the guest's line buffer; a line typed and echoed after it; then the saved machine back:
    // the next line the guest echoes is what it held at the save plus what comes now.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save-state")]);
    expect(download.suggestedFilename()).toBe("symbiont.snap");
    const snap = join(scratch, "echo.snap");
    await download.saveAs(snap);
    expect(readFileSync(snap).subarray(0, 17).toString("latin1")).toBe("SYMBIONT-SNAPSHOT");
    await page.click("#terminal");
    await page.keyboard.type("later\r");
    await waitForTerminal(page, "echo: first-later", 30_000);
    await page.setInputFiles("#state-file", snap);
    await page.waitForFunction(() => (document.getElementById("log")?.textContent ?? "").includes("the machine is now as saved in echo.snap"), null, { timeout: 30_000 });
    await page.click("#terminal");
    await page.keyboard.type("again\r");
    await waitForTerminal(page, "echo: first-again", 30_000);
    // A machine the snapshot does not fit is left as it is, the log saying why.
    await boot(page, "echo", "wasm", 64);
    await waitForTerminal(page, "Symbiont echo guest", 30_000);
    await page.setInputFiles("#state-file", snap);
    await page.waitForFunction(() => (document.getElementById("log")?.textContent ?? "").includes("Restore state: echo.snap: snapshot: its machine's RAM (--mem) is 134217728, this one's 67108864"), null, { timeout: 30_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: the VMM monitor answers under the terminal; stop and cont pause and resume; a file it writes is downloaded", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await boot(page, "echo", "wasm");
    await waitForTerminal(page, "> ", 30_000);
    /** Type a command on the monitor line; what it answered. */
    const monitor = async (command: string) => {
      const before = (await page.textContent("#monitor-output")) ?? "";
      await page.fill("#monitor-input", command);
      await page.press("#monitor-input", "Enter");
      await page.waitForFunction((n) => (document.getElementById("monitor-output")?.textContent ?? "").length > n, before.length, { timeout: 10_000 });
      const all = (await page.textContent("#monitor-output")) ?? "";
      expect(all.slice(before.length).startsWith(`(monitor) ${command}\n`)).toBe(true);
      return all.slice(before.length + `(monitor) ${command}\n`.length);
    };
    // The chipset's IDs (Intel's 82441FX and PIIX3 datasheets).
    const pci = await monitor("info pci");
    expect(pci).toContain("    Host bridge: PCI device 8086:1237");
    expect(pci).toContain("    ISA bridge: PCI device 8086:7000");
    expect(await monitor("info registers")).toMatch(/^EAX=[0-9a-f]{8} EBX=[0-9a-f]{8} ECX=[0-9a-f]{8} EDX=[0-9a-f]{8}$/m);
    // stop is the page's Pause: typed input waits; cont lets it in.
    expect(await monitor("stop")).toBe("guest paused (cont resumes)\n");
    await waitForState(page, "paused");
    await page.click("#terminal");
    await page.keyboard.type("y");
    await page.waitForTimeout(500);
    expect(await terminalText(page)).not.toContain("> y");
    expect(await monitor("cont")).toBe("guest running\n");
    await waitForState(page, "running");
    await waitForTerminal(page, "> y", 10_000);
    // pmemsave's file is a download: the kernel's first bytes where its Multiboot header loads it (1 MiB, echo.asm's org).
    const [download] = await Promise.all([page.waitForEvent("download"), monitor("pmemsave 0x100000 64 echo-head.bin")]);
    expect(download.suggestedFilename()).toBe("echo-head.bin");
    const saved = join(scratch, "echo-head.bin");
    await download.saveAs(saved);
    expect(readFileSync(saved)).toEqual(readFileSync(join(REPO, "web/guests/echo.bin")).subarray(0, 64));
    // Up recalls the last command.
    await page.focus("#monitor-input");
    await page.keyboard.press("ArrowUp");
    expect(await page.inputValue("#monitor-input")).toBe("pmemsave 0x100000 64 echo-head.bin");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: a kernel from the file picker boots at once", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await page.setInputFiles("#file", join(REPO, "web/guests/echo.bin"));
    await waitForTerminal(page, "Symbiont echo guest", 30_000);
    expect(await page.inputValue("#guest")).toBe("files");
    expect(await page.textContent("#guest option[value=files]")).toContain("echo.bin");
    await page.click("#terminal");
    await page.keyboard.type("picked\r");
    await waitForTerminal(page, "echo: picked", 30_000);
    await page.keyboard.press("Control+D"); // the echo kernel writes 0 to isa-debug-exit
    await waitForState(page, "stopped");
    expect(await page.textContent("#detail")).toContain("exit status 1");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  // The static build's network: served from a plain static server it has no relay (the Network box stays off), and
  // with ?relay= naming a `symbiont relay` started for its origin the guest gets the user network through it —
  // Debian's kernel and an initramfs of this test's (busybox, virtio-net's modules) from the file picker take
  // their address by DHCP and fetch a file from an HTTP server this test runs on the host's 127.0.0.1, whose random
  // contents the guest must print. A relay started for another origin refuses the page, which says so.
  it.skipIf(!images)(`static build: ?relay= names a symbiont relay, through which Linux from the file picker takes DHCP and reaches a server on the host${images ? "" : " (skipped: images not cached; npm run images)"}`, async () => {
    const token = randomBytes(12).toString("hex");
    const http = createServer((req, res) => { res.end(req.url === "/token" ? `token ${token}\n` : "no\n"); });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    const httpPort = (http.address() as { port: number }).port;
    const origin = new URL(server.url).origin;
    const relays = [origin, "https://elsewhere.example"].map((o) => {
      const child = spawn(process.execPath, [join(REPO, "bin/symbiont.js"), "relay", "--origin", o, "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
      const r = { child, err: "", url: new Promise<string>((resolve) => {
        child.stderr!.on("data", (d: Buffer) => {
          r.err += d.toString();
          const m = / at (ws:\/\/\S+) \(Ctrl-C ends it\)/.exec(r.err);
          if (m) resolve(m[1]!);
        });
      }) };
      return r;
    });
    try {
      const [ours, theirs] = [await relays[0]!.url, await relays[1]!.url];
      const plain = await openPage(browser.context, server.url, errors);
      expect(await plain.isDisabled("#net")).toBe(true);
      await plain.close();

      const refusedErrors: string[] = [];
      const refused = await openPage(browser.context, `${server.url}?relay=${encodeURIComponent(theirs)}`, refusedErrors);
      await refused.check("#net");
      await refused.setInputFiles("#file", join(REPO, "web/guests/echo.bin"));
      await waitForState(refused, "error", 30_000);
      expect(await refused.textContent("#detail")).toContain(`the network relay at ${theirs} (the dev server's, npm run web; or symbiont relay --origin ${origin}) cannot be reached, or does not take this page's origin`);
      expect(relays[1]!.err).toMatch(new RegExp(`refused a page of ${origin.replace(/[.:/]/g, "\\$&")} \\(from 127\\.0\\.0\\.1:\\d+\\): not an --origin`));
      expect(refusedErrors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]); // (the browser's own line for the 403)
      await refused.close();

      const page = await openPage(browser.context, `${server.url}?relay=${encodeURIComponent(ours)}`, errors);
      expect(await page.isDisabled("#net")).toBe(false);
      await page.check("#net");
      const kernel = join(scratch, "vmlinuz"), initrd = join(scratch, "initrd.cpio");
      writeFileSync(kernel, readFileSync(images!.kernel));
      writeFileSync(initrd, busyboxInitramfs({
        busybox: new Uint8Array(readFileSync(images!.busybox)),
        modules: cachedModules(images!, driverModules(["virtio-net"])),
        run: `ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; wget -q -O - http://10.0.2.2:${httpPort}/token; echo WGET-DONE`,
      }));
      await page.setInputFiles("#file", [kernel, initrd]);
      await waitForTerminal(page, "WGET-DONE", 20 * 60_000);
      const text = await terminalText(page);
      expect(text).toContain("inet 10.0.2.15/24\n"); // the DHCP lease the router reserves for the first VM
      expect(text).toContain(`\ntoken ${token}\n`);
      expect(await page.textContent("#log")).toContain(`network: virtio-net on the user network (10.0.2.15 by DHCP, 10.0.2.2 the host), through the relay at ${ours}`);
      expect(relays[0]!.err).toMatch(new RegExp(`a page of ${origin.replace(/[.:/]/g, "\\$&")} connected`));
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      for (const r of relays) r.child.kill("SIGINT");
      http.close();
    }
  }, 30 * 60_000);

  // A graphics mode on the page's canvas: tests/kernels/vgagfx.asm sets mode 13h without a BIOS and fills it with a
  // pattern through a palette whose formulas its source gives (the oracle here; tests/unit/vga-graphics.test.ts
  // checks the same pictures against QEMU's). The canvas shows 320×200, each pixel the DAC's 6-bit colour.
  it("static build: with the VGA, a kernel's mode 13h picture is drawn on the canvas", async () => {
    const page = await openPage(browser.context, server.url, errors);
    await page.check("#vga");
    await page.setInputFiles("#file", join(REPO, "tests/kernels/bin/vgagfx.elf"));
    await waitForTerminal(page, "READY mode13h", 30_000);
    await page.waitForFunction(() => !(document.getElementById("screen-pixels") as HTMLCanvasElement).hidden, null, { timeout: 10_000, polling: 100 });
    const picture = await page.evaluate(() => {
      const c = document.getElementById("screen-pixels") as HTMLCanvasElement;
      return { width: c.width, height: c.height, data: Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data) };
    });
    expect([picture.width, picture.height]).toEqual([320, 200]);
    const dac = (i: number) => [i & 63, i >> 2, (i * 7 + 13) & 63];
    const wrong: string[] = [];
    for (let y = 0; y < 200 && wrong.length < 5; y++) {
      for (let x = 0; x < 320 && wrong.length < 5; x++) {
        const want = dac((x + 3 * y + ((x * y) >> 6)) & 255), o = (y * 320 + x) * 4;
        const got = [picture.data[o]! >> 2, picture.data[o + 1]! >> 2, picture.data[o + 2]! >> 2];
        if (got.join() !== want.join()) wrong.push(`(${x}, ${y}): ${got} for ${want}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("static build: a disk image from the picker is selected, not booted; the guest gets it and Save disk gives it back", async () => {
    const picked = join(scratch, "picked.img");
    const image = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
    writeFileSync(picked, image);
    const page = await openPage(browser.context, server.url, errors);
    expect(await page.isDisabled("#save-disk")).toBe(true);
    await page.setInputFiles("#disk-file", picked);
    expect(await page.inputValue("#disk")).toBe("image");
    expect(await page.textContent("#disk option[value=image]")).toBe("image: picked.img (1.0 MiB)");
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => window.symbiont.state())).toBe("idle"); // picking a disk does not start a guest
    await boot(page, "demo", "wasm", 32);
    await waitForState(page, "stopped");
    expect(await page.textContent("#log")).toContain("disk: picked.img, 1.0 MiB, as virtio-blk (/dev/vda in Linux)");
    // The disk outlives the stopped machine: its bytes (untouched by the demo kernel) are the file's.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save-disk")]);
    expect(download.suggestedFilename()).toBe("picked.img");
    const saved = join(scratch, "saved-picked.img");
    await download.saveAs(saved);
    expect(Buffer.compare(readFileSync(saved), image)).toBe(0);
    // Reset restarts the machine with the same disk object (a new Start would make a new one).
    await page.click("#reset");
    await page.waitForFunction(() => (document.getElementById("log")?.textContent ?? "").includes("kept from before the reset"), null, { timeout: 30_000 });
    await waitForState(page, "stopped");
    expect(await page.isDisabled("#save-disk")).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  describe("dev server (npm run web)", () => {
    let dev: Running;
    beforeAll(async () => { dev = await startDevServer(); }, 120_000);
    afterAll(async () => { await dev?.close(); });

    it("serves the page from src/ and boots the demo kernel", async () => {
      const page = await openPage(browser.context, dev.url, errors);
      expect(await page.locator("#guest option[value=debian]").count()).toBe(images ? 1 : 0);
      await boot(page, "demo", "wasm");
      await waitForTerminal(page, "0x540be400", 60_000);
      await waitForState(page, "stopped");
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);

    it.skipIf(!images)(`serves the cached kernel's modules for driver kinds${images ? "" : " (skipped: images not cached)"}`, async () => {
      const r = await fetch(`${dev.url}symbiont-images/modules.json?drivers=virtio-blk,ext4`);
      expect(r.status).toBe(200);
      const m = (await r.json()) as import("../../web/src/protocol.js").ModulesJson;
      expect(m.release).toBe(images!.version);
      const paths = m.files.map((f) => f.path);
      // Debian's package paths; virtio_blk after what it needs (virtio, virtio_ring), ext4 after jbd2 and mbcache.
      const at = (name: string) => paths.findIndex((p) => p.endsWith(`/${name}.ko`));
      for (const name of ["virtio", "virtio_ring", "virtio_pci", "virtio_blk", "jbd2", "mbcache", "crc32c_generic", "ext4"]) expect(at(name), name).toBeGreaterThanOrEqual(0);
      expect(at("virtio_ring")).toBeLessThan(at("virtio_blk"));
      expect(at("jbd2")).toBeLessThan(at("ext4"));
      for (const f of m.files) expect(Buffer.compare(Buffer.from(f.base64, "base64"), readFileSync(join(images!.modules, f.path))), f.path).toBe(0);
      expect(m.modulesDep).toMatch(/^kernel\/drivers\/block\/virtio_blk\.ko: /m);
      const bad = await fetch(`${dev.url}symbiont-images/modules.json?drivers=virtio-blk,floppy`);
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(/^unknown driver kind floppy \(drivers=KIND,… with KIND one of .*virtio-blk.*\)\n$/);
      expect((await fetch(`${dev.url}symbiont-images/modules.json`)).status).toBe(400);
    }, 60_000);

    // A disk booted by SeaBIOS in the page: the boot sector of tests/unit/seabios-boot.test.ts (QEMU's output there
    // is the oracle for these lines) asks the BIOS about its drive and reads and writes it; SeaBIOS's serial
    // console puts its banner in the terminal.
    it.skipIf(!images || !seabios)(`boots a disk image through SeaBIOS${!images || !seabios ? " (skipped: images or SeaBIOS not cached; npm run images)" : ""}`, async () => {
      const page = await openPage(browser.context, dev.url, errors);
      expect(await page.textContent("#guest option[value=firmware]")).toBe("Your disk, booted by SeaBIOS");
      const picked = join(scratch, "bootdisk.img");
      const disk = new Uint8Array(1 << 20);
      disk.set(readFileSync(join(REPO, "tests/disks/bin/bootdisk.img")));
      writeFileSync(picked, disk);
      await page.setInputFiles("#disk-file", picked);
      await boot(page, "firmware", "wasm", 128);
      await waitForTerminal(page, "BOOTDISK-DONE", 120_000);
      const text = await terminalText(page);
      expect(text).toMatch(/SeaBIOS \(version [^)]+\)\n/);
      expect(text).toContain("read 00 00 sector 1 says hello\n");
      expect(text).toContain("back 00 00 FF00 \n"); // the sector it wrote, read back: 0…255 twice
      expect(await page.textContent("#log")).toContain("SeaBIOS: 256.0 KiB BIOS from its reset vector, booting the disk");
      expect(errors).toEqual([]);
      await page.close();
    }, 180_000);

    // The same with the page's VGA: SeaBIOS's VGA BIOS (served by the dev server) draws the banner on the page's screen
    // (tests/unit/seabios-boot.test.ts checks that screen against QEMU's), and keys typed on the screen go to the PS/2
    // keyboard: the key disk prints the PC/AT scan code and character INT 16h returns (1E61 for a, 1071 for q).
    it.skipIf(!images || !seabios)(`boots a disk through SeaBIOS with the VGA: the banner on the screen, keys typed on it reach INT 16h${!images || !seabios ? " (skipped: images or SeaBIOS not cached; npm run images)" : ""}`, async () => {
      const page = await openPage(browser.context, dev.url, errors);
      const picked = join(scratch, "keydisk.img");
      const disk = new Uint8Array(1 << 20);
      disk.set(readFileSync(join(REPO, "tests/disks/bin/keydisk.img")));
      writeFileSync(picked, disk);
      await page.setInputFiles("#disk-file", picked);
      await page.check("#vga");
      await boot(page, "firmware", "wasm", 128);
      await waitForTerminal(page, "KEYS?", 120_000);
      await page.waitForFunction(() => window.symbiont.screenText()?.[1] === "Booting from Hard Disk...", null, { timeout: 30_000, polling: 100 });
      expect((await page.evaluate(() => window.symbiont.screenText()))![0]).toMatch(/^SeaBIOS \(version [^)]+\)$/);
      await page.click("#screen");
      await page.keyboard.press("a");
      await page.keyboard.press("q");
      await waitForTerminal(page, "KEYDISK-DONE", 30_000);
      expect(await terminalText(page)).toContain("key 1E61\nkey 1071\nKEYDISK-DONE");
      expect(errors).toEqual([]);
      await page.close();
    }, 180_000);

    // The user network in a page: the guest's virtio-net card on the router the worker runs, whose sockets are the dev
    // server's (its relay, over a WebSocket). The guest takes its address by DHCP and fetches a file from an HTTP
    // server this test runs on the host's 127.0.0.1 — 10.0.2.2 to the guest — whose random contents it must print.
    it.skipIf(!images)(`boots Debian with the Network box: DHCP, then wget reaches a server on the host through the dev server's relay${images ? "" : " (skipped: images not cached; npm run images)"}`, async () => {
      const token = randomBytes(12).toString("hex");
      const http = createServer((req, res) => { res.end(req.url === "/token" ? `token ${token}\n` : "no\n"); });
      await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
      const port = (http.address() as { port: number }).port;
      try {
        const page = await openPage(browser.context, dev.url, errors);
        expect(await page.isDisabled("#net")).toBe(false);
        await page.check("#net");
        await boot(page, "debian", "wasm", 128);
        await waitForTerminal(page, "SYMBIONT-INIT-OK", 20 * 60_000);
        await page.waitForTimeout(1000); // the shell prints its prompt
        await page.click("#terminal");
        await page.keyboard.type(`ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; wget -q -O - http://10.0.2.2:${port}/token; echo WGET-DONE\r`);
        await page.waitForFunction(() => /\nWGET-DONE\n/.test(window.symbiont.terminalText()), null, { timeout: 5 * 60_000, polling: 200 });
        const text = await terminalText(page);
        expect(text).toContain("inet 10.0.2.15/24\n"); // the DHCP lease the router reserves for the first VM
        expect(text).toContain(`\ntoken ${token}\n`);
        expect(await page.textContent("#log")).toContain("network: virtio-net on the user network");
        expect(errors).toEqual([]);
        await page.close();
      } finally {
        http.close();
      }
    }, 30 * 60_000);

    /** The disk the Debian test saved from the page (for the host check after it). */
    let savedDisk: string | null = null;
    const DISK_TEXT = "written on a disk in a browser tab";

    it.skipIf(!images)(`boots Debian Linux${images ? ` ${images.version}` : " (skipped: images not cached; npm run images)"} with a blank disk to the busybox shell, runs echo hi, writes a file system and saves the disk`, async () => {
      const page = await openPage(browser.context, dev.url, errors);
      await page.selectOption("#disk", "blank16");
      await boot(page, "debian", "wasm", 128);
      await waitForTerminal(page, "Linux version", 120_000);
      await waitForTerminal(page, "SYMBIONT-INIT-OK", 20 * 60_000);
      await page.waitForTimeout(1000); // the shell prints its prompt
      await page.click("#terminal");
      await page.keyboard.type("echo hi; echo $((6 * 7))\r");
      // The shell expands $((6 * 7)): "42" on a line of its own comes from the guest, not from the echo of the typed line.
      await page.waitForFunction(() => /\nhi\n42\n/.test(window.symbiont.terminalText()), null, { timeout: 5 * 60_000, polling: 200 });
      await page.waitForFunction(() => window.symbiont.chartPoints().mips >= 10, null, { timeout: 30_000, polling: 100 });
      if (symbiotic) {
        expect(await page.textContent("#guest option[value=debian]")).toContain("(symbiotic)");
        // The guest's own figure, and the one the page shows from SymSpy (read by the worker without an exit).
        await page.keyboard.type("grep MemTotal /proc/meminfo\r");
        await page.waitForFunction(() => /\nMemTotal:\s+\d+ kB\n/.test(window.symbiont.terminalText()), null, { timeout: 5 * 60_000, polling: 200 });
        const memTotal = Number(/\nMemTotal:\s+(\d+) kB\n/.exec(await terminalText(page))![1]);
        await page.waitForFunction(() => window.symbiont.symbiotic()?.memory?.memTotalKiB !== undefined, null, { timeout: 60_000, polling: 200 });
        expect((await page.evaluate(() => window.symbiont.symbiotic()))!.memory!.memTotalKiB).toBe(memTotal);
        expect(await page.textContent("#summary")).toMatch(/guest \(SymSpy\) {3}running pid \d+ .*\n {2}memory [\d.]+ MiB free of [\d.]+/);
      }
      const log = await page.textContent("#log");
      expect(log).toContain("disk: blank 16 MiB disk, 16.0 MiB, as virtio-blk (/dev/vda in Linux)");
      expect(log).toMatch(/initramfs: .*virtio_blk\.ko.*ext4\.ko.* for virtio-blk, ext4/);
      // /init loaded the drivers: the guest makes a file system on its disk and writes a file.
      await page.keyboard.type(`mke2fs -q /dev/vda && mount -t ext2 /dev/vda /mnt && echo '${DISK_TEXT}' > /mnt/hello.txt && umount /mnt && echo DISK-DONE\r`);
      await page.waitForFunction(() => /\nDISK-DONE\n/.test(window.symbiont.terminalText()), null, { timeout: 5 * 60_000, polling: 200 });
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save-disk")]);
      expect(download.suggestedFilename()).toBe("blank.img");
      const saved = join(scratch, "blank.img");
      await download.saveAs(saved);
      expect(statSync(saved).size).toBe(16 << 20);
      savedDisk = saved;
      await page.screenshot({ path: SCREENSHOT });
      expect(errors).toEqual([]);
      await page.close();
    }, 30 * 60_000);

    it.skipIf(!images || !e2fsck || !debugfs)(`the disk saved from the page is an ext2 file system Debian's e2fsck and debugfs read${!images ? " (skipped: images not cached)" : !e2fsck || !debugfs ? " (skipped: no e2fsprogs; apt-get install e2fsprogs)" : ""}`, () => {
      expect(savedDisk, "the Debian test saved no disk").not.toBeNull();
      const fsck = spawnSync(e2fsck!, ["-fn", savedDisk!], { encoding: "utf8" });
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
      const cat = spawnSync(debugfs!, ["-R", "cat /hello.txt", savedDisk!], { encoding: "utf8" });
      expect(cat.stdout).toBe(`${DISK_TEXT}\n`);
    });
  });
});
