// Proves the C walker completes the checksums of locally generated packets exactly as they go on the wire (golden bytes, every extension-header and fragment case), never touches received or forwarded packets, and tells the real length (BIG TCP, jumbograms) of what NFLOG cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  NF_INET,
  ipv4,
  ipv6,
  ipv6Address,
  nflogDatagram,
  payloadFor,
  type NflogMessageSpec,
} from '@nflog-pipe/testing';
import { NFLOG_RECORD_FLAG as F, indexFlags, parseNflogMessages } from '../src/index.js';
import {
  asOffloaded,
  checkChecksums,
  ipv4HeaderChecksum,
  withChecksums,
} from './checksum-reference.js';
import { parseNflogRecord, readDatagrams, splitRecords } from './helpers.js';

const A6 = ipv6Address('fd00::1');
const B6 = ipv6Address('fd00::2');

function tcp(sport: number, dport: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt32BE(0x01020304, 4);
  b.writeUInt32BE(0x0a0b0c0d, 8);
  b[12] = 5 << 4;
  b[13] = 0x18; // PSH, ACK
  b.writeUInt16BE(65535, 14);
  payload.copy(b, 20);
  return b;
}

function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(sport, 0);
  b.writeUInt16BE(dport, 2);
  b.writeUInt16BE(b.length, 4);
  payload.copy(b, 8);
  return b;
}

function icmpv6Echo(payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = 128;
  b.writeUInt16BE(0x4242, 4);
  b.writeUInt16BE(1, 6);
  payload.copy(b, 8);
  return b;
}

/** An IPv6 extension header of 8 bytes: next header, length 0, then 6 bytes (routing: type, segments left). */
function ext8(next: number, b2 = 0, b3 = 0): Buffer {
  return Buffer.from([next, 0, b2, b3, 0, 0, 0, 0]);
}

const P = (n: number, i = 0): Buffer => payloadFor(40 + n, i, 33 + n); // odd lengths: the odd-byte rule

const V4_TCP = ipv4('10.0.0.1', '10.0.0.2', 6, tcp(40000, 80, P(1)));
const V4_UDP = ipv4('10.0.0.1', '10.0.0.2', 17, udp(40001, 53, P(2)));
const V6_TCP = ipv6(A6, B6, 6, tcp(40002, 443, P(3)));
const V6_UDP = ipv6(A6, B6, 17, udp(40003, 53, P(4)));
const V6_ICMP = ipv6(A6, B6, 58, icmpv6Echo(P(5)));
// hop-by-hop, then destination options, then UDP
const V6_EXT = ipv6(A6, B6, 17, udp(40004, 9, P(6)), Buffer.concat([ext8(60), ext8(17)]), 0);

/** One record of `payload` logged as a locally generated packet (LOCAL_OUT, output interface only). */
function local(payload: Buffer, spec: Partial<NflogMessageSpec> = {}): NflogMessageSpec {
  return { group: 1, hook: NF_INET.LOCAL_OUT, outdev: 1, payload, ...spec };
}

/** Walk one message; the record's packet bytes, its flags, and the walk's checksum counters. */
function walk(
  spec: NflogMessageSpec,
  checksums: 'wire' | 'as-logged' = 'wire',
): { ip: Buffer; flags: number; fixed: number; incomplete: number; origLen: number } {
  const r = parseNflogMessages(nflogDatagram([spec]), 101, { checksums });
  assert.equal(r.count, 1);
  const [rec] = splitRecords(r.records);
  return {
    ip: rec!.data,
    flags: indexFlags(r.index, 0),
    fixed: r.checksumsFixed,
    incomplete: r.checksumsIncomplete,
    origLen: rec!.origLen,
  };
}

test('golden: a locally generated IPv4/UDP packet gets the checksums the wire carries', () => {
  // 10.0.0.1:1000 -> 10.0.0.2:2000 "hello": header checksum 0x66ca, UDP checksum 0x9c47, as
  // tshark -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE calls them correct.
  const wire = Buffer.from(
    '4500002100000000401166ca0a0000010a00000203e807d0000d9c4768656c6c6f',
    'hex',
  );
  assert.deepEqual(checkChecksums(wire), { ip: true, l4: true, proto: 17 });
  const w = walk(local(asOffloaded(wire)));
  assert.equal(w.ip.toString('hex'), wire.toString('hex'));
  assert.equal(w.flags & (F.CHECKSUM_FIXED | F.CHECKSUM_INCOMPLETE), F.CHECKSUM_FIXED);
});

