// The Python tool's wire format (nflog-zmq-pcap-pipe): one ZeroMQ message per packet, XDR
// (RFC 4506, big-endian). The byte table is in docs/wire-format.md ("Legacy"); the optional
// rate-control prefix (0x00 / 0x01 + zlib) is handled by the compress package, not here.

import {
  PCAP_MAX_CONVERTIBLE_USEC,
  PCAP_RECORD_HEADER_BYTES as RECORD_HEADER_BYTES,
  RECORD_END,
  RECORD_OK,
  RecordCursor,
  writeRecordHeader,
  type RecordStep,
} from '@nflog-pipe/pcap-writer';
import { WireError, type WireErrorCode } from './errors.js';
import { checkRecordStep, minRecordDataBytes, WIRE_MAX_RECORD_BYTES } from './wire-v1.js';

/** Fixed part of a legacy message: ts_sec, ts_usec, orig_len, opaque length (4 × u32 BE). */
export const LEGACY_HEADER_BYTES = 16;

const U32_MAX = 0xffffffff;

/** One decoded legacy packet. `data` is a view into the message, not a copy. */
export interface LegacyPacket {
  /** Capture time, seconds since the epoch. */
  tsSec: number;
  /** Microseconds within the second. */
  tsUsec: number;
  /** Original packet length in bytes as sent; 0 means unknown (use `data.length`). */
  origLen: number;
  /** The captured packet bytes. */
  data: Buffer;
}

/** Options of {@link legacyPacketsToRecords}. */
export interface LegacyToRecordsOptions {
  /**
   * Called for each message that does not decode; that message is skipped and the others are
   * kept. Without it the first bad message throws.
   */
  onBadPacket?: (err: WireError, index: number) => void;
  /**
   * Write ts_usec × 1000 (nanoseconds) into the records, for a nanosecond pcap stream; a message
   * whose ts_usec cannot be microseconds (above 4294967) is then bad (ERR_WIRE_BAD_TIMESTAMP).
   */
  nanosecond?: boolean;
  /**
   * The records' linktype (a receiver writes 101): a packet shorter than
   * minRecordDataBytes(linktype) is then a bad message (ERR_WIRE_SHORT_RECORD). Default: any
   * length.
   */
  linktype?: number;
}

function fail(code: WireErrorCode, message: string): never {
  throw new WireError(code, message);
}

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    fail('ERR_WIRE_BAD_FIELD', `${name} ${value} is not a u32`);
  }
}

/** XDR pads opaque data with zeros up to a multiple of 4 bytes. */
function paddedLength(dataBytes: number): number {
  return dataBytes + ((4 - (dataBytes % 4)) % 4);
}

/**
 * Check one legacy message without allocating; returns the opaque (packet) length.
 * Python's xdrlib accepts any padding bytes; we require zeros, as RFC 4506 says (the Python
 * sender always wrote zeros, so nothing valid is lost).
 */
function checkLegacyPacket(buf: Buffer): number {
  if (buf.length < LEGACY_HEADER_BYTES) {
    fail('ERR_WIRE_SHORT_HEADER', `${buf.length} bytes, a legacy header is ${LEGACY_HEADER_BYTES}`);
  }
  const dataBytes = buf.readUInt32BE(12);
  if (dataBytes > WIRE_MAX_RECORD_BYTES) {
    fail('ERR_WIRE_OVERSIZE', `packet of ${dataBytes} bytes exceeds ${WIRE_MAX_RECORD_BYTES}`);
  }
  const end = LEGACY_HEADER_BYTES + paddedLength(dataBytes);
  if (end > buf.length) {
    fail(
      'ERR_WIRE_TRUNCATED_RECORD',
      `opaque of ${dataBytes} bytes needs ${end} bytes, message has ${buf.length}`,
    );
  }
  if (end < buf.length) {
    // xdrlib Unpacker.done(): "unextracted data remains".
    fail('ERR_WIRE_LENGTH_MISMATCH', `${buf.length - end} trailing bytes after the packet`);
  }
  for (let i = LEGACY_HEADER_BYTES + dataBytes; i < end; i++) {
    if (buf[i] !== 0) fail('ERR_WIRE_LENGTH_MISMATCH', 'XDR padding is not zero');
  }
  return dataBytes;
}

