// Proves the C record walker (parseNflogMessages) turns recorded and hand-built NFLOG datagrams into exact pcap records and index entries, and counts (never crashes on) every malformed-input class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  NFULA,
  NF_INET,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NFULNL_MSG_PACKET,
  nflogMessage,
  nflogTlv,
  nlmsg,
  parseIpPacket,
  payloadFor,
  type NflogMessageSpec,
} from '@nflog-pipe/testing';
import {
  NFLOG_INDEX,
  NFLOG_INDEX_ENTRY_BYTES,
  NFLOG_NO_HOOK,
  NFLOG_RECORD_FLAG as F,
  NflogError,
  indexFlags,
  indexOffset,
  indexSeqGlobal,
  murmur3x86_32,
  parseNflogMessages,
} from '../src/index.js';
import { parseNflogRecord, readDatagrams, splitRecords } from './helpers.js';

const NFULA_PAYLOAD = NFULA.PAYLOAD;
const NFULA_PREFIX = NFULA.PREFIX;
const NFULA_SEQ = NFULA.SEQ;
const NFULA_TIMESTAMP = NFULA.TIMESTAMP;

/** Recorded from a live kernel (test/fixtures/capture.mjs with rawOut): u32 LE length + datagram, twice. */
function recordedDatagrams(): Buffer[] {
  return readDatagrams('nflog-datagrams.bin');
}

/** A minimal IPv4/UDP packet with a correct total length (header checksum 0, UDP checksum none). */
function ipv4Udp(payload: Buffer, totLen = 28 + payload.length): Buffer {
  const b = Buffer.alloc(28 + payload.length);
  b.writeUInt8(0x45, 0);
  b.writeUInt16BE(totLen, 2);
  b.writeUInt8(17, 9);
  b.writeUInt16BE(9000, 22);
  b.writeUInt16BE(8 + payload.length, 24);
  payload.copy(b, 28);
  return b;
}

interface PktSpec {
  group?: number;
  family?: number;
  ip?: Buffer;
  ts?: [number, number];
  seq?: number;
  prefix?: string;
  extra?: Buffer[];
}

/** A received packet (input hook, input interface): the walker never touches its bytes. */
function packetMsg(p: PktSpec): Buffer {
  const spec: NflogMessageSpec = {
    group: p.group ?? 1,
    family: p.family ?? 2,
    hook: NF_INET.LOCAL_IN,
    indev: 1,
    ...(p.ts !== undefined ? { ts: p.ts } : {}),
    ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
    ...(p.seq !== undefined ? { seq: p.seq } : {}),
    ...(p.extra !== undefined ? { extra: p.extra } : {}),
    ...(p.ip !== undefined ? { payload: p.ip } : {}),
  };
  return nflogMessage(spec);
}

function recordHeader(tsSec: number, tsUsec: number, incl: number, orig: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(tsSec, 0);
  b.writeUInt32LE(tsUsec, 4);
  b.writeUInt32LE(incl, 8);
  b.writeUInt32LE(orig, 12);
  return b;
}

/** Index entry `i` of a walk, as named fields. */
function entry(index: Buffer, i: number): Record<string, number> {
  const e = index.subarray(i * NFLOG_INDEX_ENTRY_BYTES, (i + 1) * NFLOG_INDEX_ENTRY_BYTES);
  return {
    offset: e.readUInt32LE(NFLOG_INDEX.OFFSET),
    seqGlobal: e.readUInt32LE(NFLOG_INDEX.SEQ_GLOBAL),
    flowHash: e.readUInt32LE(NFLOG_INDEX.FLOW_HASH),
    group: e.readUInt16LE(NFLOG_INDEX.GROUP),
    hook: e[NFLOG_INDEX.HOOK]!,
    flags: e[NFLOG_INDEX.FLAGS]!,
  };
}

