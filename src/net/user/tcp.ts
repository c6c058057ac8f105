/**
 * One TCP connection of the user network, NAT'ed: towards the guest this
 * object is the far end (a TCP endpoint speaking RFC 793 with the guest's
 * stack), towards the host it is an ordinary socket of the host's own TCP
 * (HostTcpSocket). Bytes go across; TCP itself does not.
 *
 * Opened either way:
 * - **outbound** (the guest connects): the guest's SYN makes the host
 *   connect; when the host's connection is up the guest gets SYN-ACK, when
 *   it fails an RST (what the guest would see from a closed port);
 * - **inbound** (a host forward accepted a connection): we send the guest a
 *   SYN and hand the host socket over once the guest's SYN-ACK comes.
 *
 * Deliberately small: MSS option only (no window scaling, SACK or
 * timestamps, so the guest uses none), segments of up to 64 KiB when the
 * guest's NIC takes large packets (link.ts), go-back-N retransmission on a
 * doubling timer, a zero-window probe on the same timer. The link to the
 * guest is an in-process queue (NicLink) that loses frames only when 512
 * are already waiting, so retransmission is rare; flow control is what
 * matters: the guest's advertised window bounds what we send, the host
 * socket is paused while {@link HOST_READ_LIMIT} bytes wait for the guest,
 * and our advertised window shrinks by what the host socket has not yet
 * written out.
 *
 * @module
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpFields, type TcpView } from "../inet.js";
import type { HostTcpEvents, HostTcpSocket } from "./host.js";

/** Our MSS: Ethernet's 1500-byte MTU less 40 bytes of IPv4 and TCP headers. */
export const USER_TCP_MSS = 1460;
/** Largest window without the window-scale option. */
const MAX_WINDOW = 0xffff;
/** Payload of the largest segment sent as a large packet: the IPv4 length limit less the two headers. */
const LARGE_SEGMENT = 0xffff - 40;
/** Bytes from the host held for the guest before the host socket is paused. */
export const HOST_READ_LIMIT = 256 * 1024;
const RTO_INITIAL_MS = 250, RTO_MAX_MS = 8000, MAX_RETRANSMISSIONS = 12;

type State = "connecting" | "syn-sent" | "syn-received" | "established" | "closed";

/** Sequence-number difference a − b in the 32-bit circle (RFC 793 §3.3). */
function seqDiff(a: number, b: number): number { return (a - b) | 0; }

/** Bytes waiting for the guest's acknowledgement, from the oldest unacknowledged byte on. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // consumed bytes of chunks[0]
  length = 0;

  push(b: Uint8Array): void { if (b.length) { this.chunks.push(b); this.length += b.length; } }

  /** A copy of `n` bytes from `offset`. */
  peek(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let skip = offset + this.head, o = 0;
    for (const c of this.chunks) {
      if (skip >= c.length) { skip -= c.length; continue; }
      const take = Math.min(c.length - skip, n - o);
      out.set(c.subarray(skip, skip + take), o);
      o += take;
      skip = 0;
      if (o === n) break;
    }
    return out;
  }

  drop(n: number): void {
    this.length -= n;
    n += this.head;
    while (this.chunks.length && n >= this.chunks[0]!.length) n -= this.chunks.shift()!.length;
    this.head = n;
  }
}

export interface TcpConnectionCallbacks {
  /**
   * Send the guest a segment from the far end (the caller adds addresses and ports); data longer than `mss` goes as
   * one large TCP packet cut at `mss` (only when {@link large} says the way to the guest takes them).
   */
  send(t: Omit<TcpFields, "srcPort" | "dstPort">, data?: Uint8Array, mss?: number): void;
  /** Whether segments may be larger than the guest's MSS (a large packet, link.ts). */
  readonly large: boolean;
  /** The connection is over; forget it. */
  gone(): void;
  /** One-line notices (a guest that stopped answering). */
  notice(line: string): void;
  /** The host could not connect (`error`: ECONNREFUSED …); the guest got a reset. */
  refused(error: string): void;
}

export class NatTcpConnection implements HostTcpEvents {
  private state: State;
  private readonly iss = (Math.random() * 0x100000000) >>> 0;
  private sndUna: number;
  private sndNxt: number;
  /** Highest sequence number sent (sndNxt goes back on a retransmission). */
  private sndMax: number;
  private rcvNxt = 0;
  private readonly pending = new ByteQueue();
  private guestWindow = 0;
  private guestMss = 536; // RFC 879's default without the option
  private hostEof = false;
  private finSent = false;
  private finAcked = false;
  private guestFin = false;
  private hostPaused = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private rto = RTO_INITIAL_MS;
  private retransmissions = 0;
  private host: HostTcpSocket | null = null;

