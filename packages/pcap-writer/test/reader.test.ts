// Proves readPcap accepts both magics in both byte orders and rejects every malformed input class.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  PcapFormatError,
  encodePcapHeader,
  encodeRecords,
  readPcap,
  readPcapFile,
} from '../src/index.js';
import { makeTempDir } from '@nflog-pipe/testing';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const bigEndian: {
  name: string;
  bytes: string;
  nanosecond: boolean;
  linktype: number;
  tsFrac: number;
}[] = [
  {
    name: 'big-endian usec, raw IP',
    bytes:
      'a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000065' +
      '6553f100 0001e240 00000002 00000040 4500',
    nanosecond: false,
    linktype: 101,
    tsFrac: 123456,
  },
  {
    name: 'big-endian nsec, NFLOG',
    bytes:
      'a1b23c4d 0002 0004 00000000 00000000 0000ffff 000000ef' +
      '6553f100 075bcd15 00000002 00000040 0200',
    nanosecond: true,
    linktype: 239,
    tsFrac: 123456789,
  },
];

for (const b of bigEndian) {
  test(`readPcap: ${b.name}`, () => {
    const file = readPcap(hex(b.bytes));
    assert.deepEqual(file.header, {
      nanosecond: b.nanosecond,
      linktype: b.linktype,
      snaplen: 65535,
      littleEndian: false,
    });
    assert.equal(file.records.length, 1);
    const [r] = file.records;
    assert.ok(r);
    assert.deepEqual(
      { tsSec: r.tsSec, tsFrac: r.tsFrac, inclLen: r.inclLen, origLen: r.origLen },
      { tsSec: 1700000000, tsFrac: b.tsFrac, inclLen: 2, origLen: 64 },
    );
    assert.deepEqual(r.data, hex(b.bytes).subarray(40));
  });
}

test('readPcap: little-endian nsec header, no records', () => {
  const file = readPcap(encodePcapHeader({ nanosecond: true, linktype: 239, snaplen: 1500 }));
  assert.deepEqual(file, {
    header: { nanosecond: true, linktype: 239, snaplen: 1500, littleEndian: true },
    records: [],
  });
});

test('readPcap masks the FCS bits off the link type', () => {
  const buf = encodePcapHeader();
  buf.writeUInt32LE(0x1000_0000 | 0x0004_0000 | 101, 20); // F bit + FCS length 4... and 101
  assert.equal(readPcap(buf).header.linktype, 101);
});

const header = encodePcapHeader();
const rec = encodeRecords([{ tsSec: 1, tsFrac: 2, data: hex('aabbcc') }]);

const malformed: { name: string; buf: Buffer; code: string; offset: number }[] = [
  { name: 'empty', buf: Buffer.alloc(0), code: 'ERR_PCAP_TRUNCATED', offset: 0 },
  {
    name: 'short header (23 bytes)',
    buf: header.subarray(0, 23),
    code: 'ERR_PCAP_TRUNCATED',
    offset: 0,
  },
  { name: 'bad magic (zeros)', buf: Buffer.alloc(24), code: 'ERR_PCAP_BAD_MAGIC', offset: 0 },
  {
    name: 'bad magic (pcapng section header)',
    buf: hex('0a0d0d0a' + '00'.repeat(28)),
    code: 'ERR_PCAP_BAD_MAGIC',
    offset: 0,
  },
  {
    name: 'bad magic (half-swapped)',
    buf: Buffer.concat([hex('c3d4a1b2'), header.subarray(4)]),
    code: 'ERR_PCAP_BAD_MAGIC',
    offset: 0,
  },
  {
    name: 'truncated record header',
    buf: Buffer.concat([header, rec.subarray(0, 10)]),
    code: 'ERR_PCAP_TRUNCATED',
    offset: 24,
  },
  {
    name: 'incl_len past end',
    buf: Buffer.concat([header, rec.subarray(0, rec.length - 1)]),
    code: 'ERR_PCAP_TRUNCATED',
    offset: 24,
  },
  {
    name: 'second record incl_len past end',
    buf: Buffer.concat([header, rec, rec.subarray(0, rec.length - 2)]),
    code: 'ERR_PCAP_TRUNCATED',
    offset: 24 + rec.length,
  },
];

for (const m of malformed) {
  test(`readPcap malformed: ${m.name}`, () => {
    assert.throws(
      () => readPcap(m.buf),
      (err: unknown) => {
        assert.ok(err instanceof PcapFormatError);
        assert.equal(err.code, m.code);
        assert.equal(err.offset, m.offset);
        return true;
      },
    );
  });
}

test('readPcapFile reads from disk and reports fs errors by code', async (t) => {
  const dir = await makeTempDir(t);
  const path = join(dir, 'a.pcap');
  await writeFile(path, Buffer.concat([header, rec]));
  const file = await readPcapFile(path);
  assert.equal(file.records.length, 1);
  assert.deepEqual(file.records[0]?.data, hex('aabbcc'));
  await assert.rejects(readPcapFile(join(dir, 'missing.pcap')), { code: 'ENOENT' });
});
