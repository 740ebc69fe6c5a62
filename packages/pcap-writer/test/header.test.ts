// Proves encodePcapHeader emits the exact pcap-savefile(5) bytes for usec/nsec and linktypes 101/239.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LINKTYPE_NFLOG,
  LINKTYPE_RAW,
  PCAP_DEFAULT_SNAPLEN,
  PCAP_HEADER_BYTES,
  PCAP_MAGIC_NSEC,
  PCAP_MAGIC_USEC,
  PCAP_RECORD_HEADER_BYTES,
  encodePcapHeader,
} from '../src/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('constants have their pcap-savefile(5) values', () => {
  assert.equal(PCAP_MAGIC_USEC, 0xa1b2c3d4);
  assert.equal(PCAP_MAGIC_NSEC, 0xa1b23c4d);
  assert.equal(LINKTYPE_RAW, 101);
  assert.equal(LINKTYPE_NFLOG, 239);
  assert.equal(PCAP_HEADER_BYTES, 24);
  assert.equal(PCAP_RECORD_HEADER_BYTES, 16);
  assert.equal(PCAP_DEFAULT_SNAPLEN, 262144);
});

const golden: { name: string; options: Parameters<typeof encodePcapHeader>[0]; bytes: string }[] = [
  // magic     ver  ver  thiszone sigfigs  snaplen  network
  {
    name: 'defaults: usec, raw IP, snaplen 262144',
    options: {},
    bytes: 'd4c3b2a1 0200 0400 00000000 00000000 00000400 65000000',
  },
  {
    name: 'usec, linktype 101',
    options: { linktype: 101, nanosecond: false },
    bytes: 'd4c3b2a1 0200 0400 00000000 00000000 00000400 65000000',
  },
  {
    name: 'nsec, linktype 101',
    options: { linktype: 101, nanosecond: true },
    bytes: '4d3cb2a1 0200 0400 00000000 00000000 00000400 65000000',
  },
  {
    name: 'usec, linktype 239',
    options: { linktype: 239 },
    bytes: 'd4c3b2a1 0200 0400 00000000 00000000 00000400 ef000000',
  },
  {
    name: 'nsec, linktype 239',
    options: { linktype: 239, nanosecond: true },
    bytes: '4d3cb2a1 0200 0400 00000000 00000000 00000400 ef000000',
  },
  {
    name: 'snaplen 65535',
    options: { snaplen: 65535 },
    bytes: 'd4c3b2a1 0200 0400 00000000 00000000 ffff0000 65000000',
  },
];

for (const g of golden) {
  test(`header golden bytes: ${g.name}`, () => {
    const buf = encodePcapHeader(g.options);
    assert.equal(buf.length, PCAP_HEADER_BYTES);
    assert.deepEqual(buf, hex(g.bytes));
  });
}

test('header rejects values that do not fit the 32-bit fields', () => {
  assert.throws(() => encodePcapHeader({ snaplen: 2 ** 32 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => encodePcapHeader({ linktype: -1 }), { code: 'ERR_OUT_OF_RANGE' });
});