test('recorded batch (output hook, 2 packets + NLMSG_DONE): raw IP records stamped at receipt', () => {
  const [batch] = recordedDatagrams();
  assert.ok(batch !== undefined);
  const before = Date.now();
  const r = parseNflogMessages(batch, 101);
  const after = Date.now();
  assert.equal(r.count, 2);
  assert.deepEqual([r.malformed, r.truncated, r.kernelDropped], [0, 0, 0]);
  const recs = splitRecords(r.records);
  assert.deepEqual(
    recs.map((x) => [x.inclLen, x.origLen]),
    [
      [48, 48],
      [48, 48],
    ],
  );
  recs.forEach((x, i) => {
    assert.deepEqual(parseIpPacket(x.data), {
      family: 4,
      proto: 17,
      dport: 9101,
      payload: payloadFor(1, i, 20),
    });
    const us = x.tsSec * 1e6 + x.tsUsec;
    assert.ok(us >= before * 1000 && us <= (after + 1) * 1000, 'no NFULA_TIMESTAMP: receipt time');
    // Recorded before NFULNL_CFG_F_SEQ_GLOBAL was asked for: no global sequence number. Its
    // flow hash: 127.0.0.1 both ways, UDP, the lower port first (README "Flow hash").
    const [sport, dport] = [x.data.readUInt16BE(20), x.data.readUInt16BE(22)];
    const key = Buffer.from([127, 0, 0, 1, 127, 0, 0, 1, 17, 0, 0, 0, 0]);
    key.writeUInt16BE(Math.min(sport, dport), 9);
    key.writeUInt16BE(Math.max(sport, dport), 11);
    assert.deepEqual(entry(r.index, i), {
      offset: i * 64,
      seqGlobal: 0,
      flowHash: murmur3x86_32(key),
      group: 7,
      hook: NF_INET.LOCAL_OUT,
      flags: F.OUTDEV | (r.checksumsFixed > 0 ? F.CHECKSUM_FIXED : 0),
    });
  });
  assert.equal(r.bytes, 96);
  assert.equal(r.index.length, 2 * NFLOG_INDEX_ENTRY_BYTES);
});

test('recorded input-hook packet (IPv6): kernel timestamp, exact bytes in 101 and 239', () => {
  const [, single] = recordedDatagrams();
  assert.ok(single !== undefined);
  const nlmsgLen = single.readUInt32LE(0);
  assert.equal(nlmsgLen, single.length);
  // NFULA_TIMESTAMP in this recording: BE u64 sec 0x6b014075, usec 0x53c6a.
  const tsSec = 0x6b014075;
  const tsUsec = 0x53c6a;
  const ip = Buffer.concat([
    Buffer.from('600e25a800181140', 'hex'),
    Buffer.alloc(15),
    Buffer.from([1]),
    Buffer.alloc(15),
    Buffer.from([1]),
    Buffer.from('cb2a238e0018002b', 'hex'),
    payloadFor(2, 0, 16),
  ]);
  assert.deepEqual(
    parseNflogMessages(single, 101).records,
    Buffer.concat([recordHeader(tsSec, tsUsec, 64, 64), ip]),
  );
  // 239: nfgenmsg + TLVs verbatim (LE lengths/types on this LE host).
  const body = single.subarray(16);
  const r239 = parseNflogMessages(single, 239);
  assert.equal(r239.count, 1);
  assert.deepEqual(
    r239.records,
    Buffer.concat([recordHeader(tsSec, tsUsec, body.length, body.length), body]),
  );
  const rec = parseNflogRecord(r239.records.subarray(16));
  assert.deepEqual([rec.family, rec.version, rec.group], [10, 0, 8]);
  assert.equal(rec.tlvs.get(NFULA_PREFIX)?.toString('latin1'), 'nfp-b\0');
  assert.deepEqual(rec.tlvs.get(NFULA_PAYLOAD), ip);
});

