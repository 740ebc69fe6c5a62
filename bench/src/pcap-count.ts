import { open } from 'node:fs/promises';
import {
  PCAP_HEADER_BYTES,
  RECORD_OK,
  RecordCursor,
  readPcapHeader,
} from '@nflog-pipe/pcap-writer';
import { MIB } from '@nflog-pipe/shared';

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

const CHUNK_BYTES = 4 * MIB;

/**
 * Counts the records of a pcap file (pcap-savefile(5): 24-byte global header, then 16-byte record
 * headers whose incl_len says how many bytes follow) by walking the headers (pcap-writer's
 * RecordCursor) in 4 MiB reads, so multi-GiB captures cost no memory. Either byte order.
 * @throws PcapFormatError `ERR_PCAP_BAD_MAGIC`, or the fs error when the file cannot be read.
 */
export async function countPcapRecords(path: string): Promise<PcapCount> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const head = await fh.read(buf, 0, PCAP_HEADER_BYTES, 0);
    if (head.bytesRead < PCAP_HEADER_BYTES)
      return { records: 0, capturedBytes: 0, linktype: -1, trailingBytes: head.bytesRead };
    const { linktype, littleEndian } = readPcapHeader(buf.subarray(0, PCAP_HEADER_BYTES));
    let records = 0;
    let capturedBytes = 0;
    let next = PCAP_HEADER_BYTES; // file offset of the next record header
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, next);
      // The whole records in this chunk; the one it cuts is read again from its start.
      const c = new RecordCursor(buf, 0, bytesRead, littleEndian);
      while (c.next() === RECORD_OK) capturedBytes += c.inclLen;
      records += c.count;
      next += c.end;
      // Nothing whole in this chunk: the file ends here (a torn record is trailing bytes).
      if (c.count === 0) break;
    }
    return { records, capturedBytes, linktype, trailingBytes: size - next };
  } finally {
    await fh.close();
  }
}
