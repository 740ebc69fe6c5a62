// Proves the walker's flow hash (index FLOW_HASH, native/nl_flow.c) on hand-built NFLOG datagrams: murmur3_x86_32 of the documented canonical key, the same for both directions, IPv4 and IPv6 (extension headers stepped over), ports of TCP/UDP/SCTP/DCCP/UDP-Lite, ICMP echo by identifier, ICMP/ICMPv6 errors by the packet they quote, fragments by addresses and protocol, truncated packets, the 2-tuple key, and linktypes 101 and 239 alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  NF_INET,
  ipv4,
  ipv6,
  ipv6Address,
  nflogDatagram,
  ports,
  type NflogMessageSpec,
} from '@nflog-pipe/testing';
import {
  NflogError,
  indexFlowHash,
  murmur3x86_32,
  parseNflogMessages,
  type NflogFlowKey,
} from '../src/index.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const SCTP = 132;
const DCCP = 33;
const UDPLITE = 136;
const A4 = Buffer.from([10, 0, 0, 1]);
const B4 = Buffer.from([10, 0, 0, 2]);
const R4 = Buffer.from([192, 0, 2, 9]);
const A6 = ipv6Address('2001:db8::1');
const B6 = ipv6Address('2001:db8::2');
const R6 = ipv6Address('2001:db8:ffff::9');

function dotted(a: Buffer): string {
  return [...a].join('.');
}

/** The flow hash the walker gives one packet (a received one: its bytes are left as they are). */
function flowHash(
  ip: Buffer,
  flowKey?: NflogFlowKey,
  linktype: 101 | 239 = 101,
  extra: Partial<NflogMessageSpec> = {},
): number {
  const dg = nflogDatagram([{ hook: NF_INET.LOCAL_IN, indev: 1, payload: ip, ...extra }]);
  const r = parseNflogMessages(dg, linktype, flowKey === undefined ? {} : { flowKey });
  assert.equal(r.count, 1);
  return indexFlowHash(r.index, 0);
}

/** murmur3_x86_32 (seed 0) of the documented key: lower address, higher address, protocol, their two ports (BE). */
function keyHash(lo: Buffer, hi: Buffer, proto: number, plo: number, phi: number): number {
  const tail = Buffer.alloc(5);
  tail[0] = proto;
  tail.writeUInt16BE(plo, 1);
  tail.writeUInt16BE(phi, 3);
  return murmur3x86_32(Buffer.concat([lo, hi, tail]));
}

function v4(src: Buffer, dst: Buffer, proto: number, l4: Buffer): Buffer {
  return ipv4(dotted(src), dotted(dst), proto, l4);
}

/** IPv4 with the flags/fragment-offset word set (MF = 0x2000, offset in 8-byte units). */
function v4Fragment(src: Buffer, dst: Buffer, proto: number, l4: Buffer, word: number): Buffer {
  const p = v4(src, dst, proto, l4);
  p.writeUInt16BE(word, 6);
  return p;
}

/** An ICMP(v6) message: type, code, checksum 0, `rest` (4 bytes), then `body`. */
function icmp(type: number, rest: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  return Buffer.concat([h, rest, body]);
}

function echo(type: number, id: number, seq: number): Buffer {
  const rest = Buffer.alloc(4 + 8);
  rest.writeUInt16BE(id, 0);
  rest.writeUInt16BE(seq, 2);
  return icmp(type, rest);
}

/** An IPv6 extension header of the (len+1)*8 kind: next header, length, padding to `bytes`. */
function ext(next: number, bytes = 8): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = next;
  b[1] = bytes / 8 - 1;
  return b;
}

/** An IPv6 fragment header: next header, offset (8-byte units) and the M flag. */
function fragmentHeader(next: number, offset: number, more: boolean): Buffer {
  const b = Buffer.alloc(8);
  b[0] = next;
  b.writeUInt16BE((offset << 3) | (more ? 1 : 0), 2);
  b.writeUInt32BE(0x1234, 4);
  return b;
}

