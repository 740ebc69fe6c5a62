import { runCommand } from './netns.js';
import type { Netns } from './netns.js';

/**
 * Starts `tcpdump -i lo -U --immediate-mode -w file` inside `ns` and resolves once tcpdump reports
 * it is listening. lo captures are DLT_EN10MB: strip 14 bytes of Ethernet header to get the IP
 * packet. `stop()` sends SIGINT and waits for tcpdump to exit (the file is then complete for
 * every packet sent before stop() was called: immediate mode hands each packet over at once).
 * @throws when tcpdump exits before listening.
 */
export async function captureLo(ns: Netns, file: string): Promise<{ stop(): Promise<void> }> {
  const h = ns.spawn('tcpdump', ['-i', 'lo', '-U', '--immediate-mode', '-n', '-w', file]);
  await h.waitForStderr(/listening on lo/);
  return {
    async stop() {
      h.kill('SIGINT');
      await h.exited;
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
 * `-Y filter` when given): one row per packet, one cell per field.
 * @throws Error (code `ERR_TEST_COMMAND`) when tshark fails.
 */
export async function tsharkFields(file: string, fields: string[], filter?: string): Promise<string[][]> {
  const args = ['-r', file, '-T', 'fields', '-E', 'separator=/t'];
  for (const f of fields) args.push('-e', f);
  if (filter !== undefined) args.push('-Y', filter);
  const { stdout } = await runCommand('tshark', args);
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}