test('TCP, UDP over IPv4 and IPv6, ICMPv6, behind extension headers: completed exactly', () => {
  for (const [name, pkt] of [
    ['IPv4 TCP', V4_TCP],
    ['IPv4 UDP', V4_UDP],
    ['IPv6 TCP', V6_TCP],
    ['IPv6 UDP', V6_UDP],
    ['ICMPv6 echo', V6_ICMP],
    ['IPv6 hop-by-hop + destination options + UDP', V6_EXT],
    ['IPv6 atomic fragment + UDP', ipv6(A6, B6, 17, udp(1, 2, P(7)), ext8(17), 44)],
    ['IPv6 routing header, no segments left', ipv6(A6, B6, 6, tcp(1, 2, P(8)), ext8(6, 2, 0), 43)],
  ] as const) {
    const wire = withChecksums(pkt);
    const offloaded = asOffloaded(pkt);
    assert.notDeepEqual(offloaded, wire, `${name}: the test packet starts partial`);
    for (const hook of [NF_INET.LOCAL_OUT, NF_INET.POST_ROUTING]) {
      const w = walk(local(offloaded, { hook }));
      assert.equal(w.ip.toString('hex'), wire.toString('hex'), `${name}, hook ${hook}`);
      assert.deepEqual(
        [w.flags & F.CHECKSUM_FIXED, w.fixed, w.incomplete],
        [F.CHECKSUM_FIXED, 1, 0],
      );
    }
    // Already right: nothing changes, nothing is counted.
    const again = walk(local(wire));
    assert.deepEqual([again.ip, again.fixed, again.flags & F.CHECKSUM_FIXED], [wire, 0, 0], name);
  }
});

test('what cannot be completed is left as logged and flagged: cut, fragments, routing, BIG TCP', () => {
  const v4Frag = Buffer.from(asOffloaded(V4_UDP));
  v4Frag.writeUInt16BE(0x2000, 6); // more fragments
  /** `p` as logged, but with the IPv4 header checksum completed (it is all in the record). */
  const headerOnly = (p: Buffer): Buffer => {
    const out = Buffer.from(p);
    out.writeUInt16BE(ipv4HeaderChecksum(p), 10);
    return out;
  };
  const v6Frag = asOffloaded(
    ipv6(A6, B6, 17, udp(1, 2, P(9)), Buffer.from([17, 0, 0, 1, 0, 0, 0, 9]), 44),
  );
  const v6Routed = asOffloaded(ipv6(A6, B6, 6, tcp(1, 2, P(10)), ext8(6, 2, 1), 43));
  const v4Cut = asOffloaded(V4_UDP).subarray(0, 40);
  const v6Cut = asOffloaded(V6_UDP).subarray(0, 50);
  const cases: [string, Buffer, Buffer][] = [
    ['IPv4 UDP cut by the copy range', v4Cut, headerOnly(v4Cut)],
    ['IPv4 first fragment', v4Frag, headerOnly(v4Frag)],
    ['IPv6 non-atomic fragment', v6Frag, v6Frag],
    ['IPv6 routing header with a segment left', v6Routed, v6Routed],
    ['IPv6 UDP cut', v6Cut, v6Cut],
  ];
  for (const [name, logged, expected] of cases) {
    const w = walk(local(logged));
    assert.equal(w.ip.toString('hex'), expected.toString('hex'), name);
    assert.equal(w.flags & F.CHECKSUM_INCOMPLETE, F.CHECKSUM_INCOMPLETE, name);
    assert.equal(w.incomplete, 1, name);
  }
  // BIG TCP: an IPv4 total length of 0 means more than 64 KiB; the record is cut whatever it holds.
  const big = Buffer.from(asOffloaded(V4_TCP));
  big.writeUInt16BE(0, 2);
  const w = walk(local(big));
  assert.equal(
    w.flags & (F.CHECKSUM_INCOMPLETE | F.TRUNCATED),
    F.CHECKSUM_INCOMPLETE | F.TRUNCATED,
  );
  assert.equal(w.origLen, 65536);
  assert.deepEqual(w.ip.subarray(20), big.subarray(20), 'TCP left as logged');
});