  /**
   * Outbound: `syn` is the guest's SYN; `connect` opens the host side with this object as its events. Inbound: `syn`
   * is null and `host` the accepted host socket; the guest gets our SYN now.
   */
  constructor(
    private readonly cb: TcpConnectionCallbacks,
    syn: TcpView | null,
    open: ((events: HostTcpEvents) => HostTcpSocket) | HostTcpSocket,
    readonly label: string,
  ) {
    this.sndUna = this.sndNxt = this.sndMax = this.iss;
    if (syn) {
      this.state = "connecting";
      this.rcvNxt = (syn.seq + 1) >>> 0;
      this.takeOptions(syn);
      this.host = (open as (e: HostTcpEvents) => HostTcpSocket)(this);
    } else {
      this.state = "syn-sent";
      this.host = open as HostTcpSocket;
      this.sendSyn();
    }
  }

  get closed(): boolean { return this.state === "closed"; }
  get stateName(): string { return this.state; }

  // ---- segments from the guest ----

  segment(seg: TcpView): void {
    if (this.state === "closed") return;
    if (seg.flags & TCP_RST) { this.host?.destroy(); this.finish(); return; }
    switch (this.state) {
      case "connecting": return; // a repeated SYN while the host connects: SYN-ACK follows when it has
      case "syn-sent":
        if ((seg.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) && seg.ack === ((this.iss + 1) >>> 0)) {
          this.rcvNxt = (seg.seq + 1) >>> 0;
          this.takeOptions(seg);
          this.sndUna = this.sndNxt = this.sndMax = seg.ack;
          this.state = "established";
          this.stopTimer();
          this.sendAck();
          this.host!.setEvents(this);
          this.host!.resume();
        }
        return;
    }
    if (seg.flags & TCP_SYN) { // our SYN-ACK was lost: say it again
      if (this.state === "syn-received") this.sendSynAck();
      return;
    }
    if (!(seg.flags & TCP_ACK)) return;
    this.acknowledge(seg.ack, seg.window);
    const fin = (seg.flags & TCP_FIN) !== 0;
    if (seg.data.length > 0 || fin) this.receive(seg.seq, seg.data, fin);
    this.pump();
    this.finishIfDone();
  }

  private takeOptions(seg: TcpView): void {
    this.guestWindow = seg.window;
    if (seg.mss) this.guestMss = Math.min(seg.mss, USER_TCP_MSS);
  }

  private acknowledge(ack: number, window: number): void {
    this.guestWindow = window;
    const acked = seqDiff(ack, this.sndUna);
    if (acked <= 0 || seqDiff(ack, this.sndMax) > 0) return;
    let base = this.sndUna;
    if (this.state === "syn-received") { // the guest acknowledges our SYN (sequence number iss): the connection is up
      base = (base + 1) >>> 0;
      this.state = "established";
      this.host?.resume();
    }
    // Our FIN, when sent, follows the last pending byte: an acknowledgement past that byte covers it.
    const covered = seqDiff(ack, base);
    if (this.finSent && covered > this.pending.length) this.finAcked = true;
    this.pending.drop(Math.min(covered, this.pending.length));
    this.sndUna = ack;
    if (seqDiff(ack, this.sndNxt) > 0) this.sndNxt = ack;
    this.retransmissions = 0;
    this.rto = RTO_INITIAL_MS;
    this.stopTimer();
    if (this.sndUna !== this.sndMax) this.startTimer();
    if (this.hostPaused && this.pending.length < HOST_READ_LIMIT / 2) { this.hostPaused = false; this.host?.resume(); }
  }

  private receive(seq: number, data: Uint8Array, fin: boolean): void {
    const behind = seqDiff(this.rcvNxt, seq);
    if (behind < 0 || this.guestFin) { this.sendAck(); return; } // a gap (out of order) or after its FIN: say what we expect
    if (behind > data.length) { this.sendAck(); return; } // all of it (and its FIN) seen before
    const fresh = data.subarray(behind);
    if (fresh.length) {
      this.host?.write(fresh);
      this.rcvNxt = (this.rcvNxt + fresh.length) >>> 0;
    }
    if (fin) {
      this.guestFin = true;
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.host?.end();
    }
    this.sendAck();
  }

  // ---- the host side (HostTcpEvents) ----

  onConnect(): void {
    if (this.state !== "connecting") return;
    this.state = "syn-received";
    this.host!.pause(); // no data for the guest before it has acknowledged our SYN
    this.sendSynAck();
  }

