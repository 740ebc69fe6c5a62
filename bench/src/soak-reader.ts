// The soak's FIFO reader, standing in for the IDS: reads a live pcap stream from a FIFO and
// counts its whole records without keeping them (a 10-minute soak is GiBs). Usage:
// node soak-reader.js FIFO. At EOF (the receiver closed the FIFO or died) or on SIGTERM it
// prints one JSON line on stdout and exits 0: {"records","bytes","trailingBytes"}. A record
// it has only part of is not counted: the receiver counts it lost (it reads back what a reader
// left in the pipe), so the two agree.
import { createReadStream } from 'node:fs';
import {
  PCAP_HEADER_BYTES,
  RECORD_OK,
  RecordCursor,
  readPcapHeader,
} from '@nflog-pipe/pcap-writer';

const fifo = process.argv[2];
if (fifo === undefined) {
  process.stderr.write('soak-reader: usage: soak-reader FIFO\n');
  process.exit(2);
}

let records = 0;
let bytes = 0;
let littleEndian: boolean | undefined;
/** Bytes read but not yet part of a whole record (the start of the next one). */
let pending: Buffer = Buffer.alloc(0);
let done = false;

function take(chunk: Buffer): void {
  bytes += chunk.length;
  let buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  if (littleEndian === undefined) {
    if (buf.length < PCAP_HEADER_BYTES) {
      pending = buf;
      return;
    }
    littleEndian = readPcapHeader(buf.subarray(0, PCAP_HEADER_BYTES)).littleEndian;
    buf = buf.subarray(PCAP_HEADER_BYTES);
  }
  const c = new RecordCursor(buf, 0, buf.length, littleEndian);
  while (c.next() === RECORD_OK);
  records += c.count;
  // Copy the tail: it must not pin the whole chunk.
  pending = Buffer.from(buf.subarray(c.end));
}

function finish(): void {
  if (done) return;
  done = true;
  process.stdout.write(`${JSON.stringify({ records, bytes, trailingBytes: pending.length })}\n`);
  process.exit(0);
}

const stream = createReadStream(fifo, { highWaterMark: 1 << 20 });
stream.on('data', (chunk) => take(chunk as Buffer));
stream.on('end', finish);
stream.on('error', (err) => {
  process.stderr.write(`soak-reader: ${fifo}: ${err.message}\n`);
  process.exit(1);
});
// SIGTERM: stop where we are; what was read is counted, what is still in the pipe is not ours.
process.on('SIGTERM', finish);
process.on('SIGINT', finish);
