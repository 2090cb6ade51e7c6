// What every command shares: flag parsing on top of node:util parseArgs, the usage error that
// exits 2, and where the server URL and token come from (flag, then environment, then default).
// Not `import … from 'node:util'`: an ES module namespace of a built-in reads every export, and
// util's lazy getters load modules the command line never uses (~9 ms of every start, measured
// under load); process.getBuiltinModule hands over the module object as it is.
import { describeError } from '../events/errors.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';
import { priorityFromWord, type Priority } from '../events/event.ts';
const { parseArgs } = process.getBuiltinModule('node:util');

/** Exit codes: 0 done, 1 the work failed (server refused, unreachable…), 2 the command line was wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake on the command line: printed with a pointer to --help, exits 2. */
export class UsageError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** Something the user can fix that is not a usage mistake (e.g. a refused event): exits 1. */
export class CommandError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_FAILURE) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** parseArgs in strict mode, with its errors turned into UsageErrors that name the command. */
export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    throw new UsageError(command, usageMessage(err) + unknownOptionHint(err, options));
  }
}

/** ": did you mean --priority?" for a mistyped option (`--priorty`), else "". */
function unknownOptionHint(err: unknown, options: OptionSpec): string {
  if ((err as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return '';
  const given = /'(--?[^'=]+)/.exec((err as Error).message)?.[1];
  if (given === undefined || !given.startsWith('--')) return '';
  const known = nearest(given.slice(2), Object.keys(options));
  return known === undefined ? '' : `: did you mean --${known}?`;
}

/**
 * The candidate a mistyped word most likely meant: the closest within two edits (a swap of two
 * neighbours counts as one), or the only one it is a prefix of; undefined when nothing is close.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (best !== undefined && bestDistance <= Math.min(2, Math.floor(lower.length / 3) || 1)) return best;
  const prefixed = lower.length >= 3 ? candidates.filter((c) => c.toLowerCase().startsWith(lower)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

function usageMessage(err: unknown): string {
  const message = describeError(err);
  // parseArgs' messages are long and end with advice about `--` that rarely applies; keep the first sentence.
  return message.split('. To specify')[0]!.replace(/\.$/, '');
}

/** The flags that say which server to talk to (send, run, listen). */
export const SERVER_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
} as const satisfies OptionSpec;

export interface ServerTarget {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:5080 */
  url: string;
  token?: string;
}

/**
 * The server URL and token for a command: `--server` / `--token` first, then HERALD_SERVER /
 * HERALD_TOKEN, then http://127.0.0.1:5080 and no token. A URL without a scheme gets http://.
 * Throws UsageError (command 'herald') for a URL that is not http(s).
 */
export function resolveServer(flags: { server?: unknown; token?: unknown }, env: NodeJS.ProcessEnv = process.env): ServerTarget {
  const fromFlag = typeof flags.server === 'string' && flags.server !== '';
  const raw = fromFlag ? (flags.server as string) : env.HERALD_SERVER || DEFAULT_SERVER_URL;
  const source = fromFlag ? '--server' : env.HERALD_SERVER ? 'HERALD_SERVER' : 'the default server';
  const url = normalizeServerUrl(raw, source);
  const token = typeof flags.token === 'string' && flags.token !== '' ? flags.token : env.HERALD_TOKEN || undefined;
  return token === undefined ? { url } : { url, token };
}

function normalizeServerUrl(raw: string, source: string): string {
  const trimmed = raw.trim();
  // "localhost:5080" would parse as a URL with scheme "localhost:"; only http(s) is meant here.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError('herald', `${source} is not a URL: "${raw}" (expected e.g. ${DEFAULT_SERVER_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError('herald', `${source} must be an http:// or https:// URL, not "${raw}"`);
  }
  if (url.search || url.hash)
    throw new UsageError('herald', `${source} must be the server's base URL, without ?query or #fragment: "${raw}"`);
  return url.href.replace(/\/+$/, '');
}

/** A whole number in [min, max] from a flag, or a UsageError naming the flag. */
export function parseIntegerFlag(command: string, flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(command, `--${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new UsageError(command, `--${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** A positive number (decimals allowed) from a flag, or a UsageError naming the flag. */
export function parsePositiveNumberFlag(command: string, flag: string, value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(command, `--${flag} must be a number greater than 0, not "${value}"`);
  return n;
}

/** The last value of a string flag (parseArgs keeps the last one too; this narrows the type). */
export function stringFlag(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** "4" → 4, "high" → 4; anything else is undefined. */
export function parsePriority(value: string): Priority | undefined {
  const v = value.trim().toLowerCase();
  if (/^[1-5]$/.test(v)) return Number(v) as Priority;
  return priorityFromWord(v);
}

/**
 * `--priority` for send and run, checked before anything is sent or run (exit 2), in the same
 * words for both commands.
 */
export function priorityFlag(command: string, value: string): Priority {
  const priority = parsePriority(value);
  if (priority === undefined) throw new UsageError(command, `--priority must be 1 to 5 or min, low, default, high, urgent; not "${value}"`);
  return priority;
}
