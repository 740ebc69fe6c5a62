// Proves what a parsed query request selects from the ring: every field, IPv4/IPv6, NFLOG payloads, byte limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecords, iterateRecords } from '@nflog-pipe/pcap-writer';
import { parseQueryRequest } from '@nflog-pipe/shared';
import {
  parseAddress,
  parseIpPacket,
  queryFilterFrom,
  RingBuffer,
  selectRecords,
  type QueryFilter,
} from '@nflog-pipe/receiver';
import { ipv4, ipv6, ports, records } from './helpers.js';

const V6A = parseAddress('2001:db8::1')!;
const V6B = parseAddress('fd00::2')!;

// One packet per filter class; the name is what the test checks selections by.
const PACKETS: [string, Buffer][] = [
  ['udp4 10.0.0.1:1111>10.1.0.2:53', ipv4('10.0.0.1', '10.1.0.2', 17, ports(1111, 53))],
  ['tcp4 192.168.1.5:80>10.0.0.1:40000', ipv4('192.168.1.5', '10.0.0.1', 6, ports(80, 40000))],
  [
    'icmp4 172.16.0.1>172.16.0.2',
    ipv4('172.16.0.1', '172.16.0.2', 1, Buffer.from([8, 0, 0, 0, 0, 1, 0, 1])),
  ],
  ['udp6 2001:db8::1:5353>fd00::2:53', ipv6(V6A, V6B, 17, ports(5353, 53))],
  ['tcp6 fd00::2:443>2001:db8::1:50000', ipv6(V6B, V6A, 6, ports(443, 50000))],
  ['icmp6 fd00::2>2001:db8::1', ipv6(V6B, V6A, 58, Buffer.from([128, 0, 0, 0, 0, 1, 0, 1]))],
  // UDP behind a hop-by-hop options header (8 bytes, next = 17).
  [
    'udp6ext 2001:db8::1:7>fd00::2:8',
    ipv6(V6A, V6B, 17, ports(7, 8), Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]), 0),
  ],
  // A non-first IPv4 fragment of UDP: no ports visible.
  [
    'frag4 10.0.0.1>10.1.0.2',
    (() => {
      const p = ipv4('10.0.0.1', '10.1.0.2', 17, ports(1111, 53));
      p.writeUInt16BE(100, 6);
      return p;
    })(),
  ],
  ['short', Buffer.from([0x45, 0, 0])],
];

const TS = 1_700_000_000;

function ring(): RingBuffer {
  const r = new RingBuffer(1 << 20);
  // Packet i has timestamp TS + i seconds; two batches.
  const recs = PACKETS.map(([, data], i) => ({ tsSec: TS + i, tsFrac: 500, data }));
  r.push(encodeRecords(recs.slice(0, 4)), 4);
  r.push(encodeRecords(recs.slice(4)), recs.length - 4);
  return r;
}

function names(filter: QueryFilter | null, r = ring()): string[] {
  const sel = selectRecords(r.snapshot(), filter, { nanosecond: false });
  const out: string[] = [];
  for (const part of sel.parts) {
    for (const rec of iterateRecords(part)) out.push(PACKETS[rec.tsSec - TS]![0]);
  }
  assert.equal(sel.packets, out.length);
  assert.equal(
    sel.bytes,
    sel.parts.reduce((n, p) => n + p.length, 0),
  );
  return out;
}

function req(obj: Record<string, unknown>, nowMs = (TS + 100) * 1000): QueryFilter | null {
  return queryFilterFrom(parseQueryRequest(Buffer.from(JSON.stringify({ v: 1, ...obj }))), nowMs);
}

const ALL = PACKETS.map(([n]) => n);

const TABLE: [string, Record<string, unknown>, string[]][] = [
  ['no fields', {}, ALL],
  ['host v4 (src or dst)', { host: '10.0.0.1' }, [ALL[0]!, ALL[1]!, ALL[7]!]],
  ['host v6', { host: '2001:db8::1' }, [ALL[3]!, ALL[4]!, ALL[5]!, ALL[6]!]],
  ['net v4 /16', { net: '10.1.0.0/16' }, [ALL[0]!, ALL[7]!]],
  ['net v4 /8 with host bits', { net: '10.9.9.9/8' }, [ALL[0]!, ALL[1]!, ALL[7]!]],
  ['net v4 /0 matches every IPv4', { net: '0.0.0.0/0' }, [ALL[0]!, ALL[1]!, ALL[2]!, ALL[7]!]],
  ['net v6 /8', { net: 'fd00::/8' }, [ALL[3]!, ALL[4]!, ALL[5]!, ALL[6]!]],
  ['net v4 /12 odd bits', { net: '172.16.0.0/12' }, [ALL[2]!]],
  ['proto udp', { proto: 'udp' }, [ALL[0]!, ALL[3]!, ALL[6]!, ALL[7]!]],
  ['proto tcp', { proto: 'tcp' }, [ALL[1]!, ALL[4]!]],
  ['proto icmp (v4 and v6)', { proto: 'icmp' }, [ALL[2]!, ALL[5]!]],
  ['proto icmp6', { proto: 'icmp6' }, [ALL[5]!]],
  ['proto number 6', { proto: 6 }, [ALL[1]!, ALL[4]!]],
  ['port 53 (src or dst; fragments have none)', { port: 53 }, [ALL[0]!, ALL[3]!]],
  ['port behind an IPv6 extension header', { port: 8 }, [ALL[6]!]],
  ['port and proto', { port: 443, proto: 'tcp' }, [ALL[4]!]],
  ['host and port', { host: '10.0.0.1', port: 80 }, [ALL[1]!]],
  ['sinceUs', { sinceUs: (TS + 6) * 1e6 + 500 }, [ALL[6]!, ALL[7]!, ALL[8]!]],
  ['untilUs (exclusive)', { untilUs: (TS + 2) * 1e6 + 500 }, [ALL[0]!, ALL[1]!]],
  ['since and until', { sinceUs: (TS + 2) * 1e6, untilUs: (TS + 4) * 1e6 }, [ALL[2]!, ALL[3]!]],
  ['lastMs against the receiver clock', { lastMs: 93_000 }, [ALL[7]!, ALL[8]!]],
  [
    'maxBytes keeps the newest whole records',
    { maxBytes: 24 + (16 + 3) + (16 + 32) },
    [ALL[7]!, ALL[8]!],
  ],
  ['maxBytes below one record', { maxBytes: 30 }, []],
  ['a filter matching nothing', { host: '8.8.8.8' }, []],
];