test('hand-built: timestamp, seq gaps per group, truncation from the IP header, skipped message types', () => {
  const p = (i: number): Buffer => ipv4Udp(payloadFor(9, i, 12));
  const buf = Buffer.concat([
    packetMsg({ group: 1, seq: 0, ts: [1000, 5], ip: p(0) }),
    nlmsg(NLMSG_NOOP, Buffer.alloc(0)),
    packetMsg({ group: 2, seq: 10, ts: [1001, 6], ip: p(1) }),
    packetMsg({ group: 1, seq: 4, ts: [1002, 7], ip: p(2) }), // 3 lost in group 1
    nlmsg(NLMSG_ERROR, Buffer.alloc(20)),
    packetMsg({ group: 2, seq: 12, ts: [1003, 8], ip: ipv4Udp(payloadFor(9, 3, 12), 1500) }), // 1 lost in group 2
    nlmsg(NLMSG_DONE, Buffer.alloc(4)),
  ]);
  const r = parseNflogMessages(buf, 101);
  assert.equal(r.count, 4);
  assert.equal(r.kernelDropped, 4);
  assert.equal(r.truncated, 1);
  assert.equal(r.malformed, 0);
  assert.deepEqual(
    r.records,
    Buffer.concat([
      recordHeader(1000, 5, 40, 40),
      p(0),
      recordHeader(1001, 6, 40, 40),
      p(1),
      recordHeader(1002, 7, 40, 40),
      p(2),
      recordHeader(1003, 8, 40, 1500),
      ipv4Udp(payloadFor(9, 3, 12), 1500),
    ]),
  );
  // 239 keeps the same orig - incl difference.
  const r239 = splitRecords(parseNflogMessages(buf, 239).records);
  assert.equal(r239[3]!.origLen - r239[3]!.inclLen, 1500 - 40);
});

test('every malformed-input class is counted and never read past', () => {
  const good = packetMsg({ seq: 0, ts: [7, 8], ip: ipv4Udp(Buffer.from('ok')) });
  const bodyOf = (attrs: Buffer): Buffer => Buffer.concat([Buffer.from([2, 0, 0, 1]), attrs]);
  const rawAttr = (len: number, type: number, total: number): Buffer => {
    const b = Buffer.alloc(total);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    return b;
  };
  const cases: { name: string; buf: Buffer; count: number; malformed: number }[] = [
    { name: 'empty buffer', buf: Buffer.alloc(0), count: 0, malformed: 0 },
    { name: 'shorter than nlmsghdr', buf: Buffer.from([1, 2, 3]), count: 0, malformed: 0 },
    {
      name: 'nlmsg_len past the end (truncated datagram)',
      buf: Buffer.concat([good, good.subarray(0, good.length - 5)]),
      count: 1,
      malformed: 1,
    },
    {
      name: 'nlmsg_len < header',
      buf: Buffer.concat([nlmsg(NFULNL_MSG_PACKET, Buffer.alloc(8), 8), good]),
      count: 0,
      malformed: 1,
    },
    {
      name: 'nlmsg_len 0',
      buf: Buffer.concat([nlmsg(NFULNL_MSG_PACKET, Buffer.alloc(8), 0), good]),
      count: 0,
      malformed: 1,
    },
    {
      name: 'packet shorter than nfgenmsg',
      buf: Buffer.concat([nlmsg(NFULNL_MSG_PACKET, Buffer.alloc(2)), good]),
      count: 1,
      malformed: 1,
    },
    {
      name: 'attr length past the message end',
      buf: Buffer.concat([nlmsg(NFULNL_MSG_PACKET, bodyOf(rawAttr(64, NFULA_PAYLOAD, 8))), good]),
      count: 1,
      malformed: 1,
    },
    {
      name: 'zero-length attr',
      buf: Buffer.concat([nlmsg(NFULNL_MSG_PACKET, bodyOf(rawAttr(0, NFULA_PAYLOAD, 8))), good]),
      count: 1,
      malformed: 1,
    },
    {
      name: 'attr length below its header',
      buf: Buffer.concat([nlmsg(NFULNL_MSG_PACKET, bodyOf(rawAttr(3, NFULA_PAYLOAD, 8))), good]),
      count: 1,
      malformed: 1,
    },
    {
      name: 'timestamp too short',
      buf: Buffer.concat([
        packetMsg({ extra: [nflogTlv(NFULA_TIMESTAMP, Buffer.alloc(8))] }),
        good,
      ]),
      count: 1,
      malformed: 1,
    },
    {
      name: 'seq too short',
      buf: Buffer.concat([packetMsg({ extra: [nflogTlv(NFULA_SEQ, Buffer.alloc(2))] }), good]),
      count: 1,
      malformed: 1,
    },
    { name: 'no payload attribute: an empty record', buf: packetMsg({}), count: 1, malformed: 0 },
    {
      name: 'trailing bytes shorter than an nlmsghdr',
      buf: Buffer.concat([good, Buffer.alloc(7, 0xff)]),
      count: 1,
      malformed: 0,
    },
  ];
  for (const c of cases) {
    for (const linktype of [101, 239] as const) {
      const r = parseNflogMessages(c.buf, linktype);
      assert.deepEqual(
        { count: r.count, malformed: r.malformed },
        { count: c.count, malformed: c.malformed },
        `${c.name} (${linktype})`,
      );
      assert.equal(splitRecords(r.records).length, r.count, c.name);
    }
  }
  assert.throws(
    () => parseNflogMessages(good, 100 as never),
    (e: unknown) => e instanceof NflogError && e.code === 'ERR_NFLOG_INVALID_OPTION',
  );
});

