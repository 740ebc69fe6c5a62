// Proves the query protocol both ends share: the documented bytes, a round trip of any valid
// request, every malformed request rejected (or read as "the whole ring") the same way by the
// encoder and the parser, and error/dump replies told apart from anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodePcapHeader } from '@nflog-pipe/pcap-writer';
import {
  QUERY_PROTOCOLS,
  QUERY_PROTOCOL_NAMES,
  QUERY_PROTOCOL_VERSION,
  QUERY_REQUEST_ALL,
  QUERY_REQUEST_FIELDS,
  QueryRequestError,
  encodeQueryDump,
  encodeQueryError,
  encodeQueryRequest,
  isQueryDump,
  parseQueryError,
  parseQueryPrefix,
  parseQueryRequest,
  type QueryRequest,
} from '../src/index.js';

const json = (s: string): Buffer => Buffer.from(s, 'utf8');

test('constants and bytes match docs/wire-format.md ("Query protocol")', () => {
  assert.equal(QUERY_PROTOCOL_VERSION, 1);
  assert.equal(QUERY_REQUEST_ALL, 'q');
  assert.deepEqual(QUERY_REQUEST_FIELDS, [
    'sinceUs',
    'untilUs',
    'lastMs',
    'host',
    'net',
    'port',
    'proto',
    'maxBytes',
    'linktype',
  ]);
  assert.deepEqual(QUERY_PROTOCOL_NAMES, ['tcp', 'udp', 'icmp', 'icmp6', 'sctp']);
  assert.deepEqual(QUERY_PROTOCOLS.icmp, [1, 58]);
  // Nothing narrows: exactly what the Python client sends.
  assert.deepEqual(encodeQueryRequest({}), json('q'));
  assert.deepEqual(
    encodeQueryRequest({ proto: 'UDP' as 'udp', port: 53, lastMs: 30000, net: '10.0.0.0/8' }),
    json('{"v":1,"lastMs":30000,"net":"10.0.0.0/8","port":53,"proto":"udp"}'),
  );
  assert.deepEqual(parseQueryRequest(json('{"v":1,"host":"::1","maxBytes":0}')), {
    host: '::1',
    maxBytes: 0,
  });
  // JSON null is an absent field.
  assert.deepEqual(parseQueryRequest(json('{"v":1,"port":null}')), {});
  // The dump's linktype: 101 or 239 only (what the receiver converts between).
  assert.deepEqual(encodeQueryRequest({ linktype: 239 }), json('{"v":1,"linktype":239}'));
  assert.deepEqual(parseQueryRequest(json('{"v":1,"linktype":101}')), { linktype: 101 });
  for (const bad of ['{"v":1,"linktype":1}', '{"v":1,"linktype":"239"}']) {
    assert.throws(() => parseQueryRequest(json(bad)), { code: 'ERR_QUERY_BAD_REQUEST' });
  }
});

const requestArb: fc.Arbitrary<QueryRequest> = fc.record(
  {
    sinceUs: fc.maxSafeNat(),
    untilUs: fc.maxSafeNat(),
    lastMs: fc.maxSafeNat(),
    host: fc.oneof(fc.ipV4(), fc.ipV6()),
    net: fc.oneof(
      fc.tuple(fc.ipV4(), fc.nat({ max: 32 })).map(([a, b]) => `${a}/${b}`),
      fc.tuple(fc.ipV6(), fc.nat({ max: 128 })).map(([a, b]) => `${a}/${b}`),
      fc.ipV4(),
    ),
    port: fc.nat({ max: 65535 }),
    proto: fc.oneof(
      fc.nat({ max: 255 }),
      fc.constantFrom(...QUERY_PROTOCOL_NAMES),
      // Names are read in any case and written in lower case.
      fc.constantFrom(...QUERY_PROTOCOL_NAMES).map((n) => n.toUpperCase() as 'tcp'),
    ),
    maxBytes: fc.maxSafeNat(),
    linktype: fc.constantFrom(101, 239),
  },
  { requiredKeys: [] },
);

/** `r` as a plain object (fast-check's have no prototype) with the protocol name in lower case. */
function normalized(r: QueryRequest): QueryRequest {
  return typeof r.proto === 'string' ? { ...r, proto: r.proto.toLowerCase() as 'tcp' } : { ...r };
}

test('property: parseQueryRequest(encodeQueryRequest(r)) gives r back, normalized; re-encoding is byte-identical', () => {
  fc.assert(
    fc.property(requestArb, (r) => {
      const bytes = encodeQueryRequest(r);
      const parsed = parseQueryRequest(bytes);
      if (Object.keys(r).length === 0) {
        assert.deepEqual(bytes, json('q'));
        assert.equal(parsed, null);
        return;
      }
      assert.deepEqual(parsed, normalized(r));
      assert.deepEqual(encodeQueryRequest(parsed), bytes);
    }),
    { numRuns: 500 },
  );
});

// Requests that are not a v1 object ask for the whole ring: never an error.
const WHOLE_RING = [
  'q',
  '',
  '{',
  '[]',
  'null',
  '42',
  '"q"',
  '{"v":2,"host":"x"}',
  '{"v":"1"}',
  '{"host":"10.0.0.1"}',
  '{"v":1.0000001}',
  '\u00ff{"v":1}',
];

for (const raw of WHOLE_RING) {
  test(`whole ring: ${JSON.stringify(raw)}`, () => {
    assert.equal(parseQueryRequest(json(raw)), null);
  });
}

