// npm run demo (as root): the whole pipe in a throwaway network namespace. nft logs loopback
// traffic to an NFLOG group; nflog-zmq-send reads it and pushes frames over ipc:// to
// nflog-pcap-recv, which writes a live pcap stream into a FIFO that tcpdump reads, and keeps a
// ring buffer that nflog-pcap-query dumps. Prints what each stage counted and a few decoded
// packets, then removes everything, also on Ctrl-C.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, nftLogged } from '@nflog-pipe/testing';
import { waitNflogBound } from './nflog-ready.js';
import { countPcapRecords } from './pcap-count.js';
import { delay, RunScope, runCmd, startProc, stopProc, type Proc } from './proc.js';
import { binPath, parseSummaryLine } from './tools.js';

const GROUP = 5;
const TRAFFIC = fileURLToPath(new URL('./demo-traffic.js', import.meta.url));

/** The run's temp dir, namespace and interrupt handling (set once main() starts). */
let scope: RunScope | undefined;

const say = (s = ''): void => {
  process.stdout.write(`${s}\n`);
};

function demoRuleset(group: number): string {
  // Output hook only: on loopback each packet also passes input, and logging both would show
  // every packet twice. The counter is the ground truth for "offered".
  return [
    'table inet nfpdemo {',
    '  chain out {',
    '    type filter hook output priority 0;',
    `    meta l4proto { tcp, udp, icmp, ipv6-icmp } counter log group ${group}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Waits until the receiver's periodic stats line reports `want` packets in (bounded). */
async function waitReceived(receiver: Proc, want: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let got = 0;
  while (Date.now() < deadline) {
    got = parseSummaryLine(receiver.stderr(), /\bstats\b/)['in_pkt'] ?? 0;
    if (got >= want) break;
    await delay(200);
  }
  return got;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo: must run as root (it creates a network namespace and nft rules)\n');
    return 1;
  }
  scope = new RunScope('demo', await mkdtemp(join(tmpdir(), 'nfp-demo-')));

  try {
    const ns = await Netns.create('demo');
    scope.ns = ns;
    await ns.nft(demoRuleset(GROUP));
    say(`nflog-pipe demo in network namespace ${ns.name} (removed at the end)`);
    say(`  nft: loopback TCP/UDP/ICMP output -> counter -> log group ${GROUP}`);

    const pipeSock = `ipc://${join(scope.tmp, 'pipe.sock')}`;
    const querySock = `ipc://${join(scope.tmp, 'query.sock')}`;
    const fifo = join(scope.tmp, 'stream.fifo');
    await runCmd('mkfifo', [fifo]);

    // The IDS stand-in: tcpdump decoding the live stream from the FIFO.
    const reader = startProc('tcpdump', 'tcpdump', ['-nn', '-l', '-r', fifo]);
    const receiver = startProc(
      'receiver',
      process.execPath,
      [
        binPath('receiver', 'nflog-pcap-recv'),
        '--stats-interval',
        '1',
        '--buffer-interface',
        querySock,
        pipeSock,
        fifo,
      ],
      { netns: ns.name },
    );
    await receiver.waitFor(/\bstarted\b/, 20_000);
    const sender = startProc(
      'sender',
      process.execPath,
      [binPath('sender', 'nflog-zmq-send'), String(GROUP), pipeSock],
      { netns: ns.name },
    );
    await waitNflogBound(sender, GROUP);
    say(`  started: nflog-pcap-recv -> ${fifo} (read by tcpdump -r), ring buffer on ${querySock}`);
    say(`  started: nflog-zmq-send ${GROUP} ${pipeSock}`);

    const traffic = await ns.run(process.execPath, [TRAFFIC]);
    const sent = JSON.parse(traffic.stdout.trim()) as Record<string, number>;
    const pings = await ns.run('ping', ['-c', '3', '-i', '0.2', '-W', '1', '127.0.0.1'], {
      allowFail: true,
    });
    const pings6 = await ns.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '1', '::1'], {
      allowFail: true,
    });
    const pinged = pings.code === 0 && pings6.code === 0;
    say(
      `  traffic: ${sent['udp4']} UDP/IPv4 + ${sent['udp6']} UDP/IPv6 datagrams (each awaited at a local receiver), ` +
        `TCP echo over IPv4 and IPv6 (${sent['tcp4Messages']} + ${sent['tcp6Messages']} messages)` +
        (pinged ? ', ping -c 3 to 127.0.0.1 and ::1' : ' (ping not available: no ICMP echo)'),
    );

    const logged = await nftLogged(ns, GROUP);
    const received = await waitReceived(receiver, logged, 10_000);

    const dump = join(scope.tmp, 'ring.pcap');
    const icmpDump = join(scope.tmp, 'ring-icmp.pcap');
    const query = binPath('query', 'nflog-pcap-query');
    await runCmd(process.execPath, [query, querySock, '-w', dump]);
    await runCmd(process.execPath, [query, querySock, '--proto', 'icmp', '-w', icmpDump]);
    const ringAll = await countPcapRecords(dump);
    const ringIcmp = await countPcapRecords(icmpDump);
    const decoded = (await runCmd('tcpdump', ['-nn', '-r', dump])).stdout.trim().split('\n');

    // Stop in flow order, so each stage's final counters include everything before it.
    await stopProc(sender, 'SIGINT');
    await stopProc(receiver, 'SIGINT');
    await stopProc(reader, 'SIGTERM', 5_000);
    const s = parseSummaryLine(sender.stderr(), /\bstopped\b/);
    const r = parseSummaryLine(receiver.stderr(), /\bstopped\b/);
    const fifoLines = reader
      .stdout()
      .trim()
      .split('\n')
      .filter((l) => l !== '').length;

    say();
    say('what each stage counted:');
    say(`  1 nft rule        ${logged} packets logged to NFLOG group ${GROUP}`);
    say(
      `  2 nflog-zmq-send  read ${s['captured']} from the kernel, queued ${s['queued']} in ${s['messages']} frames ` +
        `(kernel drops ${s['dropped_kernel']}, queue drops ${s['dropped_queue']})`,
    );
    say(
      `  3 nflog-pcap-recv got ${r['in_pkt']} (network loss ${r['loss_network_pkt']}, bad frames ${r['bad_frames']}), ` +
        `wrote ${r['out_pkt']} to the FIFO (FIFO drops ${r['loss_fifo_pkt']}), ring holds ${r['ring_pkt']}`,
    );
    say(`  4 tcpdump -r FIFO decoded ${fifoLines} packets from the live stream`);
    say(
      `  5 nflog-pcap-query dumped ${ringAll.records} packets from the ring; --proto icmp gave ${ringIcmp.records}`,
    );
    if (received < logged)
      say(`  (the receiver had ${received} of ${logged} when the ring was queried)`);
    const ok = [s['captured'], r['in_pkt'], r['out_pkt'], fifoLines, ringAll.records].every(
      (x) => x === logged,
    );
    say(ok ? `  every stage saw all ${logged} packets` : '  counts differ: see the stages above');

    say();
    say('a few packets from the ring dump (tcpdump -nn -r):');
    const picks = new Set<string>();
    for (const re of [
      /IP \S+ > \S+: UDP/,
      /IP6 \S+ > \S+: UDP/,
      /IP \S+ > \S+: Flags \[S\]/,
      /IP6 \S+ > \S+: Flags \[P/,
      /ICMP echo/,
      /ICMP6, echo/,
    ]) {
      const line = decoded.find((l) => re.test(l));
      if (line !== undefined) picks.add(line);
    }
    for (const l of picks) say(`  ${l}`);
    return ok ? 0 : 1;
  } finally {
    await scope.cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // After Ctrl-C, killed children make the main flow fail; that is not worth a message.
    if (scope?.interrupted === true) return;
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
