import { runCommand } from './netns.js';
import type { Netns } from './netns.js';
import { sendTraffic } from './send-traffic.js';
import { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';

/** UDP port of the marker packet {@link LoCapture.stopAtMarker} sends; keep it out of nft rules. */
export const LO_MARKER_PORT = 9999;

/** A running loopback capture (see captureLo). */
export interface LoCapture {
  /** Packets tcpdump has processed so far (each is written to the file before it is counted). */
  packets(): number;
  /** Resolves once tcpdump has processed at least `n` packets. @throws on timeout or exit. */
  waitForPackets(n: number, timeoutMs?: number): Promise<void>;
  /**
   * Stops tcpdump (SIGINT) and waits for it to exit. With `expectPackets`, first waits until
   * tcpdump has processed that many packets: SIGINT makes tcpdump stop at once, and packets the
   * kernel already queued but tcpdump had not read yet would be missing from the file.
   */
  stop(expectPackets?: number): Promise<void>;
  /**
   * For traffic whose packet count is not known in advance (TCP): sends one UDP packet to
   * 127.0.0.1:`port`, waits until tcpdump has printed it (so it has processed every packet
   * sent before it), stops tcpdump and checks it reported no kernel drops. The marker packet
   * is in the file too.
   * @throws Error when tcpdump reports dropped packets (the capture is not a complete reference)
   */
  stopAtMarker(port?: number): Promise<void>;
}

/**
 * Starts `tcpdump -i lo -U --immediate-mode -B 65536 -w file --print` inside `ns` and resolves once tcpdump
 * reports it is listening. lo captures are DLT_EN10MB: strip 14 bytes of Ethernet header to get
 * the IP packet. Pass the number of packets you expect to `stop()` so none is lost (see LoCapture).
 * `options.device` captures another interface of `ns` instead (a veth: also DLT_EN10MB;
 * `stopAtMarker` only works on lo), `options.filter` adds a capture filter (tcpdump arguments).
 * @throws when tcpdump exits before listening.
 */
export async function captureLo(
  ns: Netns,
  file: string,
  options: { device?: string; filter?: readonly string[] } = {},
): Promise<LoCapture> {
  const device = options.device ?? 'lo';
  // --print -l -q: one short line on stdout per packet processed, so we can tell how far
  // tcpdump has got without touching the file.
  // Immediate mode uses fixed ring slots of about the lo MTU (64 KiB) and every lo packet takes
  // two (libpcap drops the outgoing copy in user space), so the default 2 MiB buffer holds ~15
  // packets and a burst overflows it ("dropped by kernel"): -B 65536 (KiB) holds ~500.
  // (An `inbound` filter would save the slot but leaves the last packet stuck in the ring.)
  const h = ns.spawn('tcpdump', [
    '-i',
    device,
    '-U',
    '--immediate-mode',
    '-B',
    '65536',
    '-n',
    '-w',
    file,
    '--print',
    '-l',
    '-q',
    '-t',
    ...(options.filter ?? []),
  ]);
  await h.waitForStderr(new RegExp(`listening on ${device}`));
  let count = 0;
  const waiters = new Set<() => void>();
  h.child.stdout?.on('data', (b: Buffer) => {
    for (const byte of b) if (byte === 0x0a) count += 1;
    for (const w of [...waiters]) w();
  });
  let exited = false;
  const onExit = (): void => {
    exited = true;
    for (const w of [...waiters]) w();
  };
  h.exited.then(onExit, onExit);
  const waitForPackets = (n: number, timeoutMs: number = TEST_TIMEOUT_MS): Promise<void> => {
    let check: () => void = () => {};
    const p = new Promise<void>((resolve, reject) => {
      check = () => {
        if (count >= n) resolve();
        else if (exited)
          reject(new Error(`tcpdump exited after ${count} of ${n} packets: ${h.stderr().trim()}`));
      };
      waiters.add(check);
      check();
    });
    return withTimeout(p, timeoutMs, `tcpdump to capture ${n} packets (has ${count})`).finally(() =>
      waiters.delete(check),
    );
  };
  return {
    packets: () => count,
    waitForPackets,
    async stop(expectPackets?: number) {
      try {
        if (expectPackets !== undefined) await waitForPackets(expectPackets);
      } finally {
        h.kill('SIGINT');
        await h.exited;
      }
    },
    async stopAtMarker(port = LO_MARKER_PORT) {
      try {
        await sendTraffic(ns, { proto: 'udp', family: 4, port, count: 1, size: 1, seed: 99 });
        await h.waitForStdout(new RegExp(`\\.${port}: UDP`));
      } finally {
        h.kill('SIGINT');
        await h.exited;
      }
      const m = /(\d+) packets? dropped by kernel/.exec(h.stderr());
      if (m === null || m[1] !== '0')
        throw new Error(`the capture of lo is incomplete: ${h.stderr().trim()}`);
    },
  };
}

/**
 * Reads a pcap file with `tcpdump -nn -tt -r file`: one line per packet.
 * @throws Error (code `ERR_TEST_COMMAND`) when tcpdump fails (bad or truncated file).
 */
export async function tcpdumpRead(file: string): Promise<{ count: number; lines: string[] }> {
  const { stdout } = await runCommand('tcpdump', ['-nn', '-tt', '-r', file]);
  const lines = stdout.split('\n').filter((l) => l !== '');
  return { count: lines.length, lines };
}

/**
 * Reads a pcap file with `tshark -r file -T fields -E separator=/t -e f1 -e f2 ...` (and
 * `-Y filter` when given, `-o name:value` for each of `prefs`, e.g.
 * `{ 'tcp.check_checksum': 'TRUE' }`): one row per packet, one cell per field.
 * @throws Error (code `ERR_TEST_COMMAND`) when tshark fails.
 */
export async function tsharkFields(
  file: string,
  fields: string[],
  filter?: string,
  prefs: Record<string, string> = {},
): Promise<string[][]> {
  const args = ['-r', file, '-T', 'fields', '-E', 'separator=/t'];
  for (const [name, value] of Object.entries(prefs)) args.push('-o', `${name}:${value}`);
  for (const f of fields) args.push('-e', f);
  if (filter !== undefined) args.push('-Y', filter);
  const { stdout } = await runCommand('tshark', args);
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}
