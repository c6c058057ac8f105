// What the CLI prints for an error that ends a run (src/cli/args.ts describeError): the errors it reports on purpose
// in one line; a fault inside the emulator — a WebAssembly trap, a TypeError or ReferenceError — named as a bug in
// symbiont, with its stack, so that a report of it (a CI log) says where it happened.
import { describe, it, expect } from "vitest";
import { describeError } from "../../src/cli/args.js";

describe("the CLI's last words", () => {
  it("one line for an error it reports on purpose", () => {
    expect(describeError(new Error("disk.img: cannot open disk image"))).toBe("symbiont: disk.img: cannot open disk image\n");
    expect(describeError("plain")).toBe("symbiont: plain\n");
  });

  it("a WebAssembly trap or a TypeError: called a bug, with the stack", async () => {
    // A real trap: (module (memory 1) (func (export "f") (drop (i32.load (i32.const 65536))))) — a load past its page.
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 102, 0, 0, 10, 12, 1, 10, 0, 65, 128, 128, 4, 40, 2, 0, 26, 11]);
    const { instance } = await WebAssembly.instantiate(bytes);
    let trap: unknown = null;
    try { (instance.exports.f as () => void)(); } catch (e) { trap = e; }
    expect(trap).toBeInstanceOf(WebAssembly.RuntimeError);
    const text = describeError(trap);
    expect(text.split("\n")[0]).toBe(`symbiont: internal error (RuntimeError): ${(trap as Error).message} — a bug in symbiont; its stack:`);
    expect(text).toMatch(/\n\s+at .*cli-errors\.test\.ts/);
    expect(describeError(new TypeError("x is not a function")).split("\n")[0]).toBe("symbiont: internal error (TypeError): x is not a function — a bug in symbiont; its stack:");
  });
});
