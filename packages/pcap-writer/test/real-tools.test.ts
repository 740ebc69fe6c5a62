// Proves pcaps written by PcapWriter (raw IP and NFLOG, usec and nsec) read back exactly in tcpdump and tshark.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LINKTYPE_NFLOG,
  LINKTYPE_RAW,
  PcapWriter,
  encodeRecords,
  readPcapFile,
  type PcapPacket,
} from '../src/index.js';
import {
  TEST_TIMEOUT_MS,
  ipv4Udp,
  ipv6Udp,
  makeTempDir,
  nflogPacket,
  requirePrereqs,
  runCommand,
  withTimeout,
} from '@nflog-pipe/testing';

const TS_SEC = 1700000000;
const FRAC_USEC = [1, 500000, 999999];
const FRAC_NSEC = [1, 500000007, 999999999];

const v4 = ipv4Udp('10.1.2.3', '10.4.5.6', 1234, 5678, Buffer.from('hello')); // 33 bytes
const v6 = ipv6Udp('fd00::1', 'fd00::2', 4321, 8765, Buffer.from('world!')); // 54 bytes
const v4big = ipv4Udp('192.0.2.7', '198.51.100.9', 7777, 9999, Buffer.alloc(200, 0x61)); // 228 bytes

interface Expected {
  data: Buffer;
  origLen: number;
  tcpdump: string; // tcpdump -nn -tt line after the timestamp
  fields: string; // ip.src,ipv6.src,udp.srcport,udp.dstport,ip.checksum.status,udp.checksum.status,nflog.prefix,nflog.res_id
}

// Checksum status 1 = good (tshark verifies it with the -o options below); 2 = unverified,
// which is what a truncated datagram gets.
const RAW: Expected[] = [
  {
    data: v4,
    origLen: 33,
    tcpdump: 'IP 10.1.2.3.1234 > 10.4.5.6.5678: UDP, length 5',
    fields: '10.1.2.3,,1234,5678,1,1,,',
  },
  {
    data: v6,
    origLen: 54,
    tcpdump: 'IP6 fd00::1.4321 > fd00::2.8765: UDP, length 6',
    fields: ',fd00::1,4321,8765,,1,,',
  },
  {
    data: v4big.subarray(0, 60), // a snaplen-truncated capture: incl_len 60, orig_len 228
    origLen: 228,
    tcpdump: 'IP 192.0.2.7.7777 > 198.51.100.9.9999: UDP, length 200',
    fields: '192.0.2.7,,7777,9999,1,2,,',
  },
];

const NFLOG: Expected[] = [
  {
    data: nflogPacket(v4, 7, 'pfx-a'),
    origLen: 64,
    tcpdump: RAW[0]!.tcpdump,
    fields: '10.1.2.3,,1234,5678,1,1,pfx-a,7',
  },
  {
    data: nflogPacket(v6, 7, 'pfx-b'),
    origLen: 84,
    tcpdump: RAW[1]!.tcpdump,
    fields: ',fd00::1,4321,8765,,1,pfx-b,7',
  },
  {
    data: nflogPacket(v4big, 65535, 'drop in'),
    origLen: 256,
    tcpdump: 'IP 192.0.2.7.7777 > 198.51.100.9.9999: UDP, length 200',
    fields: '192.0.2.7,,7777,9999,1,1,drop in,65535',
  },
];

const combos = [
  { linktype: LINKTYPE_RAW, nanosecond: false, expected: RAW, linkName: 'RAW (Raw IP)' },
  { linktype: LINKTYPE_RAW, nanosecond: true, expected: RAW, linkName: 'RAW (Raw IP)' },
  {
    linktype: LINKTYPE_NFLOG,
    nanosecond: false,
    expected: NFLOG,
    linkName: 'NFLOG (Linux netfilter log messages)',
  },
  {
    linktype: LINKTYPE_NFLOG,
    nanosecond: true,
    expected: NFLOG,
    linkName: 'NFLOG (Linux netfilter log messages)',
  },
];

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

for (const c of combos) {
  const res = c.nanosecond ? 'nsec' : 'usec';
  test(`linktype ${c.linktype} ${res}: tcpdump and tshark read back every packet exactly`, async (t) => {
    if (!requirePrereqs(t, { tools: ['tcpdump', 'tshark'] })) return;
    const dir = await makeTempDir(t);
    const path = join(dir, `lt${c.linktype}-${res}.pcap`);
    const fracs = c.nanosecond ? FRAC_NSEC : FRAC_USEC;
    const packets: PcapPacket[] = c.expected.map((e, i) => ({
      tsSec: TS_SEC + i,
      tsFrac: fracs[i]!,
      data: e.data,
      origLen: e.origLen,
    }));
    // sanity of the fixtures themselves: lengths stated above are the real ones
    assert.deepEqual(
      c.expected.map((e) => e.data.length),
      c.linktype === LINKTYPE_RAW ? [33, 54, 60] : [64, 84, 256],
    );

    const writer = await PcapWriter.open(path, { linktype: c.linktype, nanosecond: c.nanosecond });
    assert.equal(writer.kind, 'file');
    // two writes: whole records may arrive in several batches
    assert.equal(writer.write(encodeRecords(packets.slice(0, 1))), true);
    assert.equal(writer.write(encodeRecords(packets.slice(1))), true);
    await withTimeout(writer.close(), TEST_TIMEOUT_MS, 'close');

    const file = await readPcapFile(path);
    assert.deepEqual(file.header, {
      nanosecond: c.nanosecond,
      linktype: c.linktype,
      snaplen: 262144,
      littleEndian: true,
    });
    assert.equal(file.records.length, 3);

    // tcpdump prints microseconds with -tt; with --nano it prints the nanoseconds we wrote.
    const td = await runCommand('tcpdump', ['-nn', '-tt', '-r', path]);
    assert.match(
      td.stderr,
      new RegExp(`link-type ${c.linkName.replace(/[()]/g, '\\$&')}, snapshot length 262144`),
    );
    assert.deepEqual(
      lines(td.stdout),
      c.expected.map((e, i) => {
        const usec = c.nanosecond ? Math.floor(fracs[i]! / 1000) : fracs[i]!;
        return `${TS_SEC + i}.${String(usec).padStart(6, '0')} ${e.tcpdump}`;
      }),
    );

    const ts = await runCommand('tshark', [
      '-r', path,
      '-o', 'ip.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE',
      '-T', 'fields', '-E', 'separator=,',
      '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch',
      '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'udp.dstport',
      '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'nflog.prefix', '-e', 'nflog.res_id',
    ]); // prettier-ignore
    assert.deepEqual(
      lines(ts.stdout),
      c.expected.map((e, i) => {
        // frame.time_epoch always has 9 digits: ours for nsec files, usec + '000' otherwise
        const nsec = c.nanosecond ? fracs[i]! : fracs[i]! * 1000;
        const epoch = `${TS_SEC + i}.${String(nsec).padStart(9, '0')}`;
        return `${e.origLen},${e.data.length},${epoch},${e.fields}`;
      }),
    );
  });
}
