// Usage errors exit 2 with exactly one stderr line; --help and --version exit 0 (the real bin, as a child process).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTool } from '@nflog-pipe/testing';

/** The real bin to completion; stdout as text (the output here is help and version text). */
async function run(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runTool('nflog-zmq-send', args);
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
}

const USAGE_ERRORS: Array<[string, string[], RegExp]> = [
  ['group above 65535', ['70000', 'tcp://127.0.0.1:5555'], /70000/],
  ['group not a number', ['a,b', 'tcp://127.0.0.1:5555'], /'a'/],
  ['group given twice', ['1,1', 'tcp://127.0.0.1:5555'], /twice/],
  ['endpoint without transport', ['1', 'localhost:5555'], /endpoint/],
  ['tcp endpoint without port', ['1', 'tcp://127.0.0.1'], /endpoint/],
  ['inproc endpoint', ['1', 'inproc://x'], /inproc/],
  [
    'hwm below lwm',
    ['1', 'tcp://127.0.0.1:5555', '--rate-control', '--lwm', '5', '--hwm', '1'],
    /hwm/,
  ],
  // Parses as MiB/s but is not finite: the shaper's coded RangeError, reported as usage.
  [
    'hwm too large to be finite',
    ['1', 'tcp://127.0.0.1:5555', '--rate-control', '--hwm', '9'.repeat(400)],
    /rate control: hwm must be a finite number/,
  ],
  ['unknown user', ['1', 'tcp://127.0.0.1:5555', '-u', 'no-such-user-nfp'], /no-such-user-nfp/],
  ['zero zmq buffer', ['1', 'tcp://127.0.0.1:5555', '--zmq-buffer', '0'], /zmq-buffer|positive/],
  ['bad wire format', ['1', 'tcp://127.0.0.1:5555', '--wire', 'v2'], /v2/],
  [
    'legacy with linktype 239',
    ['1', 'tcp://127.0.0.1:5555', '--wire', 'legacy', '--linktype', '239'],
    /legacy/,
  ],
  [
    'copy range shorter than an IPv4 header',
    ['1', 'tcp://127.0.0.1:5555', '--libnflog-copy-range', '19'],
    /copy-range 19 .*at least 20/,
  ],
  ['missing endpoint', ['1'], /endpoint/],
  ['unknown option', ['1', 'tcp://127.0.0.1:5555', '--bogus'], /bogus/],
];

for (const [what, args, re] of USAGE_ERRORS) {
  test(`usage error, exit 2, one line: ${what}`, async () => {
    const r = await run(args);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^nflog-zmq-send: /);
    assert.match(lines[0]!, re);
    assert.equal(r.stdout, '');
  });
}

test('--help lists every option with its default and exits 0', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const flag of [
    '-u, --user',
    '--libnflog-nlbufsiz <MiB>',
    '--libnflog-qthresh <packets>',
    '--libnflog-timeout <seconds>',
    '--libnflog-copy-range <bytes>',
    '--zmq-buffer <messages>',
    '--zmq-sndbuf <MiB>',
    '--rate-control',
    '--lwm <MiB/s>',
    '--hwm <MiB/s>',
    '--wm-interval <MiB>',
    '--wire <format>',
    '--batch-bytes <bytes>',
    '--flush-interval <ms>',
    '-m, --statsd',
    '--debug',
  ]) {
    assert.ok(r.stdout.includes(flag), `--help lacks ${flag}`);
  }
  const help = r.stdout.replace(/\s+/g, ' ');
  assert.match(
    help,
    /--zmq-buffer <messages> .*\(default: 256 frames with --wire v1; 16 × --libnflog-qthresh × groups packets with --wire legacy\)/,
  );
  assert.match(help, /--zmq-sndbuf <MiB> .*\(default: 0\.25\)/);
  assert.match(help, /--flush-interval <ms> .*\(default: 10\)/);
  assert.equal(r.stderr, '');
});

test('--version exits 0', async () => {
  const r = await run(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});
