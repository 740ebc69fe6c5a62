import { open } from 'node:fs/promises';

/** What a pcap file holds, counted without loading it. */
export interface PcapCount {
  /** Whole records found. */
  records: number;
  /** Sum of the records' captured lengths (incl_len), in bytes. */
  capturedBytes: number;
  /** Link type from the global header, or -1 for an empty/short file. */
  linktype: number;
  /** Bytes after the last whole record (a torn final record, normally 0). */
  trailingBytes: number;
}

const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Counts the records of a pcap file (pcap-savefile(5): 24-byte global header, then 16-byte record
 * headers whose incl_len says how many bytes follow) by walking the headers in 4 MiB reads, so
 * multi-GiB captures cost no memory. Either byte order.
 * @throws on a bad magic number or when the file cannot be read.
 */
export async function countPcapRecords(path: string): Promise<PcapCount> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const head = await fh.read(buf, 0, 24, 0);
    if (head.bytesRead < 24)
      return { records: 0, capturedBytes: 0, linktype: -1, trailingBytes: head.bytesRead };
    let le: boolean;
    if (isMagic(buf.readUInt32LE(0))) le = true;
    else if (isMagic(buf.readUInt32BE(0))) le = false;
    else throw new Error(`${path}: not a pcap file (magic 0x${buf.readUInt32LE(0).toString(16)})`);
    const linktype = le ? buf.readUInt32LE(20) : buf.readUInt32BE(20);
    let records = 0;
    let capturedBytes = 0;
    let next = 24; // file offset of the next record header
    let bufStart = 0; // file offset of buf[0]
    let bufEnd = 0; // file offset just past the valid bytes in buf
    while (next + 16 <= size) {
      if (next < bufStart || next + 16 > bufEnd) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, next);
        bufStart = next;
        bufEnd = next + bytesRead;
        if (bytesRead < 16) break;
      }
      const at = next - bufStart;
      const incl = le ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
      if (next + 16 + incl > size) break; // torn final record
      records += 1;
      capturedBytes += incl;
      next += 16 + incl;
    }
    return { records, capturedBytes, linktype, trailingBytes: size - next };
  } finally {
    await fh.close();
  }
}

function isMagic(m: number): boolean {
  return m === 0xa1b2c3d4 || m === 0xa1b23c4d;
}