test('property: any bytes, or a recorded datagram with bytes flipped, give well-formed records', () => {
  const recorded = recordedDatagrams();
  const mutated = fc
    .tuple(
      fc.constantFrom(...recorded),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.nat(),
    )
    .map(([d, flips, cut]) => {
      const b = Buffer.from(d);
      for (const [at, v] of flips) b[at % b.length] = v;
      return b.subarray(0, b.length - (cut % 32));
    });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        mutated,
      ),
      fc.constantFrom(101 as const, 239 as const),
      (buf, linktype) => {
        const r = parseNflogMessages(buf, linktype);
        const recs = splitRecords(r.records);
        assert.equal(recs.length, r.count);
        assert.equal(
          recs.reduce((n, x) => n + x.inclLen, 0),
          r.bytes,
        );
        for (const x of recs) assert.ok(x.origLen >= x.inclLen);
      },
    ),
    { numRuns: 2000 },
  );
});

test('index entries: offset, NFULA_SEQ_GLOBAL, group, hook and flags of every record, as logged', () => {
  const udp = ipv4Udp(payloadFor(3, 0, 10));
  const specs: NflogMessageSpec[] = [
    // input hook: input interface, kernel timestamp
    { group: 5, hook: NF_INET.LOCAL_IN, indev: 2, ts: [10, 1], seqGlobal: 41, payload: udp },
    // output hook: output interface only, receipt time
    { group: 6, hook: NF_INET.LOCAL_OUT, outdev: 3, seqGlobal: 0xfffffffe, payload: udp },
    // forward: both interfaces
    { group: 5, hook: NF_INET.FORWARD, indev: 2, outdev: 3, ts: [10, 2], payload: udp },
    // no packet header at all
    { group: 65535, hook: null, seqGlobal: 7, payload: ipv4Udp(payloadFor(3, 1, 10), 1000) },
  ];
  const buf = Buffer.concat([...specs.map(nflogMessage), nlmsg(NLMSG_DONE, Buffer.alloc(4))]);
  for (const checksums of ['wire', 'as-logged'] as const) {
    const r = parseNflogMessages(buf, 101, { checksums });
    assert.equal(r.count, 4);
    assert.equal(r.index.length, 4 * NFLOG_INDEX_ENTRY_BYTES);
    // Every record is 16 + 38 bytes (the 38-byte packet, or its first 38 bytes), all of one
    // flow: 0.0.0.0 both ways, UDP, ports 0 and 9000.
    const at = [0, 54, 108, 162];
    const flowHash = murmur3x86_32(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0x23, 0x28]));
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => entry(r.index, i)),
      [
        {
          offset: at[0],
          seqGlobal: 41,
          flowHash,
          group: 5,
          hook: NF_INET.LOCAL_IN,
          flags: F.SEQ_GLOBAL | F.INDEV | F.KERNEL_TS,
        },
        {
          offset: at[1],
          seqGlobal: 0xfffffffe,
          flowHash,
          group: 6,
          hook: NF_INET.LOCAL_OUT,
          // Locally generated: its zero IPv4 header checksum is completed on the wire.
          flags: F.SEQ_GLOBAL | F.OUTDEV | (checksums === 'wire' ? F.CHECKSUM_FIXED : 0),
        },
        {
          offset: at[2],
          seqGlobal: 0,
          flowHash,
          group: 5,
          hook: NF_INET.FORWARD,
          flags: F.INDEV | F.OUTDEV | F.KERNEL_TS,
        },
        {
          offset: at[3],
          seqGlobal: 7,
          flowHash,
          group: 65535,
          hook: NFLOG_NO_HOOK,
          flags: F.SEQ_GLOBAL | F.TRUNCATED,
        },
      ],
      checksums,
    );
    // The accessors read the same fields.
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => [
        indexOffset(r.index, i),
        indexSeqGlobal(r.index, i),
        indexFlags(r.index, i),
      ]),
      [0, 1, 2, 3].map((i) => [at[i], entry(r.index, i)['seqGlobal'], entry(r.index, i)['flags']]),
    );
    assert.equal(r.checksumsFixed, checksums === 'wire' ? 1 : 0);
  }
  // 239: offsets step over the whole NFLOG message of each record.
  const r239 = parseNflogMessages(buf, 239);
  let off = 0;
  for (const [i, x] of splitRecords(r239.records).entries()) {
    assert.equal(indexOffset(r239.index, i), off);
    off += 16 + x.inclLen;
  }
});