  onData(data: Uint8Array): void {
    this.pending.push(data);
    if (this.pending.length >= HOST_READ_LIMIT && !this.hostPaused) { this.hostPaused = true; this.host?.pause(); }
    this.pump();
  }

  onEnd(): void {
    this.hostEof = true;
    this.pump();
  }

  onClose(error: string | null): void {
    if (this.state === "closed") return;
    if (this.state === "connecting") {
      this.cb.refused(error ?? "closed");
      this.reset(this.sndNxt);
      return;
    }
    if (error !== null || !this.hostEof) this.reset(this.sndNxt);
    // else: a normal close; our FIN is (or will be) on its way
  }

  onDrain(): void { if (this.state === "established") this.sendAck(); } // our window opened again

  // ---- sending to the guest ----

  private pump(): void {
    if (this.state !== "established") return;
    for (;;) {
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const unsent = this.pending.length - inFlight;
      if (unsent > 0) {
        const room = this.guestWindow - inFlight;
        if (room <= 0) break;
        const n = Math.min(unsent, room, this.cb.large ? LARGE_SEGMENT : this.guestMss);
        const last = n === unsent;
        this.cb.send({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK | (last ? TCP_PSH : 0), window: this.window() }, this.pending.peek(inFlight, n), this.guestMss);
        this.advance(n);
      } else if (this.hostEof && !this.finSent) {
        this.cb.send({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_FIN | TCP_ACK, window: this.window() });
        this.finSent = true;
        this.advance(1);
        break;
      } else break;
    }
    if (this.timer === null && (this.sndUna !== this.sndMax || this.pending.length > 0)) this.startTimer();
  }

  private advance(n: number): void {
    this.sndNxt = (this.sndNxt + n) >>> 0;
    if (seqDiff(this.sndNxt, this.sndMax) > 0) this.sndMax = this.sndNxt;
  }

  /** Our receive window: what the host socket can still take. */
  private window(): number { return Math.max(0, MAX_WINDOW - (this.host?.buffered ?? 0)); }

  private sendAck(): void { this.cb.send({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK, window: this.window() }); }

  private sendSyn(): void {
    this.cb.send({ seq: this.iss, ack: 0, flags: TCP_SYN, window: MAX_WINDOW, mss: USER_TCP_MSS });
    this.sndNxt = this.sndMax = (this.iss + 1) >>> 0;
    this.startTimer();
  }

  private sendSynAck(): void {
    this.cb.send({ seq: this.iss, ack: this.rcvNxt, flags: TCP_SYN | TCP_ACK, window: this.window(), mss: USER_TCP_MSS });
    this.sndNxt = this.sndMax = (this.iss + 1) >>> 0;
    this.startTimer();
  }

  private reset(seq: number): void {
    this.cb.send({ seq, ack: this.rcvNxt, flags: TCP_RST | TCP_ACK, window: 0 });
    this.host?.destroy();
    this.finish();
  }

  private startTimer(): void {
    this.timer = setTimeout(() => this.expire(), this.rto);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Nothing acknowledged for an RTO: send again from the oldest unacknowledged byte (or probe a zero window). */
  private expire(): void {
    this.timer = null;
    if (this.state === "closed") return;
    if (++this.retransmissions > MAX_RETRANSMISSIONS) {
      this.cb.notice(`${this.label}: the guest stopped answering; reset`);
      this.reset(this.sndNxt);
      return;
    }
    this.rto = Math.min(this.rto * 2, RTO_MAX_MS);
    if (this.state === "syn-sent") { this.sendSyn(); return; }
    if (this.state === "syn-received") { this.sendSynAck(); return; }
    this.sndNxt = this.sndUna;
    this.finSent = false;
    if (this.guestWindow === 0 && this.pending.length > 0) { // probe: one byte past the closed window
      this.cb.send({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK, window: this.window() }, this.pending.peek(0, 1));
      this.advance(1);
      this.startTimer();
      return;
    }
    this.pump();
  }

  private finishIfDone(): void {
    if (this.guestFin && this.finAcked) this.finish();
  }

  private finish(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.stopTimer();
    this.cb.gone();
  }

  /** Close from our side (the user network shuts down): reset the guest's end and the host's. */
  abort(): void {
    if (this.state === "closed") return;
    if (this.state !== "connecting") this.cb.send({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_RST | TCP_ACK, window: 0 });
    this.forget();
  }

  /** Drop the connection without a word to the guest (its end was taken back to before it: a snapshot restored); reset the host's. */
  forget(): void {
    if (this.state === "closed") return;
    this.host?.destroy();
    this.finish();
  }
}
