/**
 * The framing of QEMU's `-netdev socket` over a stream (TCP): every
 * Ethernet frame is preceded by its length as a 32-bit big-endian integer
 * (QEMU net/socket.c `net_socket_receive` sends `htonl(size)` then the
 * bytes; net/net.c `net_fill_rstate` reassembles them). A peer that
 * announces a frame longer than QEMU's receive buffer (NET_BUFSIZE, 4096 +
 * 65536 bytes) is broken: QEMU drops the connection, and so do we.
 *
 * Platform-neutral (the TCP part is src/node/net-socket.ts).
 *
 * @module
 */

/** QEMU's NET_BUFSIZE: the longest frame a stream peer may send. */
export const STREAM_MAX_FRAME = 4096 + 65536;

/** A frame with its 4-byte big-endian length prefix. */
export function encodeStreamFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length, false);
  out.set(frame, 4);
  return out;
}

/** Reassembles frames from arbitrary chunks of the byte stream. */
export class StreamFrameDecoder {
  private header = new Uint8Array(4);
  private headerFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;

  /**
   * Feed received bytes; complete frames go to `onFrame` in order. Throws
   * (and the caller should close the connection) on a length beyond
   * {@link STREAM_MAX_FRAME}.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let i = 0;
    while (i < chunk.length) {
      if (!this.body) {
        const n = Math.min(4 - this.headerFill, chunk.length - i);
        this.header.set(chunk.subarray(i, i + n), this.headerFill);
        this.headerFill += n;
        i += n;
        if (this.headerFill < 4) return;
        const len = new DataView(this.header.buffer).getUint32(0, false);
        this.headerFill = 0;
        if (len > STREAM_MAX_FRAME) throw new Error(`peer sent a frame length of ${len} bytes (QEMU's limit is ${STREAM_MAX_FRAME})`);
        if (len === 0) continue;
        this.body = new Uint8Array(len);
        this.bodyFill = 0;
        continue;
      }
      const n = Math.min(this.body.length - this.bodyFill, chunk.length - i);
      this.body.set(chunk.subarray(i, i + n), this.bodyFill);
      this.bodyFill += n;
      i += n;
      if (this.bodyFill === this.body.length) {
        const f = this.body;
        this.body = null;
        onFrame(f);
      }
    }
  }
}