for (const [name, obj, expected] of TABLE) {
  test(`filter: ${name}`, () => {
    assert.deepEqual(names(req(obj)), expected);
  });
}

test('selection without filters shares the ring buffers; a partly matching batch is one copy', () => {
  const r = ring();
  const snap = r.snapshot();
  const all = selectRecords(snap, null, { nanosecond: false });
  assert.deepEqual(
    all.parts,
    snap.map((b) => b.records),
  );
  assert.equal(all.parts[0], snap[0]!.records);
  const some = selectRecords(snap, req({ proto: 'tcp' }), { nanosecond: false });
  assert.equal(some.parts.length, 2);
  assert.notEqual(some.parts[0], snap[0]!.records);
});

test('nanosecond records are compared in µs', () => {
  const r = new RingBuffer(1 << 16);
  r.push(
    encodeRecords([
      { tsSec: TS, tsFrac: 999_999_999, data: PACKETS[0]![1] },
      { tsSec: TS + 1, tsFrac: 1000, data: PACKETS[1]![1] },
    ]),
    2,
  );
  const sel = selectRecords(r.snapshot(), req({ sinceUs: (TS + 1) * 1e6 + 1 }), {
    nanosecond: true,
  });
  assert.equal(sel.packets, 1);
});

test('linktype 239 filters on the NFLOG payload TLV', () => {
  const nflog = (pkt: Buffer): Buffer => {
    const prefix = Buffer.from([2, 0, 0, 0, 8, 0, 1, 0, 0x08, 0x00, 0x00, 0x00]); // hdr + NFULA_PACKET_HDR-ish TLV
    const tlv = Buffer.alloc(4 + pkt.length + ((4 - (pkt.length % 4)) % 4));
    tlv.writeUInt16LE(4 + pkt.length, 0);
    tlv.writeUInt16LE(9, 2);
    pkt.copy(tlv, 4);
    return Buffer.concat([prefix, tlv]);
  };
  const r = new RingBuffer(1 << 16);
  r.push(
    records([nflog(PACKETS[0]![1]), nflog(PACKETS[1]![1]), Buffer.from([2, 0, 0, 0, 3, 0])]),
    3,
    239,
  );
  const sel = selectRecords(r.snapshot(), req({ port: 53 }), { nanosecond: false });
  assert.equal(sel.packets, 1);
  assert.equal(sel.linktype, 239);
  // The same bytes stored as raw IP do not parse as IP packets: nothing matches.
  const raw = new RingBuffer(1 << 16);
  raw.push(records([nflog(PACKETS[0]![1])]), 1, 101);
  assert.equal(selectRecords(raw.snapshot(), req({ port: 53 }), { nanosecond: false }).packets, 0);
});

test('the whole ring (no v1 object) is no filter; lastMs and sinceUs: the later bound wins', () => {
  assert.equal(queryFilterFrom(parseQueryRequest(Buffer.from('q')), 0), null);
  const nowMs = (TS + 100) * 1000;
  assert.deepEqual(req({ lastMs: 10_000, sinceUs: 0 }, nowMs), { sinceUs: (TS + 90) * 1e6 });
  assert.deepEqual(req({ lastMs: 10_000, sinceUs: (TS + 95) * 1e6 }, nowMs), {
    sinceUs: (TS + 95) * 1e6,
  });
  assert.deepEqual(req({ lastMs: nowMs + 5 }, nowMs), { sinceUs: 0 });
  assert.deepEqual(req({ proto: 'ICMP' }), { protos: [1, 58] });
});

test('IP header parsing reads addresses, protocol and ports', () => {
  const f = parseIpPacket(PACKETS[6]![1])!;
  assert.equal(f.family, 6);
  assert.equal(f.proto, 17);
  assert.deepEqual([f.srcPort, f.dstPort], [7, 8]);
  assert.equal(parseIpPacket(PACKETS[8]![1]), null);
  assert.equal(parseIpPacket(Buffer.alloc(0)), null);
  assert.deepEqual(
    parseAddress('::ffff:1.2.3.4'),
    Buffer.from('00000000000000000000ffff01020304', 'hex'),
  );
  assert.deepEqual(parseAddress('1::'), Buffer.from('00010000000000000000000000000000', 'hex'));
  assert.equal(parseAddress('1.2.3'), null);
});
