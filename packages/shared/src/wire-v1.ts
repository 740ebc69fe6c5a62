// Wire format v1: one ZeroMQ message = one frame = 40-byte little-endian header, optional JSON
// metadata, an optional kernel-order section, then a section of classic pcap records. The byte
// tables live in docs/wire-format.md ("Wire v1"); keep this file and that document in step.

import {
  PCAP_RECORD_HEADER_BYTES as RECORD_HEADER_BYTES,
  RECORD_OK,
  RECORD_SHORT_DATA,
  RECORD_SHORT_HEADER,
  RecordCursor,
  recordEnd,
  recordToNanosecond,
  type RecordStep,
} from '@nflog-pipe/pcap-writer';
import { WireError, type WireErrorCode } from './errors.js';
import { MIB } from './units.js';

/** v1 magic: the bytes `N F P Z` (0x4e 0x46 0x50 0x5a) read as a little-endian u32. */
export const WIRE_V1_MAGIC = 0x5a50464e;
/** v1 header version byte. */
export const WIRE_V1_VERSION = 1;
/** Size of the fixed v1 header in bytes. */
export const WIRE_V1_HEADER_BYTES = 40;
/** Flag bit 0: the records section is raw deflate (RFC 1951, no zlib header) of the records. */
export const WIRE_FLAG_COMPRESSED = 0x01;
/** Flag bit 1: a metadata section (UTF-8 JSON object) follows the header. */
export const WIRE_FLAG_METADATA = 0x02;
/**
 * Flag bit 2: a kernel-order section (namespace identity, then NFULA_SEQ_GLOBAL per record)
 * follows the metadata. Decoders older than this flag reject such frames (ERR_WIRE_BAD_FLAGS).
 */
export const WIRE_FLAG_KERNEL_ORDER = 0x04;
/** Bytes of the kernel-order section before its per-record numbers (4 bytes each). */
export const WIRE_ORDER_FIXED_BYTES = 32;
/** Bytes of a namespace identity: the boot id (16), then the netns inode (u64 LE). */
export const WIRE_NAMESPACE_ID_BYTES = 24;
/** Largest captured length (incl_len) of one packet in bytes; larger records are rejected. */
export const WIRE_MAX_RECORD_BYTES = 262144;
/** Default cap on a frame's uncompressed records section (`rawBytes`): 64 MiB. */
export const WIRE_DEFAULT_MAX_RAW_BYTES = 64 * MIB;
/** Largest metadata section in bytes (the header field is a u16). */
export const WIRE_MAX_META_BYTES = 0xffff;
/** Fewest captured bytes of a raw IP record (linktype 101): an IPv4 header without options. */
export const WIRE_MIN_RAW_IP_BYTES = 20;
/** Fewest captured bytes of an NFLOG record (linktype 239): the 4-byte nflog_hdr. */
export const WIRE_MIN_NFLOG_BYTES = 4;

/**
 * Fewest captured bytes (incl_len) a record of `linktype` can have: WIRE_MIN_RAW_IP_BYTES (20)
 * for raw IP (101), WIRE_MIN_NFLOG_BYTES (4) for NFLOG (239), 0 for any other linktype (nothing
 * is known about it). A record shorter than that cannot hold a packet of its linktype.
 */
export function minRecordDataBytes(linktype: number): number {
  if (linktype === 101) return WIRE_MIN_RAW_IP_BYTES;
  if (linktype === 239) return WIRE_MIN_NFLOG_BYTES;
  return 0;
}