test('received and forwarded packets, other protocols and families, and as-logged are never touched', () => {
  const offloaded = [V4_TCP, V4_UDP, V6_UDP, V6_ICMP].map(asOffloaded);
  const icmp4 = ipv4('10.0.0.1', '10.0.0.2', 1, Buffer.from('0800000012340001', 'hex'));
  icmp4.writeUInt16BE(0, 10);
  const sctp = ipv4('10.0.0.1', '10.0.0.2', 132, Buffer.alloc(28, 7));
  for (const pkt of offloaded) {
    for (const spec of [
      { hook: NF_INET.LOCAL_IN, indev: 1 },
      { hook: NF_INET.PRE_ROUTING, indev: 1 },
      { hook: NF_INET.FORWARD, indev: 1, outdev: 2 },
      { hook: NF_INET.POST_ROUTING, indev: 1, outdev: 2 }, // forwarded
      { hook: NF_INET.LOCAL_OUT, indev: 1, outdev: 2 }, // an input interface: not ours
      { hook: null }, // no packet header: the hook is unknown
    ] as Partial<NflogMessageSpec>[]) {
      const w = walk({ group: 1, payload: pkt, ...spec });
      assert.deepEqual(w.ip, pkt, JSON.stringify(spec));
      assert.equal(w.flags & (F.CHECKSUM_FIXED | F.CHECKSUM_INCOMPLETE), 0);
    }
    assert.deepEqual(walk(local(pkt), 'as-logged').ip, pkt, 'as-logged');
    assert.deepEqual(walk(local(pkt, { family: 7 })).ip, pkt, 'bridge family');
  }
  // ICMPv4 and SCTP: only the IPv4 header checksum is ours (ICMP is always computed in software).
  for (const pkt of [icmp4, sctp]) {
    const w = walk(local(pkt));
    assert.deepEqual(w.ip.subarray(20), pkt.subarray(20));
    assert.equal(checkChecksums(w.ip).ip, true);
  }
  // UDP without a checksum (0) stays without one, in IPv4 and in IPv6 (tunnels).
  for (const pkt of [V4_UDP, V6_UDP]) {
    const none = Buffer.from(withChecksums(pkt));
    const at = pkt[0]! >> 4 === 4 ? 26 : 46;
    none.writeUInt16BE(0, at);
    assert.equal(walk(local(none)).ip.readUInt16BE(at), 0);
  }
});

test('linktype 239: the checksums inside the NFULA_PAYLOAD TLV are completed, the rest is verbatim', () => {
  const spec = local(asOffloaded(V6_TCP), { prefix: 'p239', seqGlobal: 9 });
  const r = parseNflogMessages(nflogDatagram([spec]), 239);
  const asLogged = parseNflogMessages(nflogDatagram([spec]), 239, { checksums: 'as-logged' });
  const rec = parseNflogRecord(splitRecords(r.records)[0]!.data);
  assert.deepEqual(rec.tlvs.get(9), withChecksums(V6_TCP));
  const before = parseNflogRecord(splitRecords(asLogged.records)[0]!.data);
  for (const [type, value] of before.tlvs)
    if (type !== 9) assert.deepEqual(rec.tlvs.get(type), value);
  assert.equal(r.checksumsFixed, 1);
});

