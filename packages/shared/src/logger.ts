// A small levelled logger: one event per line on stderr, pino's level numbers, key=value context.

/** Level names, lowest to highest; `silent` disables everything. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** pino's level numbers (pino lib/constants.js): trace 10 ... fatal 60; silent is Infinity. */
export const LOG_LEVELS: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** Context attached to a log line, printed as `key=value` pairs in insertion order. */
export type LogFields = Record<string, unknown>;

/** Writes one log event; `fields` are appended as key=value. */
export type LogFn = (msg: string, fields?: LogFields) => void;

/** Anything with a string `write` (process.stderr, a test buffer). */
export interface LogStream {
  write(chunk: string): unknown;
}

/** A levelled logger. Methods for disabled levels are no-ops bound once at creation. */
export interface Logger {
  readonly name: string;
  readonly level: LogLevel;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** True when events at `level` are written. */
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger with the same name, level and stream whose lines carry `bindings` first. */
  child(bindings: LogFields): Logger;
}

/** Options of createLogger. */
export interface LoggerOptions {
  /** Shown on each line after the level, usually the program name. */
  name: string;
  /** Lowest level written. Default 'info'. */
  level?: LogLevel;
  /** Where lines go. Default process.stderr (stdout is for data). */
  stream?: LogStream;
}

const noop: LogFn = () => {};
const WRITTEN: Exclude<LogLevel, 'silent'>[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Formats one value: bare when it is a simple token, JSON-quoted otherwise. */
function formatValue(v: unknown): string {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return JSON.stringify(typeof code === 'string' ? `${code}: ${v.message}` : v.message);
  }
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return String(v);
  // Only functions and symbols get undefined from JSON.stringify and reach String().
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return /^[^\s="\\]+$/.test(s) ? s : JSON.stringify(s);
}

function formatFields(fields: LogFields): string {
  let out = '';
  for (const key of Object.keys(fields)) out += ` ${key}=${formatValue(fields[key])}`;
  return out;
}

function build(
  name: string,
  level: LogLevel,
  stream: LogStream,
  bound: string,
  bindings: LogFields,
): Logger {
  const threshold = LOG_LEVELS[level];
  const make = (lvl: Exclude<LogLevel, 'silent'>): LogFn => {
    if (LOG_LEVELS[lvl] < threshold) return noop;
    const label = lvl.toUpperCase();
    return (msg, fields) => {
      // One event per line: a message with a newline must not forge a second line.
      const text = msg.includes('\n') ? msg.replace(/\r?\n/g, '\\n') : msg;
      const extra = fields === undefined ? '' : formatFields(fields);
      stream.write(`${new Date().toISOString()} ${label} ${name}: ${text}${bound}${extra}\n`);
    };
  };
  const logger = {
    name,
    level,
    isLevelEnabled: (l: LogLevel) => l !== 'silent' && LOG_LEVELS[l] >= threshold,
    child: (more: LogFields) => {
      const all = { ...bindings, ...more };
      return build(name, level, stream, formatFields(all), all);
    },
  } as Logger;
  for (const lvl of WRITTEN) logger[lvl] = make(lvl);
  return logger;
}

/**
 * Creates a logger writing `<ISO time> <LEVEL> <name>: <msg> key=value ...` lines to `stream`
 * (default process.stderr). Levels below `level` (default 'info') cost one no-op call.
 * @throws TypeError on an unknown level.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  if (!(level in LOG_LEVELS)) throw new TypeError(`unknown log level '${String(level)}'`);
  return build(options.name, level, options.stream ?? process.stderr, '', {});
}
