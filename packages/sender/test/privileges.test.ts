// findUser reads passwd(5) lines exactly; unknown users are ERR_SENDER_UNKNOWN_USER.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findUser, lookupUser } from '../src/index.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'broken:x::5:no uid:/:/bin/false',
  '#comment',
  '',
  'svc:x:998:997::/var/lib/svc:/usr/sbin/nologin',
].join('\n');

test('finds users by name with their uid and primary gid', () => {
  assert.deepEqual(findUser('nobody', PASSWD), { name: 'nobody', uid: 65534, gid: 65534 });
  assert.deepEqual(findUser('svc', PASSWD), { name: 'svc', uid: 998, gid: 997 });
  assert.deepEqual(findUser('root', PASSWD), { name: 'root', uid: 0, gid: 0 });
});

test('unknown names, numbers and broken lines are ERR_SENDER_UNKNOWN_USER', () => {
  for (const name of ['ghost', '65534', 'broken', '', 'nob']) {
    assert.throws(() => findUser(name, PASSWD), { code: 'ERR_SENDER_UNKNOWN_USER' });
  }
});

test('lookupUser reads /etc/passwd (root is always there)', () => {
  assert.deepEqual(lookupUser('root'), { name: 'root', uid: 0, gid: 0 });
});
