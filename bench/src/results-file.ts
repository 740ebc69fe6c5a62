// The JSON results file of a bench mode: what ran, on which host, and every measurement.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Writes `{ started, host, ...body }` to `path`, by default `bench/results/<kind>-<date>.json`
 * (gitignored), and says where on stdout (`results: PATH`).
 * @param loadavgAtStart os.loadavg() when the run began: other work on the box skews every number
 */
export async function writeResultsFile(
  kind: string,
  path: string | undefined,
  started: Date,
  loadavgAtStart: readonly number[],
  body: Record<string, unknown>,
): Promise<void> {
  const jsonPath =
    path ??
    join(
      dirname(new URL(import.meta.url).pathname),
      '..',
      'results',
      `${kind}-${started.toISOString().replace(/[:.]/g, '-')}.json`,
    );
  await mkdir(dirname(jsonPath), { recursive: true });
  const host = { cpus: cpus().length, kernel: release(), node: process.version, loadavgAtStart };
  await writeFile(
    jsonPath,
    `${JSON.stringify({ started: started.toISOString(), host, ...body }, null, 2)}\n`,
  );
  process.stdout.write(`\nresults: ${jsonPath}\n`);
}
