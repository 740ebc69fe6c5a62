// A ZeroMQ PULL socket that only counts: the "sender alone" bench row's far end.
// Usage: node count-sink.js <bind-endpoint>. Prints `ready` on stderr once bound; on SIGINT or
// SIGTERM prints one JSON line on stdout and exits 0:
//   {"frames","records","rawBytes","bad","gapPackets","senders"}
// `gapPackets` sums the sequence gaps per sender (packets the sender numbered but that never
// arrived here: its own counted drops plus anything lost in between).
import { Pull } from 'zeromq';
import { decodeFrame } from '@nflog-pipe/shared';

const endpoint = process.argv[2];
if (endpoint === undefined) {
  process.stderr.write('count-sink: usage: count-sink <bind-endpoint>\n');
  process.exit(2);
}

const sock = new Pull({ linger: 0, receiveHighWaterMark: 10_000 });
let frames = 0;
let records = 0;
let rawBytes = 0;
let bad = 0;
let gapPackets = 0;
const expected = new Map<bigint, bigint>();
let stopping = false;

function report(): void {
  process.stdout.write(
    `${JSON.stringify({ frames, records, rawBytes, bad, gapPackets, senders: expected.size })}\n`,
  );
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  sock.close();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

await sock.bind(endpoint);
process.stderr.write('count-sink: ready\n');
try {
  for await (const [msg] of sock) {
    if (msg === undefined) continue;
    try {
      const f = decodeFrame(msg);
      frames += 1;
      records += f.count;
      rawBytes += f.rawBytes;
      const want = expected.get(f.senderId);
      if (want !== undefined && f.firstSeq > want) gapPackets += Number(f.firstSeq - want);
      expected.set(f.senderId, f.firstSeq + BigInt(f.count));
    } catch {
      bad += 1;
    }
  }
} catch (err) {
  // Closing the socket ends the iterator with ETERM/EAGAIN-like errors; only report others.
  if (!stopping) throw err;
}
report();
