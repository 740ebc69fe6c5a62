// Z85 (RFC 32) both ways: the RFC's vector, libzmq's documented key pair, a round trip over any bytes, and every malformed-input class.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CurveError,
  checkZ85Key,
  curvePublicKey,
  isZ85Key,
  z85Decode,
  z85Encode,
} from '../src/index.js';

// The key pairs printed in libzmq's zmq_curve(7) man page (generated there by libsodium).
const CLIENT_PUBLIC = 'Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID';
const CLIENT_SECRET = 'D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs';
const SERVER_PUBLIC = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';
const SERVER_SECRET = 'JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6';

test("RFC 32's vector: 86 4F D2 6F B5 59 F7 5B is HelloWorld", () => {
  const bytes = Buffer.from('864fd26fb559f75b', 'hex');
  assert.equal(z85Encode(bytes), 'HelloWorld');
  assert.deepEqual(z85Decode('HelloWorld'), bytes);
});

test("the public key of libzmq's documented secret keys is the documented public key", () => {
  assert.equal(curvePublicKey(CLIENT_SECRET), CLIENT_PUBLIC);
  assert.equal(curvePublicKey(SERVER_SECRET), SERVER_PUBLIC);
  assert.equal(z85Decode(CLIENT_PUBLIC).length, 32);
});

test('any multiple of 4 bytes round-trips, and the text is 5/4 as long', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a.subarray(0, a.length & ~3))),
      (bytes) => {
        const text = z85Encode(bytes);
        assert.equal(text.length, (bytes.length / 4) * 5);
        assert.deepEqual(z85Decode(text), bytes);
      },
    ),
  );
});

test('extremes: all-zero and all-0xff groups', () => {
  assert.equal(z85Encode(Buffer.alloc(4)), '00000');
  assert.equal(z85Encode(Buffer.alloc(4, 0xff)), '%nSc0');
  assert.deepEqual(z85Decode('%nSc0'), Buffer.alloc(4, 0xff));
});

test('malformed input: each class is ERR_CURVE_BAD_Z85 (or ERR_CURVE_BAD_KEY for a key of the wrong length)', () => {
  const bad = (fn: () => unknown, code: string): void =>
    assert.throws(fn, (err: unknown) => err instanceof CurveError && err.code === code);
  bad(() => z85Encode(Buffer.alloc(3)), 'ERR_CURVE_BAD_Z85');
  bad(() => z85Decode('Hell'), 'ERR_CURVE_BAD_Z85'); // not a multiple of 5
  bad(() => z85Decode('Hello"orld'), 'ERR_CURVE_BAD_Z85'); // outside the alphabet
  bad(() => z85Decode('Hello orld'), 'ERR_CURVE_BAD_Z85');
  bad(() => z85Decode('Helloéorld'), 'ERR_CURVE_BAD_Z85'); // not ASCII
  bad(() => z85Decode('%nSc1'), 'ERR_CURVE_BAD_Z85'); // 2^32, one above the largest group
  bad(() => z85Decode('#####'), 'ERR_CURVE_BAD_Z85');
  bad(() => checkZ85Key('HelloWorld', 'k'), 'ERR_CURVE_BAD_KEY');
  bad(() => checkZ85Key(`${CLIENT_PUBLIC.slice(0, 39)}"`, 'k'), 'ERR_CURVE_BAD_Z85');
  assert.equal(checkZ85Key(CLIENT_PUBLIC, 'k'), CLIENT_PUBLIC);
  assert.equal(isZ85Key(CLIENT_PUBLIC), true);
  assert.equal(isZ85Key('/etc/nflog-pipe/keys/ids-receiver-01.key'), true); // 40 Z85 characters
  assert.equal(isZ85Key('HelloWorld'), false);
  assert.equal(isZ85Key(`${'#'.repeat(40)}`), false);
});
