// Builds little-endian pcap records for the pure tests (no dependency on pcap-writer).

/** One pcap record: 16-byte LE header (ts_sec, ts_usec, incl_len, orig_len) then `data`. */
export function record(tsSec: number, tsUsec: number, data: Buffer, origLen = data.length): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(tsSec, 0);
  h.writeUInt32LE(tsUsec, 4);
  h.writeUInt32LE(data.length, 8);
  h.writeUInt32LE(origLen, 12);
  return Buffer.concat([h, data]);
}

/**
 * `n` records whose payload sizes are `sizes[i]`, bytes filled with the record index. Frames
 * that a test decodes need sizes of at least 20: decodeFrame refuses a linktype-101 record
 * shorter than an IPv4 header (ERR_WIRE_SHORT_RECORD).
 */
export function records(sizes: readonly number[]): Buffer {
  return Buffer.concat(
    sizes.map((size, i) => record(1_700_000_000 + i, i, Buffer.alloc(size, i & 0xff))),
  );
}
