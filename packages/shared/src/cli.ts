import { hostname } from 'node:os';
import { basename } from 'node:path';
import {
  Command,
  CommanderError,
  InvalidArgumentError,
  Option,
  type OptionValues,
} from 'commander';
import { UsageError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { STATSD_DEFAULT_FLUSH_MS, type StatsdOptions } from './metrics.js';
import { parseHostPort, parseSeconds, type HostPort } from './units.js';
import { VERSION } from './version.js';

// CLI conventions shared by every nflog-pipe tool, so scripts and service managers can treat
// all five alike: exit 0 ok (also after a clean SIGINT/SIGTERM), 1 runtime failure, 2 usage;
// errors are one stderr line `<prog>: <message>` (greppable, one line per failure in a journal),
// with the stack only under --debug. The user-facing table is in packages/shared/README.md.

/** Exit code for success, including a clean stop on SIGINT/SIGTERM. */
export const EXIT_OK = 0;
/** Exit code for a runtime failure. */
export const EXIT_FAILURE = 1;
/** Exit code for bad usage (unknown option, bad value, UsageError). */
export const EXIT_USAGE = 2;

/** Collapses a message into one line (commander puts suggestions on a second line). */
function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/**
 * Formats an error as the one stderr line `<prog>: <message>[: <cause message>...]` (without
 * the newline). Causes are appended unless the message already contains them.
 */
export function formatErrorLine(prog: string, err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
    cause = cause.cause;
  }
  return `${prog}: ${oneLine(text)}`;
}

/**
 * Creates a commander program following the project's conventions: `-V, --version` (VERSION),
 * `-h, --help`, `--debug` (debug logging and stack traces), `exitOverride()` so nothing calls
 * process.exit, and errors printed as exactly one line `<prog>: <message>` on stderr.
 * Add options, then pass it to runProgram.
 */
export function createProgram(name: string, description: string): Command {
  const program = new Command(name);
  program
    .description(description)
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .option('--debug', 'log debug messages; print stack traces of errors', false)
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`${name}: ${oneLine(str.replace(/^error: /, ''))}\n`),
    });
  return program;
}

/** What runProgram hands to the action. */
export interface ProgramContext<O extends OptionValues = OptionValues> {
  /** Parsed option values (after argParsers ran). */
  opts: O;
  /** Positional arguments. */
  args: string[];
  /** Logger named after the program: level debug with --debug, info otherwise; to stderr. */
  logger: Logger;
  /** The program itself. */
  program: Command;
}

/**
 * Parses `argv` — the user arguments only, as in `process.argv.slice(2)` — then runs `action`
 * and returns its exit code. Never calls process.exit and never throws:
 * - `--help` / `--version` → 0 (text on stdout);
 * - a commander error (unknown option, bad value from an argParser's InvalidArgumentError,
 *   missing argument) → one line `<prog>: <message>` on stderr, 2;
 * - a UsageError thrown or rejected by the action → one line, 2;
 * - any other error → one line `<prog>: <message>` (plus the stack with --debug), 1.
 * Output goes through the program's configured writeErr (process.stderr by default).
 */
export async function runProgram<O extends OptionValues = OptionValues>(
  program: Command,
  argv: readonly string[],
  action: (ctx: ProgramContext<O>) => Promise<number>,
): Promise<number> {
  const output = program.configureOutput();
  const writeErr = (s: string): void => {
    if (output.writeErr !== undefined) output.writeErr(s);
    else process.stderr.write(s);
  };
  const name = program.name();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    writeErr(`${formatErrorLine(name, err)}\n`);
    return EXIT_USAGE;
  }
  const opts = program.opts<O>();
  const debug = opts['debug'] === true;
  const logger = createLogger({
    name,
    level: debug ? 'debug' : 'info',
    stream: { write: writeErr },
  });
  try {
    return await action({ opts, args: [...program.args], logger, program });
  } catch (err) {
    writeErr(`${formatErrorLine(name, err)}\n`);
    if (debug && err instanceof Error && err.stack !== undefined) writeErr(`${err.stack}\n`);
    return err instanceof UsageError || err instanceof InvalidArgumentError
      ? EXIT_USAGE
      : EXIT_FAILURE;
  }
}

/**
 * Runs a CLI from its `bin/` shim: calls `main(process.argv.slice(2))` and sets
 * process.exitCode to its result (never process.exit, so stdout/stderr drain). Installs a
 * last-resort handler for unhandledRejection/uncaughtException that prints one line
 * `<prog>: <message>` (stack too when `--debug` is among the arguments), sets exit code 1 and, if
 * something still holds the event loop open after a 1 s grace, exits 1. EPIPE on stderr is ignored.
 */
export function runBin(main: (argv: string[]) => Promise<number>): void {
  const prog = basename(process.argv[1] ?? 'nflog-pipe').replace(/\.js$/, '');
  const argv = process.argv.slice(2);
  process.stderr.on('error', () => {});
  const lastResort = (err: unknown): void => {
    try {
      process.stderr.write(`${formatErrorLine(prog, err)}\n`);
      if (argv.includes('--debug') && err instanceof Error && err.stack !== undefined) {
        process.stderr.write(`${err.stack}\n`);
      }
    } finally {
      process.exitCode = EXIT_FAILURE;
      // A broken invariant: do not keep running half-dead, but give stderr time to drain.
      setTimeout(() => process.exit(EXIT_FAILURE), 1000).unref();
    }
  };
  process.on('unhandledRejection', lastResort);
  process.on('uncaughtException', lastResort);
  main(argv).then((code) => {
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = code;
  }, lastResort);
}