/** A checked message's ts_usec must fit as nanoseconds (the `nanosecond` conversion). */
function checkConvertible(buf: Buffer): void {
  const tsUsec = buf.readUInt32BE(4);
  if (tsUsec > PCAP_MAX_CONVERTIBLE_USEC) {
    fail('ERR_WIRE_BAD_TIMESTAMP', `ts_usec ${tsUsec} cannot be microseconds`);
  }
}

/**
 * Encode one packet as a legacy message: u32 BE ts_sec, ts_usec, orig_len, then the data as
 * an XDR opaque (u32 BE length, bytes, zero padding to a multiple of 4). The same bytes the
 * Python tool's `pcap.construct()` produced.
 *
 * @param tsSec seconds since the epoch (u32)
 * @param tsUsec microseconds (u32)
 * @param origLen original packet length in bytes (u32); 0 = unknown
 * @param data captured bytes, at most WIRE_MAX_RECORD_BYTES
 * @throws WireError ERR_WIRE_BAD_FIELD (a value is not a u32), ERR_WIRE_OVERSIZE
 */
export function encodeLegacyPacket(
  tsSec: number,
  tsUsec: number,
  origLen: number,
  data: Buffer,
): Buffer {
  checkU32('tsSec', tsSec);
  checkU32('tsUsec', tsUsec);
  checkU32('origLen', origLen);
  if (data.length > WIRE_MAX_RECORD_BYTES) {
    fail('ERR_WIRE_OVERSIZE', `packet of ${data.length} bytes exceeds ${WIRE_MAX_RECORD_BYTES}`);
  }
  const out = Buffer.allocUnsafeSlow(LEGACY_HEADER_BYTES + paddedLength(data.length));
  writeLegacyPacket(out, 0, tsSec, tsUsec, origLen, data, 0, data.length);
  return out;
}

/** Writes one legacy message at `offset`; returns the offset after it. Arguments pre-checked. */
function writeLegacyPacket(
  out: Buffer,
  offset: number,
  tsSec: number,
  tsUsec: number,
  origLen: number,
  src: Buffer,
  srcStart: number,
  dataBytes: number,
): number {
  out.writeUInt32BE(tsSec, offset);
  out.writeUInt32BE(tsUsec, offset + 4);
  out.writeUInt32BE(origLen, offset + 8);
  out.writeUInt32BE(dataBytes, offset + 12);
  src.copy(out, offset + LEGACY_HEADER_BYTES, srcStart, srcStart + dataBytes);
  const dataEnd = offset + LEGACY_HEADER_BYTES + dataBytes;
  const end = offset + LEGACY_HEADER_BYTES + paddedLength(dataBytes);
  out.fill(0, dataEnd, end);
  return end;
}

/**
 * Decode one legacy message, as strictly as xdrlib's Unpacker (and a bit stricter: the
 * padding must be zero, and a packet may not exceed WIRE_MAX_RECORD_BYTES).
 *
 * @returns the packet; `origLen` is returned as sent (0 = unknown), `data` is a view into `buf`
 * @throws WireError ERR_WIRE_SHORT_HEADER (< 16 bytes), ERR_WIRE_OVERSIZE,
 *   ERR_WIRE_TRUNCATED_RECORD (opaque runs past the end), ERR_WIRE_LENGTH_MISMATCH (trailing
 *   bytes or non-zero padding)
 */
export function decodeLegacyPacket(buf: Buffer): LegacyPacket {
  const dataBytes = checkLegacyPacket(buf);
  return {
    tsSec: buf.readUInt32BE(0),
    tsUsec: buf.readUInt32BE(4),
    origLen: buf.readUInt32BE(8),
    data: buf.subarray(LEGACY_HEADER_BYTES, LEGACY_HEADER_BYTES + dataBytes),
  };
}

