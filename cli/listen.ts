// `herald listen`: the desktop app's feed client behind a terminal command. Prints each event (or
// one JSON line each), keeps its place in a state file, and can run a command per event.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PRIORITY_NAMES, TOPIC_PATTERN, clip } from '../events/event.ts';
import type { HeraldEvent } from '../events/event.ts';
import { jsonLine, terminalText } from '../events/terminal.ts';
import { FeedClient } from '../feed/client.ts';
import { FileCursorStore } from '../feed/cursor-file.ts';
import type { FeedState } from '../events/feed-state.ts';
import { CommandError, EXIT_FAILURE, parseCommandArgs, resolveServer, SERVER_OPTIONS, stringFlag, UsageError } from './options.ts';
import type { OptionSpec } from './options.ts';
import { describeError } from '../events/errors.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';
import { userDir } from '../server/data-dir.ts';
import { nextStopSignal } from '../server/signals.ts';

export const LISTEN_USAGE = `Usage: herald listen [options]

Print events from a Herald server as they arrive, until Ctrl-C. Reconnects by
itself (server restarts, network loss, sleep) and keeps its place in a state
file, so after a restart it goes on exactly where it stopped: nothing is
missed, nothing is printed twice. State changes go to stderr.

Each event is one line: time, topic, title, the body's first line, tags and
link (--json has the whole event). Colours on a terminal, unless NO_COLOR is
set. A refused token (401) or an address with no event stream (404) ends it
with exit status 1; network errors and server errors (5xx) are retried.

Options:
  --server URL     Herald server (env HERALD_SERVER, default ${DEFAULT_SERVER_URL})
  --token T        bearer token, if the server has one (env HERALD_TOKEN)
  --topic T        only these topics (repeat the flag or separate with commas)
  --state FILE     where the last handled event id is kept (default: a file per
                   server and topics in $XDG_STATE_HOME/herald)
  --json           print each event as one line of JSON
  --exec CMD       run CMD through the shell for each event, one at a time; the
                   event is in environment variables: HERALD_ID, HERALD_TYPE,
                   HERALD_TOPIC, HERALD_TITLE, HERALD_BODY, HERALD_PRIORITY,
                   HERALD_URL, HERALD_TAGS, HERALD_JOB_STATUS,
                   HERALD_JOB_EXIT_CODE and HERALD_EVENT (the JSON). Quote them
                   ("$HERALD_TITLE"); event text is never put into CMD itself.
  --ca FILE        a PEM file with the CA that signed the server's certificate
  -h, --help       show this help

Examples:
  herald listen --topic build,deploy
  herald listen --json | jq -r .title
  herald listen --exec 'notify-send -- "$HERALD_TITLE" "$HERALD_BODY"'
`;