/** A sender id as every tool logs it: 16 lowercase hex digits. */
export function senderIdHex(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

const KNOWN_FLAGS = WIRE_FLAG_COMPRESSED | WIRE_FLAG_METADATA | WIRE_FLAG_KERNEL_ORDER;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * The kernel-order section of a frame (WIRE_FLAG_KERNEL_ORDER): what lets a receiver merge the
 * records of several senders of one network namespace in the kernel's own order.
 */
export interface FrameOrder {
  /**
   * The sender's network namespace, WIRE_NAMESPACE_ID_BYTES: boot id, then netns inode (u64
   * LE). NFULA_SEQ_GLOBAL is one counter per namespace: records of frames with equal
   * `namespaceId` are ordered by `seqGlobal`, across senders.
   */
  namespaceId: Buffer;
  /**
   * The most a record waits at this sender between being logged and leaving in a frame, ms,
   * nominally (kernel flush timeout + kernel-order hold + flush interval): a receiver merging
   * senders holds records at least this long (plus network skew) to put them in order.
   */
  delayBoundMs: number;
  /**
   * NFULA_SEQ_GLOBAL of each record, in record order: `count` u32 LE. Increasing in serial
   * arithmetic (RFC 1982, mod 2^32; see {@link seqGlobalBefore}) except for records the sender
   * counted late.
   */
  seqGlobal: Buffer;
}

/** A decoded v1 frame. `records`, `meta` and `order` are views into the decoded buffer, not copies. */
export interface Frame {
  /** Header flag byte (WIRE_FLAG_*). */
  flags: number;
  /** `flags & WIRE_FLAG_COMPRESSED`: `records` is raw deflate and must be inflated to `rawBytes`. */
  compressed: boolean;
  /** pcap linktype of every record: 101 raw IP, 239 NFLOG. */
  linktype: number;
  /** Number of pcap records (packets) in the frame; 0 for a heartbeat. */
  count: number;
  /** Random per sender start; identifies one sequence-number space. */
  senderId: bigint;
  /** Sender sequence number of the first packet in this frame. */
  firstSeq: bigint;
  /** Length of the records section as carried (compressed size when compressed), bytes. */
  recordsBytes: number;
  /** Length of the records section uncompressed, bytes (== recordsBytes when not compressed). */
  rawBytes: number;
  /** Metadata section (UTF-8 JSON object), present only with WIRE_FLAG_METADATA. */
  meta?: Buffer;
  /** Kernel-order section, present only with WIRE_FLAG_KERNEL_ORDER. */
  order?: FrameOrder;
  /** The records section as carried. */
  records: Buffer;
}

/** Header fields the encoder needs; the lengths of the sections are taken from the buffers. */
export interface FrameFields {
  /** pcap linktype (u16): 101 raw IP, 239 NFLOG. */
  linktype: number;
  /** Sender id (u64). */
  senderId: bigint;
  /** Sequence number of the first packet (u64). */
  firstSeq: bigint;
  /** Number of records in `records` (u32). Not re-counted by the encoder. */
  count: number;
  /**
   * WIRE_FLAG_COMPRESSED when `records` is already deflated; default 0. WIRE_FLAG_METADATA is
   * derived from `meta` and may be given or omitted.
   */
  flags?: number;
  /** Uncompressed records length; required when compressed, default `records.length` otherwise. */
  rawBytes?: number;
  /** Metadata section (UTF-8 JSON object, at most WIRE_MAX_META_BYTES); empty or absent = none. */
  meta?: Buffer;
  /**
   * Kernel-order section; absent = none. WIRE_FLAG_KERNEL_ORDER is derived from it (like the
   * metadata flag); `seqGlobal` must hold exactly `count` numbers.
   */
  order?: FrameOrder;
}

/** Options of {@link decodeFrame}. */
export interface DecodeFrameOptions extends Omit<ValidateRecordsOptions, 'linktype'> {
  /** Cap on `rawBytes` (the uncompressed records section), bytes. Default WIRE_DEFAULT_MAX_RAW_BYTES. */
  maxRawBytes?: number;
  // `nanosecond` (from ValidateRecordsOptions): convert the records of an uncompressed frame to
  // nanoseconds, in place in `buf`, in the walk that checks them. A compressed frame's records
  // are converted where they are inflated and checked (inflateFrameRecords, compress package).
}

function fail(code: WireErrorCode, message: string): never {
  throw new WireError(code, message);
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    fail('ERR_WIRE_BAD_FIELD', `${name} ${value} is not an integer in 0..${max}`);
  }
}

function checkFlags(flags: number): void {
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~KNOWN_FLAGS) !== 0) {
    fail('ERR_WIRE_BAD_FLAGS', `unknown frame flags ${flags}`);
  }
}

function checkU64(name: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    fail('ERR_WIRE_BAD_FIELD', `${name} ${String(value)} is not a u64`);
  }
}