/** Parsed `-i/--statsd-sampling count[/interval]`. */
export interface StatsdSampling {
  /** The Python tool's sample count; accepted for compatibility, not used (we aggregate). */
  count: number;
  /** The interval part in milliseconds, when given. */
  intervalMs?: number;
}

function parsePositiveNumber(s: string, what: string): number {
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(s) || !(Number(s) > 0)) {
    throw new InvalidArgumentError(`not a positive number of ${what}: '${s}'`);
  }
  return Number(s);
}

/** Parses `count[/interval]` (interval in seconds). @throws InvalidArgumentError. */
export function parseStatsdSampling(str: string): StatsdSampling {
  const [count, interval, extra] = str.trim().split('/');
  if (count === undefined || extra !== undefined)
    throw new InvalidArgumentError(`not count[/interval]: '${str}'`);
  const sampling: StatsdSampling = { count: parsePositiveNumber(count, 'samples') };
  if (interval !== undefined)
    sampling.intervalMs = Math.round(parsePositiveNumber(interval, 'seconds') * 1000);
  return sampling;
}

/** Default `-n/--statsd-metrics-prefix`; `{host}` becomes os.hostname(). */
export const STATSD_DEFAULT_PREFIX = '{host}.nflog_pipe.';
/** Default statsd UDP port. */
export const STATSD_DEFAULT_PORT = 8125;

/**
 * Adds the Python tool's statsd flags to `cmd` (see packages/shared/README.md):
 * `-m/--statsd host[:port]` (off by default; port 8125), `-n/--statsd-metrics-prefix`
 * (`{host}.nflog_pipe.`), `-i/--statsd-sampling count[/interval]` (`50/60`; only the interval is
 * used, as the flush interval, capped at 10 s), `--statsd-interval seconds` (flush interval,
 * overrides -i and the cap), `-t/--statsd-type` (`c`). Returns `cmd`.
 */
export function addStatsdOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '-m, --statsd <host[:port]>',
        `send counters to this statsd server over UDP (port default ${STATSD_DEFAULT_PORT}; default: off)`,
      ).argParser((v: string): HostPort => parseHostPort(v, STATSD_DEFAULT_PORT)),
    )
    .addOption(
      new Option(
        '-n, --statsd-metrics-prefix <prefix>',
        'prefix of every metric name; {host} becomes this host name',
      ).default(STATSD_DEFAULT_PREFIX),
    )
    .addOption(
      new Option(
        '-i, --statsd-sampling <count[/interval]>',
        'compatibility with the Python tool: count is ignored (counters are aggregated, never sampled); interval (seconds) sets the flush interval, capped at 10 s',
      )
        .argParser(parseStatsdSampling)
        .default(parseStatsdSampling('50/60'), '50/60'),
    )
    .addOption(
      new Option(
        '--statsd-interval <seconds>',
        'flush interval of aggregated counters in seconds, overrides -i and its cap (default: 10, or the -i interval if shorter)',
      ).argParser((v: string): number => {
        const ms = parseSeconds(v);
        if (ms < 1) throw new InvalidArgumentError(`flush interval must be > 0: '${v}'`);
        return ms;
      }),
    )
    .addOption(
      new Option(
        '-t, --statsd-type <type>',
        "statsd type suffix of the counters ('c' = counter; the Python tool sent the non-standard 'd')",
      )
        .argParser((v: string): string => {
          if (!/^[A-Za-z]{1,4}$/.test(v))
            throw new InvalidArgumentError(`not a statsd type (letters, like c, g, d): '${v}'`);
          return v;
        })
        .default('c'),
    );
}

/**
 * Builds StatsdOptions from the values addStatsdOptions parsed, or null when `--statsd` is not
 * given. `{host}` in the prefix is replaced with os.hostname(). Flush interval:
 * `--statsd-interval` when given, else min(-i interval, 10 s).
 */
export function statsdOptionsFrom(opts: OptionValues): StatsdOptions | null {
  const target = opts['statsd'] as HostPort | undefined;
  if (target === undefined) return null;
  const sampling = (opts['statsdSampling'] as StatsdSampling | undefined) ?? { count: 50 };
  const explicit = opts['statsdInterval'] as number | undefined;
  const flushIntervalMs =
    explicit ?? Math.min(sampling.intervalMs ?? STATSD_DEFAULT_FLUSH_MS, STATSD_DEFAULT_FLUSH_MS);
  const prefix = String(opts['statsdMetricsPrefix'] ?? STATSD_DEFAULT_PREFIX).replaceAll(
    '{host}',
    hostname(),
  );
  return {
    host: target.host,
    port: target.port,
    prefix,
    flushIntervalMs,
    type: String(opts['statsdType'] ?? 'c'),
  };
}
