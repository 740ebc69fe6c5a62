// The CURVE flags of every long-running CLI and the query tool, through their bin shims: flags that do not combine are usage errors (exit 2) and certificates that cannot be used are runtime errors (exit 1), each one line on stderr, before anything is bound or opened.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPair, writeCertificatePair } from '@nflog-pipe/shared';
import { makeTempDir, runTool, type ToolName } from '@nflog-pipe/testing';

/** Each CLI with its positional arguments (endpoints that are never reached). */
const TOOLS: [ToolName, string[]][] = [
  ['nflog-pcap-recv', ['tcp://127.0.0.1:*', '/dev/null', '--linktype', '101']],
  ['nflog-zmq-compress', ['tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
  ['nflog-zmq-decompress', ['tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
];
const CLIENTS: [ToolName, string[]][] = [
  ['nflog-zmq-send', ['7', 'tcp://127.0.0.1:9']],
  ['nflog-pcap-query', ['tcp://127.0.0.1:9']],
  ['nflog-zmq-compress', ['tcp://127.0.0.1:*', 'tcp://127.0.0.1:9']],
];

function oneLine(tool: string, stderr: string, re: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${tool}: one line: ${stderr}`);
  assert.match(lines[0]!, new RegExp(`^${tool}: `));
  assert.match(lines[0]!, re, tool);
}

test('usage: --curve-server without --curve-allow, --curve-allow alone, one client flag alone: exit 2', async () => {
  for (const [tool, args] of TOOLS) {
    for (const [extra, re] of [
      [['--curve-server', 'x.key_secret'], /--curve-server needs --curve-allow/],
      [['--curve-allow', 'any'], /--curve-allow needs --curve-server/],
    ] as const) {
      const r = await runTool(tool, [...args, ...extra]);
      assert.equal(r.code, 2, `${tool} ${extra.join(' ')}: ${r.stderr}`);
      oneLine(tool, r.stderr, re);
    }
  }
  for (const [tool, args] of CLIENTS) {
    const r = await runTool(tool, [...args, '--curve-client', 'x.key_secret']);
    assert.equal(r.code, 2, `${tool}: ${r.stderr}`);
    oneLine(tool, r.stderr, /--curve-client needs --curve-server-key/);
  }
  const buf = await runTool('nflog-pcap-recv', [
    ...TOOLS[0]![1],
    '--curve-server',
    's',
    '--curve-allow',
    'any',
    '--buffer-curve-allow',
    'any',
  ]);
  assert.equal(buf.code, 2);
  oneLine('nflog-pcap-recv', buf.stderr, /--buffer-curve-allow needs --buffer-interface/);
});

test('runtime: a missing certificate, a public one where the secret is needed, a missing allowlist: exit 1', async (t) => {
  const dir = await makeTempDir(t);
  const keys = generateKeyPair();
  await writeCertificatePair(dir, 'h', keys);
  await writeFile(join(dir, 'junk'), 'hello\n');
  const secret = join(dir, 'h.key_secret');
  for (const [tool, args] of TOOLS) {
    for (const [extra, re] of [
      [
        ['--curve-server', join(dir, 'none'), '--curve-allow', 'any'],
        /cannot read certificate .*none.*ENOENT/,
      ],
      [['--curve-server', join(dir, 'h.key'), '--curve-allow', 'any'], /holds no secret-key/],
      [['--curve-server', join(dir, 'junk'), '--curve-allow', 'any'], /not a ZeroMQ certificate/],
      [
        ['--curve-server', secret, '--curve-allow', join(dir, 'nope')],
        /--curve-allow .*nope: neither a certificate/,
      ],
    ] as const) {
      const r = await runTool(tool, [...args, ...extra]);
      assert.equal(r.code, 1, `${tool} ${extra.join(' ')}: ${r.stderr}`);
      oneLine(tool, r.stderr, re);
    }
  }
  for (const [tool, args] of CLIENTS) {
    const r = await runTool(tool, [
      ...args,
      '--curve-client',
      secret,
      '--curve-server-key',
      'not-a-key-and-not-a-file',
    ]);
    assert.equal(r.code, 1, `${tool}: ${r.stderr}`);
    oneLine(tool, r.stderr, /cannot read certificate not-a-key-and-not-a-file/);
  }
});
