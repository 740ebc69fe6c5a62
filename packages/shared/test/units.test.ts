// Proves the option value parsers convert units exactly and reject every malformed class with
// commander's InvalidArgumentError (which the CLI turns into exit 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  parseDuration,
  parseGroups,
  parseHostPort,
  parseMiB,
  parsePositiveInt,
  parseSeconds,
} from '../src/index.js';

function rejects(fn: (s: string) => unknown, inputs: string[]): void {
  for (const s of inputs) {
    assert.throws(
      () => fn(s),
      (e: unknown) => e instanceof InvalidArgumentError && e.code === 'commander.invalidArgument',
      `${fn.name}('${s}')`,
    );
  }
}

test('parseMiB: MiB (fractions allowed) to bytes', () => {
  const table: [string, number][] = [
    ['0', 0],
    ['1', 1048576],
    ['1.5', 1572864],
    ['.5', 524288],
    ['64', 67108864],
    [' 2 ', 2097152],
    ['0.0000001', 0],
  ];
  for (const [s, bytes] of table) assert.equal(parseMiB(s), bytes, s);
  rejects(parseMiB, ['', '-1', 'x', '1MiB', '1e3', 'Infinity', 'NaN', '1.2.3', '0x10']);
});

test('parseSeconds: seconds to milliseconds', () => {
  const table: [string, number][] = [
    ['0', 0],
    ['1', 1000],
    ['0.25', 250],
    ['2.0005', 2001],
    ['60', 60000],
  ];
  for (const [s, ms] of table) assert.equal(parseSeconds(s), ms, s);
  rejects(parseSeconds, ['', '-1', '1s', 'x', '1e1']);
});

test('parseDuration: units ms/s/m/h, bare numbers are seconds', () => {
  const table: [string, number][] = [
    ['250ms', 250],
    ['30s', 30000],
    ['5m', 300000],
    ['1h', 3600000],
    ['10', 10000],
    ['1.5s', 1500],
    ['0.5m', 30000],
    ['0', 0],
  ];
  for (const [s, ms] of table) assert.equal(parseDuration(s), ms, s);
  rejects(parseDuration, ['', 's', '-5s', '5 s', '5d', '5mm', '1h30m', 'abc']);
});

test('parsePositiveInt', () => {
  assert.equal(parsePositiveInt('1'), 1);
  assert.equal(parsePositiveInt('65535'), 65535);
  assert.equal(parsePositiveInt('9007199254740991'), 9007199254740991);
  rejects(parsePositiveInt, ['0', '-1', '1.5', '', 'x', '9007199254740992', '1e3']);
});

test('parseGroups: 0..65535, unique, non-empty, order kept', () => {
  assert.deepEqual(parseGroups('0'), [0]);
  assert.deepEqual(parseGroups('0,1'), [0, 1]);
  assert.deepEqual(parseGroups('5, 3,65535'), [5, 3, 65535]);
  rejects(parseGroups, ['', ',', '1,', '1,1', '65536', '-1', 'a', '1.0', '1;2']);
});

test('parseHostPort: host, host:port, IPv6 forms, default port', () => {
  const table: [string, { host: string; port: number }][] = [
    ['stats', { host: 'stats', port: 8125 }],
    ['stats:9125', { host: 'stats', port: 9125 }],
    ['127.0.0.1:1', { host: '127.0.0.1', port: 1 }],
    ['[::1]', { host: '::1', port: 8125 }],
    ['[::1]:65535', { host: '::1', port: 65535 }],
    ['fe80::1', { host: 'fe80::1', port: 8125 }],
  ];
  for (const [s, hp] of table) assert.deepEqual(parseHostPort(s, 8125), hp, s);
  rejects(
    (s) => parseHostPort(s, 8125),
    ['', ':80', 'h:', 'h:0', 'h:65536', 'h:x', '[]:1', '[::1]:', 'h:-1'],
  );
});