/**
 * Turn a section of pcap records (LE, microseconds) into legacy messages, one per record
 * (`--wire legacy` senders). All messages share one allocation; each is its own view, so they
 * can be sent separately. orig_len is carried as recorded.
 *
 * @throws WireError ERR_WIRE_TRUNCATED_RECORD, ERR_WIRE_OVERSIZE
 */
export function recordsToLegacyPackets(records: Buffer): Buffer[] {
  // Pass 1: check the records and size the single output allocation.
  let total = 0;
  const check = new RecordCursor(records);
  let step: RecordStep;
  while ((step = check.next()) !== RECORD_END) {
    checkRecordStep(step, check);
    total += LEGACY_HEADER_BYTES + paddedLength(check.inclLen);
  }
  // Pass 2: write each message; the records are known to be whole now.
  const out = Buffer.allocUnsafeSlow(total);
  const msgs = new Array<Buffer>(check.count);
  const c = new RecordCursor(records);
  let outOffset = 0;
  for (let i = 0; c.next() === RECORD_OK; i++) {
    const end = writeLegacyPacket(
      out,
      outOffset,
      c.tsSec,
      c.tsFrac,
      c.origLen,
      records,
      c.dataStart,
      c.inclLen,
    );
    msgs[i] = out.subarray(outOffset, end);
    outOffset = end;
  }
  return msgs;
}

/**
 * Turn legacy messages (one packet each) into one section of pcap records (LE, microseconds,
 * or nanoseconds with `options.nanosecond`), ready for a single write into the pcap stream. An
 * orig_len of 0 becomes the data length, as the Python receiver did (`pkt.len or
 * len(pkt.dump)`). With `options.linktype` (101: the Python tool sent raw IP), a packet shorter
 * than that linktype allows is a bad message (ERR_WIRE_SHORT_RECORD). The records are built
 * whole, so their number is the messages kept: nothing needs to walk them again.
 *
 * @param msgs legacy messages, without any rate-control prefix byte
 * @param options `onBadPacket` to skip (and count) bad messages instead of throwing;
 *   `nanosecond` to write nanosecond timestamps
 * @throws WireError the first bad message's error, unless `onBadPacket` is given
 */
export function legacyPacketsToRecords(
  msgs: readonly Buffer[],
  options: LegacyToRecordsOptions = {},
): Buffer {
  const { onBadPacket } = options;
  const nanosecond = options.nanosecond === true;
  const minDataBytes = options.linktype === undefined ? 0 : minRecordDataBytes(options.linktype);
  // Pass 1: check every message and size the single output allocation; -1 marks a skipped one.
  const dataLens = new Int32Array(msgs.length);
  let total = 0;
  for (let i = 0; i < msgs.length; i++) {
    let dataBytes: number;
    try {
      dataBytes = checkLegacyPacket(msgs[i]!);
      if (dataBytes < minDataBytes) {
        fail(
          'ERR_WIRE_SHORT_RECORD',
          `packet of ${dataBytes} bytes is shorter than linktype ${options.linktype} allows (${minDataBytes})`,
        );
      }
      if (nanosecond) checkConvertible(msgs[i]!);
    } catch (err) {
      if (onBadPacket === undefined || !(err instanceof WireError)) throw err;
      onBadPacket(err, i);
      dataLens[i] = -1;
      continue;
    }
    dataLens[i] = dataBytes;
    total += RECORD_HEADER_BYTES + dataBytes;
  }
  const out = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (let i = 0; i < msgs.length; i++) {
    const dataBytes = dataLens[i]!;
    if (dataBytes < 0) continue;
    const msg = msgs[i]!;
    const origLen = msg.readUInt32BE(8);
    const tsUsec = msg.readUInt32BE(4);
    offset = writeRecordHeader(
      out,
      offset,
      msg.readUInt32BE(0),
      nanosecond ? tsUsec * 1000 : tsUsec,
      dataBytes,
      origLen === 0 ? dataBytes : origLen,
    );
    offset += msg.copy(out, offset, LEGACY_HEADER_BYTES, LEGACY_HEADER_BYTES + dataBytes);
  }
  return out;
}