/**
 * Write the 40-byte v1 header at `target[offset..offset+40)`. Validates every field against its
 * slot but does not look at the sections themselves.
 *
 * @param target buffer to write into (at least offset + 40 bytes)
 * @param offset byte offset of the header in `target`
 * @param fields header fields; `flags` is written as given (include WIRE_FLAG_METADATA yourself)
 * @param recordsBytes length of the records section as carried, bytes
 * @param metaBytes length of the metadata section, bytes (0 unless WIRE_FLAG_METADATA)
 * @throws WireError ERR_WIRE_BAD_FLAGS for unknown flag bits; ERR_WIRE_BAD_FIELD for a value
 *   that does not fit its slot or is inconsistent (rawBytes != recordsBytes uncompressed,
 *   metadata flag vs metaBytes); ERR_WIRE_OVERSIZE for metaBytes above WIRE_MAX_META_BYTES.
 */
export function encodeFrameHeader(
  target: Buffer,
  offset: number,
  fields: FrameFields,
  recordsBytes: number,
  metaBytes: number,
): void {
  const flags = fields.flags ?? 0;
  checkFlags(flags);
  const compressed = (flags & WIRE_FLAG_COMPRESSED) !== 0;
  if (metaBytes > WIRE_MAX_META_BYTES) {
    fail('ERR_WIRE_OVERSIZE', `metadata of ${metaBytes} bytes exceeds ${WIRE_MAX_META_BYTES}`);
  }
  if (((flags & WIRE_FLAG_METADATA) !== 0) !== metaBytes > 0) {
    fail('ERR_WIRE_BAD_FIELD', 'WIRE_FLAG_METADATA must be set exactly when metadata is present');
  }
  checkUint('linktype', fields.linktype, 0xffff);
  checkUint('count', fields.count, 0xffffffff);
  checkUint('recordsBytes', recordsBytes, 0xffffffff);
  checkU64('senderId', fields.senderId);
  checkU64('firstSeq', fields.firstSeq);
  let rawBytes: number;
  if (compressed) {
    if (fields.rawBytes === undefined)
      fail('ERR_WIRE_BAD_FIELD', 'a compressed frame needs rawBytes');
    rawBytes = fields.rawBytes;
    checkUint('rawBytes', rawBytes, 0xffffffff);
  } else {
    rawBytes = fields.rawBytes ?? recordsBytes;
    if (rawBytes !== recordsBytes) {
      fail(
        'ERR_WIRE_BAD_FIELD',
        `rawBytes ${rawBytes} != records length ${recordsBytes} (not compressed)`,
      );
    }
  }
  target.writeUInt32LE(WIRE_V1_MAGIC, offset);
  target[offset + 4] = WIRE_V1_VERSION;
  target[offset + 5] = flags;
  target.writeUInt16LE(fields.linktype, offset + 6);
  target.writeUInt32LE(fields.count, offset + 8);
  target.writeUInt32LE(recordsBytes, offset + 12);
  target.writeUInt32LE(rawBytes, offset + 16);
  target.writeUInt16LE(metaBytes, offset + 20);
  target.writeUInt16LE(0, offset + 22);
  target.writeBigUInt64LE(fields.senderId, offset + 24);
  target.writeBigUInt64LE(fields.firstSeq, offset + 32);
}

/**
 * Build one v1 frame: header, metadata, records, in a single allocation. The records are
 * copied as given: pass pcap records (LE), or, with WIRE_FLAG_COMPRESSED in `fields.flags`,
 * their raw deflate together with `fields.rawBytes`. The record count is trusted, not
 * re-walked (the decoder checks it).
 *
 * `records` may also be given as consecutive pieces (e.g. several kernel reads batched into
 * one frame): they are copied one after the other straight into the frame, so the batch costs
 * one copy, not a concatenation and then a second copy.
 *
 * The returned buffer is never pooled memory, so it may be handed to zeromq.js `send()`, which
 * can read it after the send promise resolves; do not modify it after sending.
 *
 * @throws WireError see {@link encodeFrameHeader}.
 */
