/**
 * DNS messages (RFC 1035 §4) as far as the user network's resolver at
 * 10.0.2.3 needs them: read the question of a query, and build the answer —
 * A records, an empty answer, or an error code.
 *
 * @module
 */
import { be16 } from "../inet.js";

export const DNS_PORT = 53;
export const TYPE_A = 1, TYPE_AAAA = 28, CLASS_IN = 1;
/** Response codes (RFC 1035 §4.1.1). */
export const RCODE_OK = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3, RCODE_NOTIMP = 4;

export interface DnsQuestion {
  id: number;
  /** The name, lower case, without the final dot. */
  name: string;
  type: number;
  qclass: number;
  /** The question section's bytes (echoed in the answer). */
  question: Uint8Array;
  /** The query's RD bit (echoed). */
  recursionDesired: boolean;
}

/** The one question of a standard query, or null when `msg` is not one. */
export function readDnsQuery(msg: Uint8Array): DnsQuestion | null {
  if (msg.length < 12) return null;
  const flags = be16(msg, 2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0 || be16(msg, 4) !== 1) return null; // a response, not QUERY, or not one question
  const labels: string[] = [];
  let o = 12;
  for (;;) {
    const len = msg[o];
    if (len === undefined || len > 63) return null; // truncated, or a compression pointer (none in a question)
    o++;
    if (len === 0) break;
    if (o + len > msg.length) return null;
    labels.push(String.fromCharCode(...msg.subarray(o, o + len)).toLowerCase());
    o += len;
  }
  if (o + 4 > msg.length) return null;
  return { id: be16(msg, 0), name: labels.join("."), type: be16(msg, o), qclass: be16(msg, o + 2), question: msg.subarray(12, o + 4), recursionDesired: (flags & 0x100) !== 0 };
}

/** A response to `q` with `rcode` and A records for `addresses` (TTL `ttl` seconds). */
export function dnsResponse(q: DnsQuestion, rcode: number, addresses: readonly number[] = [], ttl = 60): Uint8Array {
  const answers = addresses.length;
  const msg = new Uint8Array(12 + q.question.length + answers * 16);
  const v = new DataView(msg.buffer);
  v.setUint16(0, q.id);
  // QR, RD as asked, RA (we recurse: the host resolves), rcode.
  v.setUint16(2, 0x8000 | (q.recursionDesired ? 0x100 : 0) | 0x80 | (rcode & 0xf));
  v.setUint16(4, 1);
  v.setUint16(6, answers);
  msg.set(q.question, 12);
  let o = 12 + q.question.length;
  for (const a of addresses) {
    v.setUint16(o, 0xc00c); // the name: a pointer to the question's
    v.setUint16(o + 2, TYPE_A);
    v.setUint16(o + 4, CLASS_IN);
    v.setUint32(o + 6, ttl);
    v.setUint16(o + 10, 4);
    v.setUint32(o + 12, a);
    o += 16;
  }
  return msg;
}
