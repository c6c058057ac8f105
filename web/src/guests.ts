/**
 * Which of the user's files is the kernel, and how to load it.
 *
 * @module
 */
import { isBzImage } from "../../src/boot/linux.js";
import { isMultiboot, type MultibootModule } from "../../src/boot/multiboot.js";
import { concatInitrds } from "../../src/boot/initramfs.js";

/** A guest ready to load: bytes in memory, kept for resets. */
export type Loadable =
  | { kind: "kernel"; name: string; image: Uint8Array; modules: MultibootModule[] }
  | { kind: "linux"; name: string; kernel: Uint8Array; initrd?: Uint8Array }
  /** A BIOS ROM: the machine starts at its reset vector and it boots the disk. */
  | { kind: "firmware"; name: string; rom: Uint8Array; vgaBios?: Uint8Array };

/**
 * Which file is the kernel: a bzImage (the others are concatenated into its
 * initrd), else a Multiboot kernel (the others are its modules), else one
 * flat binary.
 */
export function classifyFiles(files: { name: string; bytes: Uint8Array }[]): Loadable {
  if (files.length === 0) throw new Error("no files");
  const bz = files.find((f) => isBzImage(f.bytes));
  if (bz) {
    const rest = files.filter((f) => f !== bz);
    return { kind: "linux", name: bz.name, kernel: bz.bytes, initrd: rest.length ? concatInitrds(rest.map((f) => f.bytes)) : undefined };
  }
  const mb = files.find((f) => isMultiboot(f.bytes));
  if (mb) {
    const modules = files.filter((f) => f !== mb).map((f) => ({ data: f.bytes, cmdline: f.name }));
    return { kind: "kernel", name: mb.name, image: mb.bytes, modules };
  }
  if (files.length > 1) throw new Error(`none of ${files.map((f) => f.name).join(", ")} is a bzImage or a Multiboot kernel`);
  return { kind: "kernel", name: files[0]!.name, image: files[0]!.bytes, modules: [] };
}