export function encodeFrame(fields: FrameFields, records: Buffer | readonly Buffer[]): Buffer {
  const givenFlags = fields.flags ?? 0;
  checkFlags(givenFlags);
  const meta = fields.meta !== undefined && fields.meta.length > 0 ? fields.meta : undefined;
  const metaBytes = meta === undefined ? 0 : meta.length;
  if ((givenFlags & WIRE_FLAG_METADATA) !== 0 && meta === undefined) {
    fail('ERR_WIRE_BAD_FIELD', 'WIRE_FLAG_METADATA given without metadata');
  }
  const order = fields.order;
  if ((givenFlags & WIRE_FLAG_KERNEL_ORDER) !== 0 && order === undefined) {
    fail('ERR_WIRE_BAD_FIELD', 'WIRE_FLAG_KERNEL_ORDER given without a kernel-order section');
  }
  const orderBytes = order === undefined ? 0 : checkOrder(order, fields.count);
  const flags =
    (givenFlags & ~(WIRE_FLAG_METADATA | WIRE_FLAG_KERNEL_ORDER)) |
    (meta === undefined ? 0 : WIRE_FLAG_METADATA) |
    (order === undefined ? 0 : WIRE_FLAG_KERNEL_ORDER);
  if (metaBytes > WIRE_MAX_META_BYTES) {
    fail('ERR_WIRE_OVERSIZE', `metadata of ${metaBytes} bytes exceeds ${WIRE_MAX_META_BYTES}`);
  }
  let recordsBytes = 0;
  if (Buffer.isBuffer(records)) recordsBytes = records.length;
  else for (const piece of records) recordsBytes += piece.length;
  // allocUnsafeSlow: every byte below is written, and the frame must not share a pool slab.
  const out = Buffer.allocUnsafeSlow(WIRE_V1_HEADER_BYTES + metaBytes + orderBytes + recordsBytes);
  encodeFrameHeader(out, 0, { ...fields, flags }, recordsBytes, metaBytes);
  if (meta !== undefined) meta.copy(out, WIRE_V1_HEADER_BYTES);
  let offset = WIRE_V1_HEADER_BYTES + metaBytes;
  if (order !== undefined) {
    order.namespaceId.copy(out, offset);
    out.writeUInt32LE(order.delayBoundMs, offset + 24);
    out.writeUInt32LE(0, offset + 28);
    order.seqGlobal.copy(out, offset + WIRE_ORDER_FIXED_BYTES);
    offset += orderBytes;
  }
  if (Buffer.isBuffer(records)) records.copy(out, offset);
  else for (const piece of records) offset += piece.copy(out, offset);
  return out;
}

/** Checks a kernel-order section against its slots; returns its length in bytes. */
function checkOrder(order: FrameOrder, count: number): number {
  if (!Buffer.isBuffer(order.namespaceId) || order.namespaceId.length !== WIRE_NAMESPACE_ID_BYTES) {
    fail('ERR_WIRE_BAD_FIELD', `namespaceId must be ${WIRE_NAMESPACE_ID_BYTES} bytes`);
  }
  checkUint('delayBoundMs', order.delayBoundMs, 0xffffffff);
  if (!Buffer.isBuffer(order.seqGlobal) || order.seqGlobal.length !== count * 4) {
    fail('ERR_WIRE_BAD_FIELD', `seqGlobal must hold ${count} u32 numbers`);
  }
  return WIRE_ORDER_FIXED_BYTES + order.seqGlobal.length;
}

/**
 * RFC 1982 serial-number order of two NFULA_SEQ_GLOBAL values (u32, wrapping): true when `a`
 * comes before `b`, i.e. `b - a` mod 2^32 is in 1..2^31-1. Values 2^31 apart are unordered.
 */
