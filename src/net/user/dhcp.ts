/**
 * The user network's DHCP server (RFC 2131, options RFC 2132): it answers
 * DISCOVER with an OFFER and REQUEST with an ACK (or a NAK for an address it
 * did not offer), handing out what QEMU's `-netdev user` hands out — the
 * guest's address from 10.0.2.15 upwards, mask 255.255.255.0, router
 * 10.0.2.2, DNS server 10.0.2.3, a lease of one day — one address per
 * station address, reserved addresses first.
 *
 * Messages in and out are the UDP payloads (BOOTP format); the caller
 * carries them in frames.
 *
 * @module
 */
import { type Mac, macAt, macBytes, formatMac } from "../ethernet.js";
import { be32, formatIpv4 } from "../inet.js";

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

const BOOTREQUEST = 1, BOOTREPLY = 2;
const MAGIC_COOKIE = 0x63825363;
/** Option numbers (RFC 2132). */
const OPT_PAD = 0, OPT_SUBNET_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_REQUESTED_IP = 50, OPT_LEASE_TIME = 51,
  OPT_MESSAGE_TYPE = 53, OPT_SERVER_ID = 54, OPT_END = 255;
/** DHCP message types (option 53). */
export const DHCPDISCOVER = 1, DHCPOFFER = 2, DHCPREQUEST = 3, DHCPDECLINE = 4, DHCPACK = 5, DHCPNAK = 6, DHCPRELEASE = 7, DHCPINFORM = 8;

/** The fixed part of a BOOTP message, up to and including the magic cookie. */
const FIXED = 240;

export interface DhcpConfig {
  /** The server's address (the router's too, as in QEMU). */
  server: number;
  netmask: number;
  dns: number;
  /** First address handed out. */
  firstAddress: number;
  /** How many addresses from the first. */
  poolSize: number;
  leaseSeconds: number;
  /** Station addresses that always get these addresses (symbiont's VMs, so that VM i is 10.0.2.(15+i) whoever asks first). */
  reservations?: ReadonlyMap<Mac, number>;
}

export interface DhcpRequest { type: number; xid: number; mac: Mac; requested: number | null; ciaddr: number; flags: number }

/** The DHCP message of a BOOTP request, or null if it is not one. */
export function readDhcpRequest(msg: Uint8Array): DhcpRequest | null {
  if (msg.length < FIXED || msg[0] !== BOOTREQUEST || msg[1] !== 1 || msg[2] !== 6 || be32(msg, 236) !== MAGIC_COOKIE) return null;
  let type = 0, requested: number | null = null;
  for (let o = FIXED; o < msg.length;) {
    const code = msg[o]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) { o++; continue; }
    const len = msg[o + 1] ?? 0;
    if (o + 2 + len > msg.length) break;
    if (code === OPT_MESSAGE_TYPE && len === 1) type = msg[o + 2]!;
    if (code === OPT_REQUESTED_IP && len === 4) requested = be32(msg, o + 2);
    o += 2 + len;
  }
  if (type === 0) return null; // plain BOOTP: not served
  return { type, xid: be32(msg, 4), mac: macAt(msg, 28), requested, ciaddr: be32(msg, 12), flags: (msg[10]! << 8) | msg[11]! };
}

export class DhcpServer {
  /** Address → station holding it. */
  private readonly leases = new Map<number, Mac>();
  readonly stats = { offers: 0, acks: 0, naks: 0 };

  constructor(readonly config: DhcpConfig) {}

  /** The address this station has or would get (null: the pool is exhausted). */
  addressFor(mac: Mac): number | null {
    const reserved = this.config.reservations?.get(mac);
    if (reserved !== undefined) return reserved;
    for (const [ip, holder] of this.leases) if (holder === mac) return ip;
    const reservedIps = new Set(this.config.reservations?.values() ?? []);
    for (let i = 0; i < this.config.poolSize; i++) {
      const ip = (this.config.firstAddress + i) >>> 0;
      if (!this.leases.has(ip) && !reservedIps.has(ip)) return ip;
    }
    return null;
  }

  /** Active leases, for statistics: "52:54:00:12:34:56 10.0.2.15". */
  describeLeases(): string[] {
    return [...this.leases].map(([ip, mac]) => `${formatMac(mac)} ${formatIpv4(ip)}`);
  }

  /** The reply to one request (the UDP payload), or null when none is due. */
  handle(req: DhcpRequest): Uint8Array | null {
    switch (req.type) {
      case DHCPDISCOVER: {
        const ip = this.addressFor(req.mac);
        if (ip === null) return null;
        this.stats.offers++;
        return this.reply(req, DHCPOFFER, ip);
      }
      case DHCPREQUEST: {
        // Selecting/init-reboot name the address in option 50, renewing in ciaddr (RFC 2131 §4.3.2).
        const wanted = req.requested ?? req.ciaddr;
        const ip = this.addressFor(req.mac);
        if (ip === null || wanted !== ip) { this.stats.naks++; return this.reply(req, DHCPNAK, 0); }
        this.leases.set(ip, req.mac);
        this.stats.acks++;
        return this.reply(req, DHCPACK, ip);
      }
      case DHCPRELEASE:
      case DHCPDECLINE:
        for (const [ip, holder] of this.leases) if (holder === req.mac) this.leases.delete(ip);
        return null;
      case DHCPINFORM:
        this.stats.acks++;
        return this.reply(req, DHCPACK, 0);
      default:
        return null;
    }
  }

  private reply(req: DhcpRequest, type: number, yiaddr: number): Uint8Array {
    const c = this.config;
    const options: [number, number[]][] = [[OPT_MESSAGE_TYPE, [type]], [OPT_SERVER_ID, ip4(c.server)]];
    if (type !== DHCPNAK) {
      if (type !== DHCPACK || yiaddr !== 0) options.push([OPT_LEASE_TIME, u32(c.leaseSeconds)]);
      options.push([OPT_SUBNET_MASK, ip4(c.netmask)], [OPT_ROUTER, ip4(c.server)], [OPT_DNS, ip4(c.dns)]);
    }
    const optionBytes = options.reduce((n, [, v]) => n + 2 + v.length, 0) + 1;
    const msg = new Uint8Array(Math.max(300, FIXED + optionBytes)); // BOOTP's minimum message (RFC 951's 64-byte vendor area)
    const v = new DataView(msg.buffer);
    msg[0] = BOOTREPLY;
    msg[1] = 1; // Ethernet
    msg[2] = 6;
    v.setUint32(4, req.xid);
    v.setUint16(10, req.flags & 0x8000);
    v.setUint32(12, type === DHCPACK && yiaddr === 0 ? req.ciaddr : 0);
    v.setUint32(16, yiaddr);
    v.setUint32(20, type === DHCPNAK ? 0 : c.server); // siaddr
    msg.set(macBytes(req.mac), 28);
    v.setUint32(236, MAGIC_COOKIE);
    let o = FIXED;
    for (const [code, value] of options) { msg[o++] = code; msg[o++] = value.length; msg.set(value, o); o += value.length; }
    msg[o] = OPT_END;
    return msg;
  }
}

function u32(n: number): number[] { return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]; }
const ip4 = u32;
