/**
 * The GDB remote serial protocol's framing (GDB manual, "Remote Protocol"): packets
 * `$data#cc` with a modulo-256 checksum, `+`/`-` acknowledgements (until QStartNoAckMode), and a
 * bare 0x03 byte for an interrupt (Ctrl-C). Transport-free: bytes in, packets and interrupts out.
 *
 * @module
 */

/** What the reader found in the byte stream. */
export type GdbInput = { kind: "packet"; data: string } | { kind: "interrupt" } | { kind: "nak" };

/** Split a byte stream into packets, checking each checksum; bad ones are reported as nak (the caller asks again). */
export class PacketReader {
  private state: "idle" | "data" | "sum1" | "sum2" = "idle";
  private data: number[] = [];
  private sum = "";

  /** Feed bytes; `emit` gets each packet (its checksum good), interrupt and nak in order. `badSum` is called for a corrupt packet. */
  feed(bytes: Uint8Array, emit: (input: GdbInput) => void, badSum: () => void): void {
    for (const b of bytes) {
      switch (this.state) {
        case "idle":
          if (b === 0x24) { this.state = "data"; this.data = []; } // $
          else if (b === 0x03) emit({ kind: "interrupt" });
          else if (b === 0x2d) emit({ kind: "nak" }); // - : resend
          break; // (+ and anything else between packets)
        case "data":
          if (b === 0x23) { this.state = "sum1"; this.sum = ""; } // #
          else this.data.push(b);
          break;
        case "sum1":
          this.sum = String.fromCharCode(b); this.state = "sum2";
          break;
        case "sum2": {
          this.sum += String.fromCharCode(b); this.state = "idle";
          if (parseInt(this.sum, 16) !== checksum(this.data)) { badSum(); break; }
          emit({ kind: "packet", data: unescape(this.data) });
          break;
        }
      }
    }
  }
}

function checksum(bytes: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s + bytes[i]!) & 0xff;
  return s;
}

/** `}` escapes the next byte (XOR 0x20); the data is binary only in X packets, which the stub does not take. */
function unescape(bytes: number[]): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += String.fromCharCode(b === 0x7d && i + 1 < bytes.length ? bytes[++i]! ^ 0x20 : b);
  }
  return out;
}

/** A packet for `data` (ASCII: the stub's replies are hex, XML and status words), escaped and checksummed. */
export function framePacket(data: string): string {
  let body = "";
  for (const c of data) body += c === "$" || c === "#" || c === "}" || c === "*" ? `}${String.fromCharCode(c.charCodeAt(0) ^ 0x20)}` : c;
  const codes = Array.from(body, (c) => c.charCodeAt(0));
  return `$${body}#${checksum(codes).toString(16).padStart(2, "0")}`;
}

/** Little-endian hex of `bytes` bytes of v (the protocol's register and memory encoding). */
export function hexLE(v: number, bytes: number): string {
  let s = "";
  for (let i = 0; i < bytes; i++) s += ((v >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  return s;
}

export function hexBytes(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Bytes from hex; null when the string is not whole hex bytes. */
export function parseHexBytes(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