const OPTIONS = {
  ...SERVER_OPTIONS,
  topic: { type: 'string', multiple: true },
  state: { type: 'string' },
  json: { type: 'boolean' },
  exec: { type: 'string' },
  ca: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface ListenIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Resolves when the command should end (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<unknown>;
}

/** One state file per server and topic set: a cursor for topic "a" would skip events of "b". */
export function defaultStateFile(serverUrl: string, topics: string[], env: NodeJS.ProcessEnv = process.env): string {
  const key = `${serverUrl}\n${[...topics].sort().join(',')}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(userDir('state', { env }), `listen-${hash}.json`);
}

/** The environment a --exec command gets for one event. */
export function execEnv(event: HeraldEvent): Record<string, string> {
  return {
    HERALD_ID: event.id,
    HERALD_TYPE: event.type,
    HERALD_TOPIC: event.topic,
    HERALD_TITLE: event.title,
    HERALD_BODY: event.body ?? '',
    HERALD_PRIORITY: String(event.priority),
    HERALD_URL: event.url ?? '',
    HERALD_TAGS: (event.tags ?? []).join(','),
    HERALD_JOB_STATUS: event.job?.status ?? '',
    HERALD_JOB_EXIT_CODE: event.job?.exitCode !== undefined ? String(event.job.exitCode) : '',
    HERALD_EVENT: JSON.stringify(event),
  };
}

// Terminal escapes from a hostile server must not reach the terminal (C0, DEL and C1: U+009B is
// CSI), nor a line break that would forge a second line: every field here is shown on one line.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
const clean = (text: string) => text.replace(CONTROL, '?');

export interface EventLineOptions {
  /** ANSI colours for priority and job state. Default false. */
  colour?: boolean;
  /** The topic column's width (longer topics are shortened with "…"). Default: the topic's own length. */
  topicWidth?: number;
}

/** The longest body line shown before it is cut with "…" (the whole event is in --json). */
export const BODY_PREVIEW_CHARS = 100;
/** The topic column grows with the topics seen, up to this. */
export const MAX_TOPIC_WIDTH = 20;

const ANSI = {
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  reset: '\u001b[0m',
} as const;
const JOB_COLOUR = { running: ANSI.cyan, succeeded: ANSI.green, failed: ANSI.red, cancelled: ANSI.dim } as const;
const PRIORITY_COLOUR: Partial<Record<number, string>> = { 4: ANSI.yellow, 5: ANSI.bold + ANSI.red };

/**
 * One event as a line, in columns: local time, topic, then [high]/[urgent], the type when it is
 * not a notification, the title, the body's first line (shortened with "…"), tags and the link.
 * "2030-01-01 12:00:03  ci       job.completed: ✓ tests succeeded in 4.2 s — all 120 passed  #nightly"
 */
export function eventLine(event: HeraldEvent, options: EventLineOptions = {}): string {
  const paint = (colour: string | undefined, text: string) => (options.colour && colour ? `${colour}${text}${ANSI.reset}` : text);
  const t = new Date(event.time);
  const pad = (n: number) => String(n).padStart(2, '0');
  const when = Number.isNaN(t.getTime())
    ? clean(event.time)
    : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  // Our server only sends topics of [A-Za-z0-9_-]; another server may send anything.
  const name = clean(event.topic);
  const width = options.topicWidth ?? name.length;
  const topic = clip(name, width).padEnd(width);
  // High and urgent stand out in a scrolling terminal; the rest need no label.
  const mark = event.priority >= 4 ? `${paint(PRIORITY_COLOUR[event.priority], `[${PRIORITY_NAMES[event.priority]}]`)} ` : '';
  const type = event.type !== 'notification' ? `${paint(ANSI.dim, `${clean(event.type)}:`)} ` : '';
  const title = paint(event.job ? JOB_COLOUR[event.job.status] : undefined, clean(event.title));
  const preview = bodyPreview(event.body, event.title);
  const extras = [
    preview !== undefined ? ` — ${clean(preview)}` : '',
    event.tags?.length ? `  ${event.tags.map((tag) => `#${clean(tag)}`).join(' ')}` : '',
    event.url ? `  ${paint(ANSI.cyan, `↗ ${clean(event.url)}`)}` : '',
  ].join('');
  return `${paint(ANSI.dim, when)}  ${topic}  ${mark}${type}${title}${extras}`;
}

/** The body's first non-empty line unless it only repeats the title; "…" when more follows or it is long. */
function bodyPreview(body: string | undefined, title: string): string | undefined {
  const lines = (body ?? '')
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines[0] === title.trim()) lines.shift();
  const first = lines[0];
  if (first === undefined) return undefined;
  if (first.length > BODY_PREVIEW_CHARS) return clip(first, BODY_PREVIEW_CHARS);
  return lines.length > 1 ? `${first} …` : first;
}

/** Colours on a terminal only, and never when NO_COLOR is set to anything (no-color.org). */
export function useColour(stdout: NodeJS.WritableStream, env: NodeJS.ProcessEnv): boolean {
  return (stdout as { isTTY?: boolean }).isTTY === true && !env.NO_COLOR;
}

/**
 * The one sentence `herald listen` ends with when retrying cannot help: the token refused (401,
 * 403) or no stream at that address (404). Undefined for anything worth retrying (network, 5xx).
 */
export function fatalLine(state: FeedState, url: string, hasToken: boolean): string | undefined {
  switch (state.httpStatus) {
    case 401:
      return hasToken
        ? `the server at ${url} refused the token (HTTP 401): use the one it was started with (--token or HERALD_TOKEN)`
        : `the server at ${url} needs a token (HTTP 401): pass it with --token or HERALD_TOKEN`;
    case 403:
      return `the server at ${url} refused this client (HTTP 403): check --server and --token`;
    case 404:
      return `there is no Herald event stream at ${url}/events (HTTP 404): --server takes the server's base address, e.g. ${DEFAULT_SERVER_URL}`;
    default:
      return undefined;
  }
}

function inSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** A state change as one line for stderr, e.g. "reconnecting in 4 s: connection refused". */
export function stateLine(state: FeedState, url: string, now = Date.now()): string {
  const wait = state.nextAttemptAt !== undefined ? ` in ${inSeconds(state.nextAttemptAt - now)}` : '';
  switch (state.status) {
    case 'connecting':
      return `connecting to ${url}${state.lastEventId ? ` (resuming after event ${state.lastEventId})` : ''}`;
    case 'open':
      return `connected to ${url}`;
    case 'reconnecting':
      return `reconnecting${wait}: ${state.reason ?? 'connection lost'}`;
    case 'offline':
      return `offline, trying again${wait}: ${state.reason ?? 'server unreachable'}`;
    case 'auth-failed':
      return `${state.reason ?? 'the server refused the token'}; trying again${wait}`;
    case 'stopped':
      return state.reason ? `stopped: ${state.reason}` : 'stopped';
  }
}

