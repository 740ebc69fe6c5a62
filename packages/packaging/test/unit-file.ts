// Reading contrib/ as systemd would, for the tests: a unit's settings, an EnvironmentFile, and a
// command line expanded the way systemd.service(5) expands it (specifiers %i %t %L; "${VAR}" is
// one argument, "$VAR" alone is split at whitespace, "$$" is a dollar sign; quotes group words).
// Only what our units use; an unknown specifier or syntax throws, so a unit that outgrows this
// reader fails its test rather than being read wrongly.

import { readFile } from 'node:fs/promises';

/** Values of every `Key=value` line of a unit file, in order, by key (comments skipped). */
export async function readUnit(path: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const raw of (await readFile(path, 'utf8')).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('['))
      continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${path}: not Key=value: ${line}`);
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

/** An EnvironmentFile's NAME=value lines (comments and blank lines skipped). */
export async function readEnvironmentFile(path: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const raw of (await readFile(path, 'utf8')).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${path}: not NAME=value: ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return env;
}

/** Splits a command line into words: whitespace separates, '...' and "..." group. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur ??= '';
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + ch;
  }
  if (quote !== undefined) throw new Error(`unbalanced quote in: ${line}`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/**
 * Expands an Exec*= command line: specifiers from `specifiers` (`i`, `t`, `L`), variables
 * from `env`. Returns the argv (program first).
 */
export function expandCommand(
  line: string,
  specifiers: Record<string, string>,
  env: Record<string, string>,
): string[] {
  const argv: string[] = [];
  for (const w of words(line)) {
    const spec = w.replace(/%(.)/g, (_, c: string) => {
      const v = specifiers[c];
      if (v === undefined) throw new Error(`specifier %${c} not known to this reader`);
      return v;
    });
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(spec);
    if (whole !== null) {
      argv.push(...(env[whole[1]!] ?? '').split(/\s+/).filter((s) => s !== ''));
      continue;
    }
    argv.push(
      spec
        .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '')
        .replace(/\$\$/g, '$'),
    );
  }
  return argv;
}
