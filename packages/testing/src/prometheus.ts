// Prometheus scrapes in tests: a real HTTP GET of a daemon's /metrics (from inside a network
// namespace when the daemon runs there), the text format read back into samples, and
// `promtool check metrics` (Debian package prometheus) run on it.

import { runCommand, type Netns } from './netns.js';

/** One scrape's samples by `name{label="value",...}`, labels sorted by name. */
export type MetricSamples = Map<string, number>;

/** The sample key of `name` with `labels`, as parsePrometheusText builds it. */
export function sampleKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/**
 * Parses the Prometheus text format (0.0.4) into samples; `# HELP`/`# TYPE` and blank lines are
 * skipped. Label values keep their escapes undone (`\"`, `\\`, `\n`).
 * @throws Error on a line that is not a sample
 */
export function parsePrometheusText(text: string): MetricSamples {
  const out: MetricSamples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.set(sampleKey(m[1]!, labels), Number(m[3]));
  }
  return out;
}

/**
 * GETs `url` (a daemon's `/metrics`) and returns the body; inside `ns` when given (the daemon's
 * loopback is the namespace's). @throws when the status is not 200
 */
export async function scrape(url: string, ns?: Netns): Promise<string> {
  if (ns === undefined) {
    const res = await fetch(url);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body}`);
    return body;
  }
  const script =
    'fetch(process.argv[1]).then(async (r) => { const t = await r.text(); ' +
    'if (r.status !== 200) { console.error(r.status, t); process.exit(1); } process.stdout.write(t); })';
  return (await ns.run(process.execPath, ['-e', script, url])).stdout;
}

/** `promtool check metrics` on `text` (stdin): its exit code and what it printed. */
export async function promtoolCheckMetrics(
  text: string,
): Promise<{ code: number; output: string }> {
  const r = await runCommand('promtool', ['check', 'metrics'], { input: text, allowFail: true });
  return { code: r.code, output: `${r.stdout}${r.stderr}`.trim() };
}