function runExec(command: string, event: HeraldEvent, env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    // The command string is the user's alone; the event travels only in environment variables.
    const child = spawn(command, { shell: true, stdio: ['ignore', 'inherit', 'inherit'], env: { ...env, ...execEnv(event) } });
    child.on('error', (err) => {
      stderr.write(`herald listen: --exec could not start for event ${event.id}: ${err.message}\n`);
      resolve();
    });
    child.on('close', (code, signal) => {
      if (code !== 0)
        stderr.write(`herald listen: --exec ended with ${signal ? `signal ${signal}` : `exit code ${code}`} for event ${event.id}\n`);
      resolve();
    });
  });
}

export async function listen(
  argv: string[],
  io: ListenIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const { values, positionals } = parseCommandArgs('listen', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(LISTEN_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError('listen', `unexpected argument "${positionals[0]}"`);
  const target = resolveServer(values, io.env);
  const topics = ((values.topic as string[] | undefined) ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const topic of topics) {
    if (!TOPIC_PATTERN.test(topic))
      throw new UsageError('listen', `--topic "${topic}" is not a topic: use 1 to 64 of A-Z, a-z, 0-9, "_" or "-"`);
  }
  const stateFile = stringFlag(values, 'state') ?? defaultStateFile(target.url, topics, io.env);
  const exec = stringFlag(values, 'exec');
  if (exec !== undefined && exec.trim() === '') throw new UsageError('listen', '--exec needs a command');
  let ca: Buffer | undefined;
  const caFile = stringFlag(values, 'ca');
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile);
    } catch (err) {
      throw new CommandError(`cannot read the CA file ${caFile}: ${describeError(err)}`);
    }
  }
  const cursor = new FileCursorStore(stateFile);
  try {
    cursor.load();
  } catch (err) {
    throw new CommandError(describeError(err));
  }

  const json = values.json === true;
  const colour = !json && useColour(io.stdout, io.env);
  let topicWidth = Math.min(MAX_TOPIC_WIDTH, Math.max(8, ...topics.map((t) => t.length)));
  // What it says may quote the server (a frame's id, a status line): escaped like every line it prints.
  const log = (line: string) => io.stderr.write(`herald listen: ${terminalText(line)}\n`);
  let stoppedByServer: () => void = () => {};
  const serverStop = new Promise<void>((resolve) => {
    stoppedByServer = resolve;
  });
  let inflight: Promise<void> = Promise.resolve();
  let exitCode = 0;
  /** The last failure said: the same one again (every retry) is not repeated. */
  let lastFailure: string | undefined;

  const client = new FeedClient({
    url: target.url,
    ...(target.token !== undefined ? { token: target.token } : {}),
    topics,
    ...(ca ? { ca } : {}),
    cursor,
    log,
    onEvent: (event) => {
      topicWidth = Math.min(MAX_TOPIC_WIDTH, Math.max(topicWidth, event.topic.length));
      io.stdout.write(`${json ? jsonLine(event) : eventLine(event, { colour, topicWidth })}\n`);
      if (exec === undefined) return;
      inflight = runExec(exec, event, io.env, io.stderr);
      return inflight;
    },
    onState: (state) => {
      if (exitCode !== 0) return;
      const fatal = fatalLine(state, target.url, target.token !== undefined);
      if (fatal !== undefined) {
        log(fatal);
        exitCode = EXIT_FAILURE;
        stoppedByServer();
        return;
      }
      const failure = state.status === 'reconnecting' || state.status === 'offline' ? `${state.status}: ${state.reason}` : undefined;
      if (failure === undefined || failure !== lastFailure) log(stateLine(state, target.url));
      lastFailure = failure;
      if (state.status === 'stopped' && state.httpStatus === 204) stoppedByServer();
    },
  });

  // `herald listen | head -1`: the reader went away, so stop quietly like other Unix tools.
  let readerGone: () => void = () => {};
  const pipeClosed = new Promise<void>((resolve) => {
    readerGone = resolve;
  });
  const onOutputError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') readerGone();
    else log(`cannot write the output: ${err.message}`);
  };
  io.stdout.on('error', onOutputError);
  const signals = io.stopSignal ? undefined : nextStopSignal();
  try {
    client.start();
    await Promise.race([serverStop, pipeClosed, io.stopSignal ?? signals!.signal]);
  } finally {
    io.stdout.off('error', onOutputError);
    signals?.dispose();
    client.stop();
    // A command already running for an event finishes, so its cursor is saved and not replayed.
    await inflight;
  }
  return exitCode;
}