test('whole ring: bytes that are not UTF-8 after the brace', () => {
  assert.equal(parseQueryRequest(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), null);
});

// A v1 object with a bad field: [fields, the field named in the error]. Each value is also
// refused by the encoder, so a client never sends what the receiver rejects.
const BAD: [Record<string, unknown>, string][] = [
  [{ host: 'example.com' }, 'host'],
  [{ host: '10.0.0.0/8' }, 'host'],
  [{ host: 167772161 }, 'host'],
  [{ host: '' }, 'host'],
  [{ net: '10.0.0.0/33' }, 'net'],
  [{ net: '::/129' }, 'net'],
  [{ net: '10.0.0.0/' }, 'net'],
  [{ net: '10.0.0.0/8/8' }, 'net'],
  [{ net: '10.0.0.0/-1' }, 'net'],
  [{ net: '10.0.0.0/0x8' }, 'net'],
  [{ net: ['10.0.0.0/8'] }, 'net'],
  [{ port: 70000 }, 'port'],
  [{ port: -1 }, 'port'],
  [{ port: 1.5 }, 'port'],
  [{ port: '53' }, 'port'],
  [{ proto: 'gre' }, 'proto'],
  [{ proto: 256 }, 'proto'],
  [{ proto: -1 }, 'proto'],
  [{ proto: 6.5 }, 'proto'],
  [{ proto: true }, 'proto'],
  [{ proto: 'constructor' }, 'proto'],
  [{ proto: '__proto__' }, 'proto'],
  [{ maxBytes: 1.5 }, 'maxBytes'],
  [{ maxBytes: 2 ** 53 }, 'maxBytes'],
  [{ sinceUs: '1' }, 'sinceUs'],
  [{ untilUs: {} }, 'untilUs'],
  [{ lastMs: -5 }, 'lastMs'],
];

for (const [fields, field] of BAD) {
  test(`rejected: ${JSON.stringify(fields)}`, () => {
    const check = (err: unknown): boolean => {
      assert.ok(err instanceof QueryRequestError);
      assert.equal(err.code, 'ERR_QUERY_BAD_REQUEST');
      assert.equal(err.field, field);
      assert.equal(err.message, `${field}: ${err.reason}`);
      return true;
    };
    assert.throws(() => parseQueryRequest(json(JSON.stringify({ v: 1, ...fields }))), check);
    assert.throws(() => encodeQueryRequest(fields), check);
  });
}

test('rejected: unknown fields, including ones named like Object.prototype members', () => {
  for (const key of ['colour', 'constructor', '__proto__', 'toString', 'V']) {
    assert.throws(
      () => parseQueryRequest(json(`{"v":1,${JSON.stringify(key)}:1}`)),
      (err: unknown) =>
        err instanceof QueryRequestError && err.field === key && err.reason === 'unknown field',
      key,
    );
  }
});

test('parseQueryPrefix splits ADDR and ADDR/BITS', () => {
  assert.deepEqual(parseQueryPrefix('10.1.2.3/8'), {
    address: '10.1.2.3',
    family: 4,
    prefixBits: 8,
  });
  assert.deepEqual(parseQueryPrefix('fd00::1'), { address: 'fd00::1', family: 6, prefixBits: 128 });
  assert.deepEqual(parseQueryPrefix('::/0'), { address: '::', family: 6, prefixBits: 0 });
  for (const bad of ['10.0.0.0/33', 'x/8', '/8', '1.2.3', '10.0.0.0/1234']) {
    assert.equal(parseQueryPrefix(bad), null, bad);
  }
});

test('error replies: encoded as documented, parsed back, anything else is not one', () => {
  const reply = encodeQueryError({ code: 'ERR_QUERY_BAD_REQUEST', message: 'port: bad' });
  assert.deepEqual(reply, json('{"error":{"code":"ERR_QUERY_BAD_REQUEST","message":"port: bad"}}'));
  assert.deepEqual(parseQueryError([reply]), {
    code: 'ERR_QUERY_BAD_REQUEST',
    message: 'port: bad',
  });
  const notErrors: Buffer[][] = [
    [],
    [Buffer.alloc(0)],
    [json('{')],
    [json('{"error":null}')],
    [json('{"error":{"code":1,"message":"x"}}')],
    [json('{"error":{"code":"E"}}')],
    [json('{"other":{"code":"E","message":"m"}}')],
    [json('null')],
    [reply, Buffer.alloc(0)],
    encodeQueryDump({ linktype: 101, nanosecond: false }, []),
  ];
  for (const parts of notErrors) assert.equal(parseQueryError(parts), null, String(parts));
});

test('dump replies: header, sections as given, empty part; recognised in either byte order', () => {
  const section = Buffer.from('0102', 'hex');
  const parts = encodeQueryDump({ linktype: 239, nanosecond: true }, [section]);
  assert.equal(parts.length, 3);
  assert.deepEqual(parts[0], encodePcapHeader({ linktype: 239, nanosecond: true }));
  assert.equal(parts[1], section, 'the section itself, not a copy');
  assert.equal(parts[2]!.length, 0);
  assert.equal(isQueryDump(parts), true);
  const be = Buffer.alloc(24);
  be.writeUInt32BE(0xa1b2c3d4, 0);
  assert.equal(isQueryDump([be]), true);
  assert.equal(isQueryDump([be.subarray(0, 23)]), false);
  assert.equal(isQueryDump([encodeQueryError({ code: 'E', message: 'm' })]), false);
  assert.equal(isQueryDump([]), false);
});
