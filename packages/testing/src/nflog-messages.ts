// NFLOG netlink messages built by hand, as the kernel sends them (nfnetlink_log.c): for replaying
// through nflog-native's C walker in tests and in the bench, next to the recorded fixtures.

import { nflogTlv } from './packets.js';

/** Netlink message types and flags (linux/netlink.h, linux/netfilter/nfnetlink*.h). */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET. */
export const NFULNL_MSG_PACKET = (4 << 8) | 0;

/** NFLOG attribute types (enum nfulnl_attr_type). */
export const NFULA = {
  PACKET_HDR: 1,
  MARK: 2,
  TIMESTAMP: 3,
  IFINDEX_INDEV: 4,
  IFINDEX_OUTDEV: 5,
  PAYLOAD: 9,
  PREFIX: 10,
  UID: 11,
  SEQ: 12,
  SEQ_GLOBAL: 13,
} as const;

/** Netfilter hooks (enum nf_inet_hooks) as NFULA_PACKET_HDR carries them. */
export const NF_INET = {
  PRE_ROUTING: 0,
  LOCAL_IN: 1,
  FORWARD: 2,
  LOCAL_OUT: 3,
  POST_ROUTING: 4,
} as const;

/** One NFULNL_MSG_PACKET message; every field optional, the attributes in the kernel's order. */
export interface NflogMessageSpec {
  /** NFLOG group (the nfgenmsg resource id). Default 1. */
  group?: number;
  /** nfgenmsg family: 2 (AF_INET, default) or 10 (AF_INET6); others to test oddities. */
  family?: number;
  /** NFULA_PACKET_HDR hook; default LOCAL_IN. `null` leaves the attribute out. */
  hook?: number | null;
  /** ifindex for NFULA_IFINDEX_INDEV; absent when undefined. */
  indev?: number;
  /** ifindex for NFULA_IFINDEX_OUTDEV; absent when undefined. */
  outdev?: number;
  /** NFULA_TIMESTAMP [sec, usec]; absent when undefined (the output hook). */
  ts?: [number, number];
  /** NFULA_PREFIX (NUL added). */
  prefix?: string;
  /** NFULA_SEQ (per group). */
  seq?: number;
  /** NFULA_SEQ_GLOBAL (per namespace). */
  seqGlobal?: number;
  /** Extra attributes appended before the payload (e.g. malformed ones). */
  extra?: Buffer[];
  /** NFULA_PAYLOAD: the IP packet; absent when undefined. */
  payload?: Buffer;
}

function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** A netlink message: 16-byte header (host order, LE here; NLM_F_MULTI as in a batch), then `body`, padded to 4. */
export function nlmsg(type: number, body: Buffer, lenOverride?: number): Buffer {
  const len = 16 + body.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt32LE(lenOverride ?? len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(0x2, 6);
  body.copy(b, 16);
  return b;
}

/** The attributes of one packet message after its nfgenmsg, in the order the kernel writes them. */
export function nflogAttributes(p: NflogMessageSpec): Buffer[] {
  const attrs: Buffer[] = [];
  const v6 = p.payload !== undefined && p.payload.length > 0 && p.payload[0]! >> 4 === 6;
  if (p.hook !== null) {
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16BE(v6 ? 0x86dd : 0x0800, 0);
    hdr[2] = p.hook ?? NF_INET.LOCAL_IN;
    attrs.push(nflogTlv(NFULA.PACKET_HDR, hdr));
  }
  if (p.indev !== undefined) attrs.push(nflogTlv(NFULA.IFINDEX_INDEV, be32(p.indev)));
  if (p.outdev !== undefined) attrs.push(nflogTlv(NFULA.IFINDEX_OUTDEV, be32(p.outdev)));
  if (p.ts !== undefined) {
    const ts = Buffer.alloc(16);
    ts.writeBigUInt64BE(BigInt(p.ts[0]), 0);
    ts.writeBigUInt64BE(BigInt(p.ts[1]), 8);
    attrs.push(nflogTlv(NFULA.TIMESTAMP, ts));
  }
  if (p.prefix !== undefined)
    attrs.push(nflogTlv(NFULA.PREFIX, Buffer.from(`${p.prefix}\0`, 'latin1')));
  if (p.seq !== undefined) attrs.push(nflogTlv(NFULA.SEQ, be32(p.seq)));
  if (p.seqGlobal !== undefined) attrs.push(nflogTlv(NFULA.SEQ_GLOBAL, be32(p.seqGlobal)));
  attrs.push(...(p.extra ?? []));
  if (p.payload !== undefined) attrs.push(nflogTlv(NFULA.PAYLOAD, p.payload));
  return attrs;
}

/** One NFULNL_MSG_PACKET netlink message (header, nfgenmsg, attributes). */
export function nflogMessage(p: NflogMessageSpec): Buffer {
  const nfgen = Buffer.alloc(4);
  nfgen[0] = p.family ?? 2;
  nfgen.writeUInt16BE(p.group ?? 1, 2);
  return nlmsg(NFULNL_MSG_PACKET, Buffer.concat([nfgen, ...nflogAttributes(p)]));
}

/** A kernel batch: the messages, then NLMSG_DONE, as one datagram. */
export function nflogDatagram(packets: readonly NflogMessageSpec[]): Buffer {
  return Buffer.concat([...packets.map(nflogMessage), nlmsg(NLMSG_DONE, Buffer.alloc(4))]);
}