test('orig_len: the real length from the IP header, BIG TCP and jumbograms included', () => {
  const hbhJumbo = (len: number): Buffer => {
    const h = Buffer.from([17, 0, 0xc2, 4, 0, 0, 0, 0]);
    h.writeUInt32BE(len, 4);
    return h;
  };
  const v6 = (payloadLen: number, ext: Buffer = Buffer.alloc(0)): Buffer => {
    const p = ipv6(A6, B6, 17, udp(1, 2, P(1)), ext, 0);
    p.writeUInt16BE(payloadLen, 4);
    return p;
  };
  const v4Zero = Buffer.from(V4_TCP);
  v4Zero.writeUInt16BE(0, 2);
  const v4Cut = Buffer.from(V4_UDP);
  v4Cut.writeUInt16BE(60000, 2);
  const cases: [string, Buffer, number, boolean][] = [
    ['IPv4 whole', V4_UDP, V4_UDP.length, false],
    ['IPv4 cut: total length', v4Cut, 60000, true],
    ['IPv4 BIG TCP (total length 0): at least 65536', v4Zero, 65536, true],
    ['IPv6 whole', V6_UDP, V6_UDP.length, false],
    ['IPv6 jumbogram: 40 + the jumbo payload length', v6(0, hbhJumbo(100000)), 100040, true],
    ['IPv6 BIG TCP without a jumbo option: at least 40 + 65536', v6(0), 65576, true],
    [
      'IPv6 payload length 0 and nothing after the header',
      ipv6(A6, B6, 59, Buffer.alloc(0)),
      40,
      false,
    ],
    ['not IP', Buffer.from('deadbeef', 'hex'), 4, false],
  ];
  for (const [name, pkt, orig, truncated] of cases) {
    for (const linktype of [101, 239] as const) {
      const r = parseNflogMessages(
        nflogDatagram([{ hook: NF_INET.LOCAL_IN, indev: 1, payload: pkt }]),
        linktype,
      );
      const [rec] = splitRecords(r.records);
      assert.equal(rec!.origLen - rec!.inclLen, orig - pkt.length, `${name} (${linktype})`);
      assert.equal(r.truncated, truncated ? 1 : 0, name);
      assert.equal((indexFlags(r.index, 0) & F.TRUNCATED) !== 0, truncated, name);
    }
  }
});

test('recorded capture (two groups, output and input hooks): output-hook checksums completed, input-hook bytes as logged', () => {
  const datagrams = readDatagrams('nflog-order.bin');
  let local = 0;
  for (const d of datagrams) {
    const wire = parseNflogMessages(d, 101);
    const logged = parseNflogMessages(d, 101, { checksums: 'as-logged' });
    const w = splitRecords(wire.records);
    const l = splitRecords(logged.records);
    for (const [i, rec] of w.entries()) {
      const flags = indexFlags(wire.index, i);
      assert.ok(flags & F.SEQ_GLOBAL, 'NFULNL_CFG_F_SEQ_GLOBAL was on');
      if (flags & F.INDEV) {
        // lo keeps the offloaded (partial) checksum on the way in: evidence, never touched.
        assert.deepEqual(rec.data, l[i]!.data);
        assert.equal(checkChecksums(rec.data).l4, false);
        assert.ok(flags & F.KERNEL_TS);
      } else {
        local++;
        assert.ok(flags & F.OUTDEV);
        assert.deepEqual(checkChecksums(rec.data), {
          ip: rec.data[0]! >> 4 === 4 ? true : null,
          l4: true,
          proto: checkChecksums(rec.data).proto,
        });
        // TCP and UDP were partial as logged; ICMPv6 is computed in software, already whole.
        const proto = checkChecksums(rec.data).proto;
        assert.equal(checkChecksums(l[i]!.data).l4, proto === 58, `as logged, proto ${proto}`);
        assert.equal((flags & F.CHECKSUM_FIXED) !== 0, proto !== 58);
      }
    }
  }
  assert.equal(local, 3 + 2 + 10 + 1);
});

test('property: completed checksums verify for any locally generated TCP/UDP/ICMPv6 packet', () => {
  const arb = fc.record({
    v6: fc.boolean(),
    proto: fc.constantFrom(6, 17, 58),
    payload: fc.uint8Array({ maxLength: 300 }),
    ports: fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })),
    junk: fc.integer({ min: 0, max: 0xffff }),
  });
  fc.assert(
    fc.property(arb, ({ v6, proto, payload, ports, junk }) => {
      const data = Buffer.from(payload);
      const l4 =
        proto === 6
          ? tcp(ports[0], ports[1], data)
          : proto === 17
            ? udp(ports[0], ports[1], data)
            : icmpv6Echo(data);
      const pkt =
        v6 || proto === 58 ? ipv6(A6, B6, proto, l4) : ipv4('10.1.2.3', '10.3.2.1', proto, l4);
      const garbled = Buffer.from(pkt);
      const at = (pkt[0]! >> 4 === 4 ? 20 : 40) + (proto === 6 ? 16 : proto === 17 ? 6 : 2);
      garbled.writeUInt16BE(junk === 0 && proto === 17 ? 1 : junk, at);
      const w = walk(local(garbled));
      assert.equal(checkChecksums(w.ip).l4, true);
      assert.deepEqual(w.ip, withChecksums(pkt));
    }),
    { numRuns: 500 },
  );
});