test('the new attributes with impossible lengths are malformed messages, skipped and counted', () => {
  const good = nflogMessage({ seq: 0, seqGlobal: 1, payload: ipv4Udp(Buffer.from('ok')) });
  const cases: [string, Buffer][] = [
    ['NFULA_PACKET_HDR shorter than 4', nflogTlv(NFULA.PACKET_HDR, Buffer.alloc(3))],
    ['NFULA_SEQ_GLOBAL shorter than 4', nflogTlv(NFULA.SEQ_GLOBAL, Buffer.alloc(2))],
    ['NFULA_IFINDEX_INDEV shorter than 4', nflogTlv(NFULA.IFINDEX_INDEV, Buffer.alloc(1))],
    ['NFULA_IFINDEX_OUTDEV shorter than 4', nflogTlv(NFULA.IFINDEX_OUTDEV, Buffer.alloc(0))],
  ];
  for (const [name, attr] of cases) {
    const bad = nflogMessage({ hook: null, extra: [attr], payload: ipv4Udp(Buffer.from('x')) });
    for (const linktype of [101, 239] as const) {
      const r = parseNflogMessages(Buffer.concat([bad, good]), linktype);
      assert.deepEqual([r.count, r.malformed], [1, 1], `${name} (${linktype})`);
      assert.equal(indexSeqGlobal(r.index, 0), 1, name);
    }
  }
});

