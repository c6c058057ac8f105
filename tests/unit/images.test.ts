/**
 * apt source formats follow sources.list(5): one-line "deb [options] uri
 * suite component…" and deb822 stanzas (Types, URIs, Suites, Components,
 * Signed-By, Enabled). Kernel config lines follow Kconfig's .config format
 * ("CONFIG_X=v", "# CONFIG_X is not set").
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  debianMirrors, findCachedImages, kernelConfigSummary, parseDeb822Sources, parseKernelConfig, parseOneLineSources,
  privateAptOptions, privateSources,
} from "../../src/node/images.js";

describe("apt sources", () => {
  it("parses one-line sources.list entries", () => {
    const s = parseOneLineSources([
      "# comment",
      "deb http://mirror.example/debian bookworm main contrib",
      "deb-src http://mirror.example/debian bookworm main",
      "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://packages.example/apt cloud-sdk-bookworm main # trailing",
      "deb http://security.example/debian-security bookworm-security main",
      "",
    ].join("\n"));
    expect(s).toHaveLength(4);
    expect(s[0]).toEqual({ types: ["deb"], uris: ["http://mirror.example/debian"], suites: ["bookworm"], components: ["main", "contrib"], signedBy: undefined, enabled: true });
    expect(s[2]!.signedBy).toBe("/usr/share/keyrings/x.gpg");
    expect(s[2]!.suites).toEqual(["cloud-sdk-bookworm"]);
  });

  it("parses deb822 stanzas", () => {
    const s = parseDeb822Sources([
      "Types: deb",
      "# http://snapshot.example/archive/debian/20250520T000000Z",
      "URIs: http://mirror.example/debian",
      "Suites: bookworm bookworm-updates",
      "Components: main",
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      "",
      "Types: deb",
      "URIs: http://mirror.example/debian-security",
      "Suites: bookworm-security",
      "Components: main",
      "Enabled: no",
      "",
    ].join("\n"));
    expect(s).toHaveLength(2);
    expect(s[0]!.suites).toEqual(["bookworm", "bookworm-updates"]);
    expect(s[0]!.signedBy).toBe("/usr/share/keyrings/debian-archive-keyring.gpg");
    expect(s[1]!.enabled).toBe(false);
  });

  it("picks the system's Debian archive and security mirrors, ignoring third-party repositories", () => {
    const sources = [
      ...parseOneLineSources("deb https://deb.nodesource.example/node_20.x nodistro main\ndeb https://packages.example/apt cloud-sdk-bookworm main\n"),
      ...parseDeb822Sources("Types: deb\nURIs: http://m.example/debian\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /k.gpg\n\n" +
        "Types: deb\nURIs: http://s.example/debian-security\nSuites: trixie-security\nComponents: main\n"),
    ];
    const m = debianMirrors(sources);
    expect(m.archive!.uris).toEqual(["http://m.example/debian"]);
    expect(m.archive!.signedBy).toBe("/k.gpg");
    expect(m.security!.uris).toEqual(["http://s.example/debian-security"]);
    expect(debianMirrors(parseOneLineSources("deb http://archive.ubuntu.example/ubuntu jammy main\n"))).toEqual({ archive: undefined, security: undefined });
  });

  it("writes a private i386 bookworm sources file on the same mirrors", () => {
    const text = privateSources({ uri: "http://m.example/debian", signedBy: "/k.gpg" }, { uri: "http://s.example/debian-security" });
    const back = parseDeb822Sources(text);
    expect(back).toHaveLength(2);
    expect(back[0]).toMatchObject({ types: ["deb"], uris: ["http://m.example/debian"], suites: ["bookworm", "bookworm-updates"], components: ["main"], signedBy: "/k.gpg" });
    expect(back[1]).toMatchObject({ uris: ["http://s.example/debian-security"], suites: ["bookworm-security"] });
    expect(text).toMatch(/^Architectures: i386$/m);
    const opts = privateAptOptions("/x/apt").join(" ");
    for (const k of ["Dir::State=/x/apt/state", "Dir::Cache=/x/apt/cache", "Dir::Etc::sourcelist=/x/apt/etc/sources.list", "Dir::Etc::sourceparts=/x/apt/etc/sources.list.d", "APT::Architecture=i386"]) {
      expect(opts).toContain(k);
    }
  });
});

describe("kernel config and cache", () => {
  it("parses .config lines", () => {
    const c = parseKernelConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="text"\nCONFIG_D=0x1000000\n# comment\n');
    expect(Object.fromEntries(c)).toEqual({ CONFIG_A: "y", CONFIG_B: "n", CONFIG_C: "text", CONFIG_D: "0x1000000" });
  });

  it("finds a complete cache and nothing else", () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-cache-"));
    try {
      expect(findCachedImages(dir)).toBeNull();
      mkdirSync(join(dir, "linux-6.1.0-9-686"));
      mkdirSync(join(dir, "busybox-1"));
      writeFileSync(join(dir, "linux-6.1.0-9-686/vmlinuz"), "k");
      writeFileSync(join(dir, "linux-6.1.0-9-686/config"), "CONFIG_X86_PAE is not set\n");
      const manifest = {
        kernel: "linux-6.1.0-9-686/vmlinuz", busybox: "busybox-1/busybox", config: "linux-6.1.0-9-686/config",
        modules: "linux-6.1.0-9-686/lib/modules/6.1.0-9-686", version: "6.1.0-9-686", kernelPackage: "linux-image-6.1.0-9-686 6.1.1-1", busyboxPackage: "busybox-static 1:1.35.0-4",
      };
      writeFileSync(join(dir, "images.json"), JSON.stringify(manifest));
      expect(findCachedImages(dir)).toBeNull(); // busybox missing
      writeFileSync(join(dir, "busybox-1/busybox"), "b");
      expect(findCachedImages(dir)).toBeNull(); // modules (an older cache) missing
      mkdirSync(join(dir, manifest.modules), { recursive: true });
      expect(findCachedImages(dir)).toBeNull(); // no modules.dep
      writeFileSync(join(dir, manifest.modules, "modules.dep"), "");
      expect(findCachedImages(dir)).toEqual({
        kernel: join(dir, manifest.kernel), busybox: join(dir, manifest.busybox), config: join(dir, manifest.config),
        modules: join(dir, manifest.modules),
        version: "6.1.0-9-686", kernelPackage: manifest.kernelPackage, busyboxPackage: manifest.busyboxPackage, dir,
      });
      writeFileSync(join(dir, "images.json"), "{ not json");
      expect(findCachedImages(dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const cached = findCachedImages();

describe.skipIf(!cached)("Debian's 686 kernel config (cached by npm run images)", () => {
  it("has a serial console, initrd support and no PAE or FPU emulation", () => {
    const c = kernelConfigSummary(cached!.config);
    expect(c.CONFIG_SERIAL_8250_CONSOLE).toBe("y");
    expect(c.CONFIG_BLK_DEV_INITRD).toBe("y");
    expect(c.CONFIG_RD_GZIP).toBe("y");
    expect(c.CONFIG_DEVTMPFS).toBe("y");
    expect(c.CONFIG_BINFMT_SCRIPT).toBe("y");
    expect(["n", "absent"]).toContain(c.CONFIG_X86_PAE);
    expect(["n", "absent"]).toContain(c.CONFIG_MATH_EMULATION);
  });
});
