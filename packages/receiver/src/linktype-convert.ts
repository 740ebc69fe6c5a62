// Converting a batch of pcap records between the two linktypes the receiver takes: 239 (NFLOG:
// nflog_hdr and the kernel's TLVs, which keep prefix, hook and interfaces) and 101 (raw IP, the
// only one of the two that Suricata and Snort 3 read). A batch is walked once and written into
// one new buffer: no allocation per packet. Record layout: pcap-savefile(5); NFLOG data:
// nflog-record.ts.

import { LINKTYPE_NFLOG, LINKTYPE_RAW, recordEnd } from '@nflog-pipe/pcap-writer';
import {
  NFLOG_HDR_BYTES,
  NFLOG_NO_PAYLOAD,
  NFLOG_TLV_HDR_BYTES,
  NFULA_PAYLOAD,
  findNflogPayload,
  nflogFamilyOf,
} from './nflog-record.js';

/** The linktypes the receiver accepts in frames and writes to its outputs. */
export const RECEIVER_LINKTYPES: readonly number[] = [LINKTYPE_RAW, LINKTYPE_NFLOG];

/** True for a linktype the receiver accepts (101 or 239). */
export function isReceiverLinktype(linktype: number): boolean {
  return linktype === LINKTYPE_RAW || linktype === LINKTYPE_NFLOG;
}

const HEADER_BYTES = 16;

/** One converted batch. */
export interface ConvertedBatch {
  /** Whole records of the target linktype (the input itself when nothing had to change). */
  records: Buffer;
  /** Records in `records`. */
  count: number;
  /**
   * Records that could not be converted and are not in `records`: a 239 record without a
   * well-formed NFULA_PAYLOAD TLV, or with an empty one, has no IP packet to write as 101.
   */
  dropped: number;
}

/**
 * Convert `count` whole, checked records (as the frame decoder leaves them) from linktype
 * `from` to `to`, into one new buffer (`from === to` returns the input as it is).
 *
 * - 239 → 101: each record becomes its NFULA_PAYLOAD value; timestamps stay; incl_len is the
 *   payload's length and orig_len loses what the NFLOG wrapping added (nflog-native writes
 *   orig_len = incl_len + the bytes the copy range cut, so this gives back the IP packet's real
 *   length). A record without a payload is dropped and counted in `dropped`.
 * - 101 → 239: each packet gets a synthesized NFLOG wrapping, the least a reader needs: an
 *   nflog_hdr with the address family taken from the IP version (AF_INET 2, AF_INET6 10, 0 for
 *   anything else), version 0 and resource id (group) 0, then one NFULA_PAYLOAD TLV holding the
 *   packet, padded to 4 bytes. No prefix, hook or interface TLVs: the raw-IP record never had
 *   them. orig_len grows by the same wrapping, as nflog-native's would.
 *
 * @throws RangeError for a pair of linktypes other than 101 and 239
 */
export function convertRecords(
  records: Buffer,
  count: number,
  from: number,
  to: number,
): ConvertedBatch {
  if (from === to) return { records, count, dropped: 0 };
  if (from === LINKTYPE_NFLOG && to === LINKTYPE_RAW) return nflogToRaw(records, count);
  if (from === LINKTYPE_RAW && to === LINKTYPE_NFLOG) return rawToNflog(records, count);
  throw new RangeError(`cannot convert linktype ${from} records to ${to}`);
}

function nflogToRaw(records: Buffer, count: number): ConvertedBatch {
  // Every record shrinks (by the nflog_hdr and a TLV header at least): the input's size bounds it.
  const out = Buffer.allocUnsafe(records.length);
  let at = 0;
  let kept = 0;
  let dropped = 0;
  for (let offset = 0, n = 0; n < count && offset < records.length; n++) {
    const end = recordEnd(records, offset);
    if (end < 0) break; // checked by the decoder; never for a batch it passed
    const tlv = findNflogPayload(records, offset + HEADER_BYTES, end);
    const payloadBytes =
      tlv === NFLOG_NO_PAYLOAD ? 0 : records.readUInt16LE(tlv) - NFLOG_TLV_HDR_BYTES;
    if (payloadBytes <= 0) {
      dropped++;
      offset = end;
      continue;
    }
    const inclLen = end - offset - HEADER_BYTES;
    const origLen = records.readUInt32LE(offset + 12);
    // The bytes of the record that were NFLOG wrapping, not packet.
    const wrapping = inclLen - payloadBytes;
    records.copy(out, at, offset, offset + 8); // ts_sec, ts_usec
    out.writeUInt32LE(payloadBytes, at + 8);
    out.writeUInt32LE(Math.max(payloadBytes, origLen - wrapping), at + 12);
    const from = tlv + NFLOG_TLV_HDR_BYTES;
    records.copy(out, at + HEADER_BYTES, from, from + payloadBytes);
    at += HEADER_BYTES + payloadBytes;
    kept++;
    offset = end;
  }
  return { records: out.subarray(0, at), count: kept, dropped };
}

/** Bytes a synthesized NFLOG wrapping adds in front of and behind a packet of `len` bytes. */
function wrappedBytes(len: number): number {
  return NFLOG_HDR_BYTES + ((NFLOG_TLV_HDR_BYTES + len + 3) & ~3);
}

function rawToNflog(records: Buffer, count: number): ConvertedBatch {
  // Each record grows by at most 11 bytes: the nflog_hdr, a TLV header, up to 3 of padding.
  const out = Buffer.allocUnsafe(
    records.length + count * (NFLOG_HDR_BYTES + NFLOG_TLV_HDR_BYTES + 3),
  );
  let at = 0;
  let kept = 0;
  for (let offset = 0, n = 0; n < count && offset < records.length; n++) {
    const end = recordEnd(records, offset);
    if (end < 0) break; // checked by the decoder; never for a batch it passed
    const data = offset + HEADER_BYTES;
    const len = end - data;
    const incl = wrappedBytes(len);
    const origLen = records.readUInt32LE(offset + 12);
    records.copy(out, at, offset, offset + 8);
    out.writeUInt32LE(incl, at + 8);
    out.writeUInt32LE(incl + Math.max(0, origLen - len), at + 12);
    let p = at + HEADER_BYTES;
    out[p] = nflogFamilyOf(len > 0 ? records[data]! : 0);
    out[p + 1] = 0; // version
    out.writeUInt16BE(0, p + 2); // resource id: the group, unknown here
    p += NFLOG_HDR_BYTES;
    out.writeUInt16LE(NFLOG_TLV_HDR_BYTES + len, p);
    out.writeUInt16LE(NFULA_PAYLOAD, p + 2);
    records.copy(out, p + NFLOG_TLV_HDR_BYTES, data, end);
    const padEnd = at + HEADER_BYTES + incl;
    out.fill(0, p + NFLOG_TLV_HDR_BYTES + len, padEnd);
    at = padEnd;
    kept++;
    offset = end;
  }
  return { records: out.subarray(0, at), count: kept, dropped: 0 };
}