test('murmur3x86_32 matches the reference vectors', () => {
  const h = (s: string, seed: number): number => murmur3x86_32(Buffer.from(s), seed);
  assert.equal(h('', 0), 0);
  assert.equal(h('', 1), 0x514e28b7);
  assert.equal(h('test', 0), 0xba6bd213);
  assert.equal(h('Hello, world!', 1234), 0xfaf6cdb3);
  assert.equal(h('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
});

test('TCP over IPv4: the documented key, the same both ways, and a fixed value on every host', () => {
  const out = flowHash(v4(A4, B4, TCP, ports(40000, 80, 16)));
  const back = flowHash(v4(B4, A4, TCP, ports(80, 40000, 16)));
  assert.equal(out, back);
  assert.equal(out, keyHash(A4, B4, TCP, 40000, 80));
  // Pinned: a change of key layout or hash would move every flow of a running fleet.
  assert.equal(out, 0x902e7601);
  // The lower (address, port) pair comes first, whichever end sent: here the server's address is lower.
  assert.equal(flowHash(v4(B4, A4, TCP, ports(40000, 80, 16))), keyHash(A4, B4, TCP, 80, 40000));
  // Equal addresses (loopback): the lower port first.
  const lo = Buffer.from([127, 0, 0, 1]);
  assert.equal(
    flowHash(v4(lo, lo, TCP, ports(45000, 9000, 16))),
    flowHash(v4(lo, lo, TCP, ports(9000, 45000, 16))),
  );
  assert.equal(
    flowHash(v4(lo, lo, TCP, ports(45000, 9000, 16))),
    keyHash(lo, lo, TCP, 9000, 45000),
  );
});

test('every port protocol keys on its ports; others on addresses and protocol', () => {
  for (const proto of [TCP, UDP, SCTP, DCCP, UDPLITE]) {
    assert.equal(flowHash(v4(A4, B4, proto, ports(5000, 53))), keyHash(A4, B4, proto, 5000, 53));
    assert.equal(
      flowHash(v4(B4, A4, proto, ports(53, 5000))),
      flowHash(v4(A4, B4, proto, ports(5000, 53))),
    );
  }
  // GRE (47): no ports, whatever its first bytes are.
  assert.equal(flowHash(v4(A4, B4, 47, ports(5000, 53))), keyHash(A4, B4, 47, 0, 0));
  // Different ports, different flows (and so, almost always, different hashes).
  assert.notEqual(
    flowHash(v4(A4, B4, UDP, ports(5000, 53))),
    flowHash(v4(A4, B4, UDP, ports(5001, 53))),
  );
});

test('IPv6: extension headers are stepped over; an atomic fragment keeps its ports', () => {
  const plain = flowHash(ipv6(A6, B6, TCP, ports(40000, 443, 16)));
  assert.equal(plain, keyHash(A6, B6, TCP, 40000, 443));
  assert.equal(plain, flowHash(ipv6(B6, A6, TCP, ports(443, 40000, 16))));
  // Hop-by-hop (0) → destination options (60, 16 bytes) → routing (43) → TCP.
  const chain = Buffer.concat([ext(60), ext(43, 16), ext(TCP)]);
  assert.equal(flowHash(ipv6(A6, B6, TCP, ports(40000, 443, 16), chain, 0)), plain);
  // AH (51): its length counts 4-byte units minus 2; 24 bytes here.
  const ah = Buffer.alloc(24);
  ah[0] = TCP;
  ah[1] = 24 / 4 - 2;
  assert.equal(flowHash(ipv6(A6, B6, TCP, ports(40000, 443, 16), ah, 51)), plain);
  // HIP (139) and Shim6 (140) are extension headers of the same shape.
  const hipShim = Buffer.concat([ext(140), ext(TCP)]);
  assert.equal(flowHash(ipv6(A6, B6, TCP, ports(40000, 443, 16), hipShim, 139)), plain);
  // An atomic fragment (offset 0, no more fragments) is a whole packet.
  const atomic = fragmentHeader(TCP, 0, false);
  assert.equal(flowHash(ipv6(A6, B6, TCP, ports(40000, 443, 16), atomic, 44)), plain);
  // ESP (50): the rest is encrypted, so addresses and protocol.
  assert.equal(flowHash(ipv6(A6, B6, 50, ports(40000, 443, 16))), keyHash(A6, B6, 50, 0, 0));
});

test('fragments: every fragment of a datagram by addresses and protocol (not its ports)', () => {
  const udp = ports(5000, 53, 40);
  const noPorts = keyHash(A4, B4, UDP, 0, 0);
  // First fragment (MF, offset 0), a middle one, the last (offset, no MF): all the same key.
  assert.equal(flowHash(v4Fragment(A4, B4, UDP, udp, 0x2000)), noPorts);
  assert.equal(flowHash(v4Fragment(A4, B4, UDP, Buffer.alloc(40), 0x2000 | 6)), noPorts);
  assert.equal(flowHash(v4Fragment(B4, A4, UDP, Buffer.alloc(40), 11)), noPorts);
  // The trade-off, documented: the unfragmented datagrams of that flow key on their ports.
  assert.notEqual(flowHash(v4(A4, B4, UDP, udp)), noPorts);
  // DF alone (0x4000) is not a fragment.
  assert.equal(flowHash(v4Fragment(A4, B4, UDP, udp, 0x4000)), keyHash(A4, B4, UDP, 5000, 53));
  // IPv6: the first fragment and a later one, keyed by the protocol the fragment header names.
  const v6NoPorts = keyHash(A6, B6, UDP, 0, 0);
  assert.equal(flowHash(ipv6(A6, B6, UDP, udp, fragmentHeader(UDP, 0, true), 44)), v6NoPorts);
  assert.equal(
    flowHash(ipv6(B6, A6, UDP, Buffer.alloc(40), fragmentHeader(UDP, 185, false), 44)),
    v6NoPorts,
  );
  // Behind a hop-by-hop header too.
  const hbhFrag = Buffer.concat([ext(44), fragmentHeader(UDP, 3, true)]);
  assert.equal(flowHash(ipv6(A6, B6, UDP, Buffer.alloc(16), hbhFrag, 0)), v6NoPorts);
});

test('ICMP echo: the identifier is both ports; request and reply go together', () => {
  const request = flowHash(v4(A4, B4, ICMP, echo(8, 0x1234, 1)));
  assert.equal(request, keyHash(A4, B4, ICMP, 0x1234, 0x1234));
  assert.equal(flowHash(v4(B4, A4, ICMP, echo(0, 0x1234, 1))), request);
  assert.notEqual(flowHash(v4(A4, B4, ICMP, echo(8, 0x1235, 1))), request);
  const v6request = flowHash(ipv6(A6, B6, ICMPV6, echo(128, 7, 1)));
  assert.equal(v6request, keyHash(A6, B6, ICMPV6, 7, 7));
  assert.equal(flowHash(ipv6(B6, A6, ICMPV6, echo(129, 7, 1))), v6request);
  // Other ICMP messages: addresses and protocol.
  assert.equal(flowHash(v4(A4, B4, ICMP, icmp(13, Buffer.alloc(16)))), keyHash(A4, B4, ICMP, 0, 0));
});

test('ICMP and ICMPv6 errors go with the flow they quote, from whichever host sent them', () => {
  const flow = flowHash(v4(A4, B4, UDP, ports(5000, 53)));
  // B answers A's datagram with port unreachable (type 3 code 3), quoting it.
  const quoted = v4(A4, B4, UDP, ports(5000, 53)).subarray(0, 28);
  assert.equal(flowHash(v4(B4, A4, ICMP, icmp(3, Buffer.alloc(4), quoted))), flow);
  // A router on the way: time exceeded (11), its own address as the source.
  assert.equal(flowHash(v4(R4, A4, ICMP, icmp(11, Buffer.alloc(4), quoted))), flow);
  // Redirect (5), source quench (4), parameter problem (12).
  for (const type of [4, 5, 12])
    assert.equal(flowHash(v4(R4, A4, ICMP, icmp(type, Buffer.alloc(4), quoted))), flow);
  // The quote claims a longer packet than it holds (total length untouched): still its ports.
  const long = v4(A4, B4, TCP, ports(40000, 80, 1000)).subarray(0, 28);
  assert.equal(
    flowHash(v4(R4, A4, ICMP, icmp(3, Buffer.alloc(4), long))),
    flowHash(v4(B4, A4, TCP, ports(80, 40000, 16))),
  );
  // A ping that timed out goes with the ping.
  const ping = v4(A4, B4, ICMP, echo(8, 99, 3));
  assert.equal(
    flowHash(v4(R4, A4, ICMP, icmp(11, Buffer.alloc(4), ping))),
    flowHash(v4(B4, A4, ICMP, echo(0, 99, 3))),
  );
  // An error quoting an error (which no host should send): one level only, so the quoted
  // error's own addresses and protocol.
  const inner = v4(B4, A4, ICMP, icmp(3, Buffer.alloc(4), quoted));
  assert.equal(
    flowHash(v4(R4, B4, ICMP, icmp(11, Buffer.alloc(4), inner))),
    keyHash(A4, B4, ICMP, 0, 0),
  );
  // A quote too short for its addresses: the error's own addresses and protocol.
  const cut = Buffer.alloc(12, 0x45);
  assert.equal(
    flowHash(v4(R4, A4, ICMP, icmp(3, Buffer.alloc(4), cut))),
    keyHash(A4, R4, ICMP, 0, 0),
  );

  // ICMPv6: packet too big (2) from a router, quoting a TCP segment behind a destination option.
  const v6flow = flowHash(ipv6(A6, B6, TCP, ports(40000, 443, 16)));
  const v6quoted = ipv6(A6, B6, TCP, ports(40000, 443, 16), ext(TCP), 60);
  assert.equal(flowHash(ipv6(R6, A6, ICMPV6, icmp(2, Buffer.alloc(4), v6quoted))), v6flow);
  for (const type of [1, 3, 4])
    assert.equal(flowHash(ipv6(B6, A6, ICMPV6, icmp(type, Buffer.alloc(4), v6quoted))), v6flow);
  // An IPv4 packet quoted in ICMPv6 is not the flow of that error: its own addresses.
  assert.equal(
    flowHash(ipv6(R6, A6, ICMPV6, icmp(1, Buffer.alloc(4), quoted))),
    keyHash(A6, R6, ICMPV6, 0, 0),
  );
});

test('truncated packets: without their ports, by addresses and protocol; without addresses, 0', () => {
  const whole = v4(A4, B4, TCP, ports(40000, 80, 16));
  // A 20-byte copy range (nft log snaplen 20): the IPv4 header only.
  assert.equal(flowHash(whole.subarray(0, 20)), keyHash(A4, B4, TCP, 0, 0));
  // Two bytes of TCP: still no room for both ports.
  assert.equal(flowHash(whole.subarray(0, 22)), keyHash(A4, B4, TCP, 0, 0));
  assert.equal(flowHash(whole.subarray(0, 24)), keyHash(A4, B4, TCP, 40000, 80));
  assert.equal(flowHash(whole.subarray(0, 19)), 0);
  // IPv6 cut inside an extension header: keyed by that header's type, without ports.
  const v6 = ipv6(A6, B6, TCP, ports(40000, 443, 16), ext(TCP, 16), 60);
  assert.equal(flowHash(v6.subarray(0, 41)), keyHash(A6, B6, 60, 0, 0));
  assert.equal(flowHash(v6.subarray(0, 50)), keyHash(A6, B6, 60, 0, 0));
  assert.equal(flowHash(v6.subarray(0, 39)), 0);
  // An IPv4 header length that claims more than was captured: addresses and protocol.
  const badIhl = Buffer.from(whole.subarray(0, 28));
  badIhl[0] = 0x4f;
  assert.equal(flowHash(badIhl), keyHash(A4, B4, TCP, 0, 0));
  // Not IP at all, or no payload attribute: 0.
  const notIp = Buffer.from(whole);
  notIp[0] = 0x55;
  assert.equal(flowHash(notIp), 0);
  const dg = nflogDatagram([{ hook: NF_INET.LOCAL_IN, indev: 1 }]);
  assert.equal(indexFlowHash(parseNflogMessages(dg, 239).index, 0), 0);
});

test('the 2-tuple key: every packet between two hosts, whatever the protocol', () => {
  const hosts = keyHash(A4, B4, 0, 0, 0);
  assert.equal(flowHash(v4(A4, B4, TCP, ports(40000, 80, 16)), '2tuple'), hosts);
  assert.equal(flowHash(v4(B4, A4, UDP, ports(53, 5000)), '2tuple'), hosts);
  assert.equal(flowHash(v4Fragment(A4, B4, UDP, Buffer.alloc(16), 9), '2tuple'), hosts);
  // An error from a third host goes with the pair it quotes.
  const quoted = v4(A4, B4, UDP, ports(5000, 53)).subarray(0, 28);
  assert.equal(flowHash(v4(R4, A4, ICMP, icmp(11, Buffer.alloc(4), quoted)), '2tuple'), hosts);
  assert.equal(flowHash(ipv6(B6, A6, TCP, ports(443, 1, 16)), '2tuple'), keyHash(A6, B6, 0, 0, 0));
  assert.throws(
    () => parseNflogMessages(Buffer.alloc(0), 101, { flowKey: '3tuple' as NflogFlowKey }),
    (e: unknown) => e instanceof NflogError && e.code === 'ERR_NFLOG_INVALID_OPTION',
  );
});

test('linktype 239 records carry the same hash as 101 records', () => {
  for (const ip of [
    v4(A4, B4, TCP, ports(40000, 80, 16)),
    ipv6(A6, B6, UDP, ports(40000, 53), ext(UDP), 0),
  ]) {
    assert.equal(flowHash(ip, '5tuple', 239, { prefix: 'x', seq: 3 }), flowHash(ip));
    assert.equal(flowHash(ip, '2tuple', 239), flowHash(ip, '2tuple'));
  }
});

test('property: both directions of any TCP/UDP flow hash alike, over IPv4 and IPv6', () => {
  const addr = (n: number): fc.Arbitrary<Buffer> =>
    fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(
      fc.boolean(),
      addr(4),
      addr(4),
      addr(16),
      addr(16),
      fc.constantFrom(TCP, UDP, SCTP),
      fc.integer({ min: 0, max: 65535 }),
      fc.integer({ min: 0, max: 65535 }),
      (six, a4, b4, a6, b6, proto, pa, pb) => {
        const there = six ? ipv6(a6, b6, proto, ports(pa, pb)) : v4(a4, b4, proto, ports(pa, pb));
        const back = six ? ipv6(b6, a6, proto, ports(pb, pa)) : v4(b4, a4, proto, ports(pb, pa));
        return flowHash(there) === flowHash(back);
      },
    ),
  );
});