test('accounting by rule: packets and original IP bytes per (group, prefix), per-group kernel drops, the other bucket', () => {
  const udp = (n: number, totLen?: number): Buffer => ipv4Udp(Buffer.alloc(n, 7), totLen);
  const buf = Buffer.concat([
    packetMsg({ group: 7, prefix: 'svc=dns;dir=out', seq: 0, ip: udp(10) }),
    packetMsg({ group: 7, prefix: 'svc=dns;dir=out', seq: 1, ip: udp(20) }),
    // Cut by the copy range: counted at the length its IP header says, as nft's counter does.
    packetMsg({ group: 8, prefix: 'svc=web;dir=in', seq: 0, ip: udp(30, 1400) }),
    packetMsg({ group: 7, prefix: 'svc=web;dir=in', seq: 5, ip: udp(40) }), // 3 lost in group 7
    packetMsg({ group: 8, seq: 1, ip: udp(50) }), // a rule without a prefix
    packetMsg({ group: 8, prefix: '', seq: 2, ip: udp(60) }), // "" as the kernel sends it
    packetMsg({ group: 7, prefix: 'svc=dns;dir=out', seq: 6, ip: udp(70) }),
  ]);
  const r = parseNflogMessages(buf, 101, { maxSeries: 16 });
  assert.equal(r.count, 7);
  assert.deepEqual(r.account.entries, [
    { group: 7, prefix: 'svc=dns;dir=out', packets: 3, bytes: 38 + 48 + 98 },
    { group: 8, prefix: 'svc=web;dir=in', packets: 1, bytes: 1400 },
    { group: 7, prefix: 'svc=web;dir=in', packets: 1, bytes: 68 },
    { group: 8, prefix: '', packets: 2, bytes: 78 + 88 },
  ]);
  assert.deepEqual([r.account.otherPackets, r.account.otherBytes], [0, 0]);
  assert.deepEqual(r.account.groups, [
    { group: 7, kernelDropped: 3 },
    { group: 8, kernelDropped: 0 },
  ]);
  assert.equal(r.kernelDropped, 3);

  // Capacity 2: the third and fourth keys go to the other bucket; the first two keep counting.
  const small = parseNflogMessages(buf, 101, { maxSeries: 2 });
  assert.deepEqual(
    small.account.entries.map((e) => [e.group, e.prefix, e.packets]),
    [
      [7, 'svc=dns;dir=out', 3],
      [8, 'svc=web;dir=in', 1],
    ],
  );
  assert.deepEqual([small.account.otherPackets, small.account.otherBytes], [3, 68 + 78 + 88]);
  // Off by default: no entries, the per-group drops still there.
  const off = parseNflogMessages(buf, 101);
  assert.deepEqual([off.account.entries, off.account.otherPackets], [[], 0]);
  assert.equal(off.account.groups.length, 2);
});

test('accounting keys: a prefix is cut at 127 bytes, many keys stay exact, bad capacities are refused', () => {
  const long = 'p'.repeat(200);
  const keys = Array.from({ length: 300 }, (_, i) => `k=${i}`);
  const buf = Buffer.concat([
    packetMsg({ group: 1, prefix: long, ip: ipv4Udp(Buffer.alloc(4)) }),
    ...keys.flatMap((k, i) =>
      Array.from({ length: (i % 3) + 1 }, () =>
        packetMsg({ group: i % 5, prefix: k, ip: ipv4Udp(Buffer.alloc(1)) }),
      ),
    ),
  ]);
  const r = parseNflogMessages(buf, 239, { maxSeries: 1000 });
  assert.equal(r.account.entries[0]?.prefix, 'p'.repeat(127));
  assert.deepEqual(
    r.account.entries.slice(1).map((e) => [e.group, e.prefix, e.packets, e.bytes]),
    keys.map((k, i) => [i % 5, k, (i % 3) + 1, ((i % 3) + 1) * 29]),
  );
  for (const bad of [-1, 1.5, 65537])
    assert.throws(
      () => parseNflogMessages(buf, 101, { maxSeries: bad }),
      (e: unknown) => e instanceof NflogError && e.code === 'ERR_NFLOG_INVALID_OPTION',
    );
});
