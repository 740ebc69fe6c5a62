// validateEndpoint accepts what ZeroMQ can connect to or bind and names the problem otherwise (ERR_USAGE).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLocalEndpoint, validateEndpoint } from '../src/index.js';

test('accepts tcp, ipc and other ZeroMQ transports', () => {
  for (const ok of [
    'tcp://127.0.0.1:5555',
    'tcp://ids.example.org:1',
    'tcp://[::1]:65535',
    'ipc:///run/nflog/pipe.sock',
    'ipc://@abstract',
    'ws://host:80/path',
    'epgm://eth0;239.192.1.1:5555',
  ]) {
    assert.equal(validateEndpoint(ok), ok);
  }
});

test('rejects malformed endpoints with ERR_USAGE', () => {
  for (const bad of [
    '',
    'localhost:5555',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:0',
    'tcp://127.0.0.1:65536',
    'tcp://127.0.0.1:port',
    'tcp://*:5555',
    'tcp://:5555',
    'tcp://1.2.3.4:5/x',
    'inproc://x',
    'udp://1.2.3.4:5',
    'ipc://',
    'ipc:///with space',
  ]) {
    assert.throws(() => validateEndpoint(bad), { code: 'ERR_USAGE' }, bad);
  }
});

test("'*' as host or port only for bind", () => {
  for (const ok of [
    'tcp://*:5555',
    'tcp://127.0.0.1:*',
    'tcp://*:*',
    'tcp://[::1]:*',
    'ws://*:80/path',
    'ipc:///run/nflog/pipe.sock',
  ]) {
    assert.equal(validateEndpoint(ok, 'bind'), ok);
  }
  for (const bad of ['tcp://127.0.0.1:*', 'tcp://*:*']) {
    assert.throws(() => validateEndpoint(bad, 'connect'), { code: 'ERR_USAGE' }, bad);
  }
  for (const bad of [
    'tcp://127.0.0.1:0',
    'tcp://*:5/x',
    'inproc://x',
    'bogus://x',
    'not-an-endpoint',
  ]) {
    assert.throws(() => validateEndpoint(bad, 'bind'), { code: 'ERR_USAGE' }, bad);
  }
});

test('isLocalEndpoint: only ipc, inproc and loopback addresses are local', () => {
  for (const local of [
    'ipc:///run/x.sock',
    'inproc://x',
    'tcp://127.0.0.1:5555',
    'tcp://127.8.9.10:1',
    'tcp://localhost:5555',
    'tcp://[::1]:5555',
    'ws://127.0.0.1:80/p',
  ])
    assert.equal(isLocalEndpoint(local), true, local);
  for (const open of [
    'tcp://0.0.0.0:5555',
    'tcp://*:5555',
    'tcp://[::]:5555',
    'tcp://10.0.0.1:5555',
    'tcp://eth0:5555',
    'tcp://ids.example:5555',
    'tcp://127.0.0.1;10.0.0.1:5555',
    'epgm://eth0;239.192.1.1:5555',
    'garbage',
  ])
    assert.equal(isLocalEndpoint(open), false, open);
});