export function seqGlobalBefore(a: number, b: number): boolean {
  const d = (b - a) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/**
 * The record count in an encoded v1 frame's header, without decoding it again: for a frame
 * this process already decoded or built (e.g. what `inflateFrame` returns). Not a check.
 */
export function frameRecordCount(frame: Buffer): number {
  return frame.readUInt32LE(8);
}

/**
 * True when `buf` starts with the v1 magic (`NFPZ`). A legacy XDR message starts with a
 * big-endian ts_sec, which would have to be 0x4e46505a (year 2011) to collide; with rate
 * control a legacy message starts with 0x00 or 0x01 and never collides.
 */
export function isV1Frame(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === WIRE_V1_MAGIC;
}

/**
 * The wire's rules for one step of a walk over a records section (pcap-writer's
 * RecordCursor), in the order docs/wire-format.md gives: a header cut short, then incl_len above
 * WIRE_MAX_RECORD_BYTES, then data running past the end. Shared by every decoder of records
 * (v1 frames here, legacy conversion).
 *
 * @param step what `cursor.next()` returned (not RECORD_END)
 * @param cursor the cursor after that step
 * @throws WireError ERR_WIRE_TRUNCATED_RECORD, ERR_WIRE_OVERSIZE
 */
export function checkRecordStep(step: RecordStep, cursor: RecordCursor): void {
  // The record this step is about: the one just walked, or the one that does not fit.
  const index = step === RECORD_OK ? cursor.count - 1 : cursor.count;
  recordRules(step, index, cursor.inclLen, cursor.limit - cursor.offset);
}

/** {@link checkRecordStep} on the values; `left`: bytes from the record's start to the end. */
function recordRules(step: RecordStep, index: number, inclLen: number, left: number): void {
  if (step === RECORD_SHORT_HEADER) {
    fail('ERR_WIRE_TRUNCATED_RECORD', `record ${index}: ${left} bytes left for a 16-byte header`);
  }
  if (inclLen > WIRE_MAX_RECORD_BYTES) {
    fail(
      'ERR_WIRE_OVERSIZE',
      `record ${index}: incl_len ${inclLen} exceeds ${WIRE_MAX_RECORD_BYTES}`,
    );
  }
  if (step === RECORD_SHORT_DATA) {
    fail(
      'ERR_WIRE_TRUNCATED_RECORD',
      `record ${index}: incl_len ${inclLen} runs past the section end`,
    );
  }
}

/** Options of {@link validateRecords}. */
export interface ValidateRecordsOptions {
  /**
   * The records' linktype: each record must then hold at least minRecordDataBytes(linktype)
   * bytes (ERR_WIRE_SHORT_RECORD), and `count` such records must fit the section. Default: no
   * minimum. decodeFrame passes the frame's own.
   */
  linktype?: number;
  /**
   * Also rewrite every ts_usec as nanoseconds (× 1000) in place, in the same walk, for a
   * nanosecond pcap stream (`nflog-pcap-recv --pcap-nsec`). The section must be the caller's
   * own: it is modified, and left partly converted when it turns out to be bad.
   */
  nanosecond?: boolean;
}

/**
 * The fewest bytes `count` records of `linktype` take: each a 16-byte header and at least
 * minRecordDataBytes(linktype) bytes. A section (or a compressed frame's rawBytes) shorter than
 * this cannot hold them, whatever it contains: checked before walking or inflating anything.
 */
export function minRecordsBytes(count: number, linktype: number | undefined): number {
  return (
    count * (RECORD_HEADER_BYTES + (linktype === undefined ? 0 : minRecordDataBytes(linktype)))
  );
}

/**
 * Walk a section of pcap records (LE headers) once and check that it holds exactly `count`
 * whole records, each with incl_len at most WIRE_MAX_RECORD_BYTES (and, with `linktype`, at
 * least minRecordDataBytes of it), ending exactly at the end of the section. Reads only the
 * incl_len fields (and ts_usec with `nanosecond`); allocates nothing. Once it returns, the
 * records are whole and `count` is their number: whoever writes them on
 * (`PcapWriter.write(records, count)`) need not walk them again.
 *
 * @param records the records section (uncompressed)
 * @param count the record count the header claims
 * @param options `linktype`: the shortest record it allows; `nanosecond`: convert the
 *   timestamps in the same walk
 * @throws WireError ERR_WIRE_TRUNCATED_RECORD, ERR_WIRE_OVERSIZE, ERR_WIRE_SHORT_RECORD,
 *   ERR_WIRE_COUNT_MISMATCH, ERR_WIRE_BAD_TIMESTAMP (`nanosecond` only: a ts_usec above 4294967)
 */
export function validateRecords(
  records: Buffer,
  count: number,
  options: ValidateRecordsOptions = {},
): void {
  const length = records.length;
  // Cheap bound first: `count` records need at least 16 bytes (and the linktype's minimum) each.
  if (minRecordsBytes(count, options.linktype) > length) {
    fail('ERR_WIRE_COUNT_MISMATCH', `${count} records cannot fit in ${length} bytes`);
  }
  const nanosecond = options.nanosecond === true;
  // Locals, not the imported constants, in the loop (see pcap-writer's record-walk.ts).
  const maxRecordBytes = RECORD_HEADER_BYTES + WIRE_MAX_RECORD_BYTES;
  const minRecordBytes =
    RECORD_HEADER_BYTES +
    (options.linktype === undefined ? 0 : minRecordDataBytes(options.linktype));
  let seen = 0;
  for (let offset = 0, end; offset < length; offset = end) {
    end = recordEnd(records, offset);
    if (end < 0 || end - offset > maxRecordBytes) {
      // Rare: say which rule the record breaks (a cursor reads its incl_len either way).
      const c = new RecordCursor(records, offset);
      recordRules(c.next(), seen, c.inclLen, length - offset);
    }
    if (end - offset < minRecordBytes) {
      fail(
        'ERR_WIRE_SHORT_RECORD',
        `record ${seen}: incl_len ${end - offset - RECORD_HEADER_BYTES} is shorter than linktype ${options.linktype} allows (${minRecordBytes - RECORD_HEADER_BYTES})`,
      );
    }
    if (++seen > count) {
      fail('ERR_WIRE_COUNT_MISMATCH', `more than ${count} records (${length - offset} bytes left)`);
    }
    if (nanosecond && !recordToNanosecond(records, offset)) {
      fail('ERR_WIRE_BAD_TIMESTAMP', `record ${seen - 1}: ts_usec cannot be microseconds`);
    }
  }
  if (seen !== count)
    fail('ERR_WIRE_COUNT_MISMATCH', `header says ${count} records, section holds ${seen}`);
}

/**
 * Decode and check one v1 frame. Strict: every header length must agree with the message
 * length exactly. Uncompressed records are walked once, with {@link validateRecords} (which
 * also converts them to nanoseconds with `options.nanosecond`, modifying `buf`); compressed
 * frames are checked only against the header here (`rawBytes` cap, room for `count` records)
 * and must be validated after inflating (the compress package does that). A returned frame's
 * `records` are `count` whole records, ready for `PcapWriter.write(records, count)`.
 *
 * Errors are checked in this order (docs/wire-format.md, "Decoder errors"):
 * length < 4 → ERR_WIRE_SHORT_HEADER; magic → ERR_WIRE_BAD_MAGIC; length < 40 →
 * ERR_WIRE_SHORT_HEADER; ERR_WIRE_BAD_VERSION; ERR_WIRE_BAD_FLAGS; ERR_WIRE_BAD_RESERVED;
 * ERR_WIRE_LENGTH_MISMATCH (the kernel-order section, `32 + 4 × count` bytes with its flag,
 * included); ERR_WIRE_BAD_RESERVED (that section's); ERR_WIRE_OVERSIZE; then the records
 * (COUNT_MISMATCH, TRUNCATED_RECORD, OVERSIZE, SHORT_RECORD: each record must hold at least
 * minRecordDataBytes(linktype) bytes, and a compressed frame's rawBytes room for `count` such
 * records).
 *
 * @param buf one ZeroMQ message
 * @param options `maxRawBytes` (bytes, default WIRE_DEFAULT_MAX_RAW_BYTES), `nanosecond`
 * @returns the frame; `records`, `meta` and `order` are views into `buf`
 * @throws WireError with one of the codes above
 */
export function decodeFrame(buf: Buffer, options: DecodeFrameOptions = {}): Frame {
  const maxRawBytes = options.maxRawBytes ?? WIRE_DEFAULT_MAX_RAW_BYTES;
  const length = buf.length;
  if (length < 4)
    fail('ERR_WIRE_SHORT_HEADER', `${length} bytes, a v1 header is ${WIRE_V1_HEADER_BYTES}`);
  if (buf.readUInt32LE(0) !== WIRE_V1_MAGIC) {
    fail('ERR_WIRE_BAD_MAGIC', `bad magic 0x${buf.subarray(0, 4).toString('hex')}`);
  }
  if (length < WIRE_V1_HEADER_BYTES) {
    fail('ERR_WIRE_SHORT_HEADER', `${length} bytes, a v1 header is ${WIRE_V1_HEADER_BYTES}`);
  }
  const version = buf[4]!;
  if (version !== WIRE_V1_VERSION) fail('ERR_WIRE_BAD_VERSION', `unsupported version ${version}`);
  const flags = buf[5]!;
  if ((flags & ~KNOWN_FLAGS) !== 0)
    fail('ERR_WIRE_BAD_FLAGS', `unknown flags 0x${flags.toString(16)}`);
  if (buf.readUInt16LE(22) !== 0) fail('ERR_WIRE_BAD_RESERVED', 'reserved header field is not 0');
  const compressed = (flags & WIRE_FLAG_COMPRESSED) !== 0;
  const linktype = buf.readUInt16LE(6);
  const count = buf.readUInt32LE(8);
  const recordsBytes = buf.readUInt32LE(12);
  const rawBytes = buf.readUInt32LE(16);
  const metaBytes = buf.readUInt16LE(20);
  if (((flags & WIRE_FLAG_METADATA) !== 0) !== metaBytes > 0) {
    fail(
      'ERR_WIRE_LENGTH_MISMATCH',
      `metadata flag ${(flags & WIRE_FLAG_METADATA) !== 0} with metaBytes ${metaBytes}`,
    );
  }
  const metaEnd = WIRE_V1_HEADER_BYTES + metaBytes;
  const orderBytes =
    (flags & WIRE_FLAG_KERNEL_ORDER) !== 0 ? WIRE_ORDER_FIXED_BYTES + count * 4 : 0;
  const recordsStart = metaEnd + orderBytes;
  if (recordsStart + recordsBytes !== length) {
    fail(
      'ERR_WIRE_LENGTH_MISMATCH',
      `header says ${recordsStart + recordsBytes} bytes, message has ${length}`,
    );
  }
  if (orderBytes > 0 && buf.readUInt32LE(metaEnd + 28) !== 0)
    fail('ERR_WIRE_BAD_RESERVED', 'reserved field of the kernel-order section is not 0');
  if (!compressed && rawBytes !== recordsBytes) {
    fail(
      'ERR_WIRE_LENGTH_MISMATCH',
      `rawBytes ${rawBytes} != recordsBytes ${recordsBytes} in an uncompressed frame`,
    );
  }
  if (rawBytes > maxRawBytes)
    fail('ERR_WIRE_OVERSIZE', `rawBytes ${rawBytes} exceeds the cap ${maxRawBytes}`);
  const records = buf.subarray(recordsStart, length);
  if (compressed) {
    // Inflate happens elsewhere; reject what no inflate could make right: `count` records of
    // this linktype need more than rawBytes (a small bomb claiming millions of empty records).
    if (minRecordsBytes(count, linktype) > rawBytes || (count === 0 && rawBytes !== 0)) {
      fail('ERR_WIRE_COUNT_MISMATCH', `${count} records cannot make ${rawBytes} raw bytes`);
    }
  } else {
    validateRecords(records, count, { ...options, linktype });
  }
  const frame: Frame = {
    flags,
    compressed,
    linktype,
    count,
    senderId: buf.readBigUInt64LE(24),
    firstSeq: buf.readBigUInt64LE(32),
    recordsBytes,
    rawBytes,
    records,
  };
  if (metaBytes > 0) frame.meta = buf.subarray(WIRE_V1_HEADER_BYTES, metaEnd);
  if (orderBytes > 0) {
    frame.order = {
      namespaceId: buf.subarray(metaEnd, metaEnd + WIRE_NAMESPACE_ID_BYTES),
      delayBoundMs: buf.readUInt32LE(metaEnd + 24),
      seqGlobal: buf.subarray(metaEnd + WIRE_ORDER_FIXED_BYTES, recordsStart),
    };
  }
  return frame;
}

/**
 * Encode a metadata object as the UTF-8 JSON metadata section, e.g.
 * `{ host, pid, groups, kernelDropped }`.
 *
 * @throws WireError ERR_WIRE_OVERSIZE when the JSON exceeds WIRE_MAX_META_BYTES
 */
export function encodeFrameMeta(meta: Record<string, unknown>): Buffer {
  const out = Buffer.from(JSON.stringify(meta), 'utf8');
  if (out.length > WIRE_MAX_META_BYTES) {
    fail('ERR_WIRE_OVERSIZE', `metadata of ${out.length} bytes exceeds ${WIRE_MAX_META_BYTES}`);
  }
  return out;
}

/**
 * Parse a metadata section into a plain object. Not called by {@link decodeFrame}: only
 * consumers that want the metadata pay for JSON parsing.
 *
 * @throws WireError ERR_WIRE_BAD_META when it is not valid UTF-8 JSON of an object
 */
export function decodeFrameMeta(meta: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(meta));
  } catch (err) {
    throw new WireError('ERR_WIRE_BAD_META', 'metadata is not UTF-8 JSON', { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('ERR_WIRE_BAD_META', 'metadata is not a JSON object');
  }
  return value as Record<string, unknown>;
}
