// `herald run -- CMD …`: run a command exactly as if Herald were not there (same stdin, output,
// exit code), and report it as a job: job.started when it starts, then job.completed or job.failed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { constants as osConstants, hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EventValidationError, LIMITS, clip, parseEventInput } from '../events/event.ts';
import type { JobInfo, Priority } from '../events/event.ts';
import { randomUuid } from '../server/random.ts';
import { monotonicMs } from './lean.ts';
import { OutputTail } from './output-tail.ts';
import { parseCommandArgs, priorityFlag, resolveServer, SERVER_OPTIONS, stringFlag, UsageError } from './options.ts';
import type { OptionSpec, ServerTarget } from './options.ts';
import { PublishError } from './publish.ts';
import type { EventDraft } from './publish.ts';
import { publishWithRetry, retryLine } from './publish-retry.ts';
import { describeError } from '../events/errors.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';

// Not an import: the ES module namespace of node:fs reads its lazy fs.promises getter, which loads
// readline and more at every start (see cli/options.ts).
const { fstatSync, mkdtempSync, readFileSync, rmSync } = process.getBuiltinModule('node:fs');

export const RUN_USAGE = `Usage: herald run [options] -- CMD [ARGS...]

Run CMD with its stdin, stdout and stderr passed straight through, and report it
to a Herald server as a job: job.started when it starts, then job.completed
(exit 0) or job.failed (any other exit) with the exit code, the duration and the
last lines of its output. Herald exits with CMD's own exit code (128+N when CMD
was killed by signal N; 127 when CMD is not found).

CMD runs without a shell: for pipes or &&, run one: herald run -- sh -c 'make && make test'

Ctrl-C, SIGTERM and SIGHUP reach CMD; if CMD then stops, the job is reported as
job.failed with job.status "cancelled". (A terminal's Ctrl-C already reaches CMD,
which shares Herald's process group, so Herald does not send it a second time;
a SIGINT sent to Herald alone, e.g. with kill, is passed on. SIGTERM and SIGHUP
are always passed on.)

If the server cannot be reached, CMD runs all the same and its output and exit
code are unchanged; Herald prints one warning line on stderr. A report whose
answer is lost (a timeout, a connection reset) is tried again with the same
Idempotency-Key, so the job's end is stored once; the final report gives up
after 5 s in all.

Options:
  --server URL     Herald server (env HERALD_SERVER, default ${DEFAULT_SERVER_URL})
  --token T        bearer token, if the server has one (env HERALD_TOKEN)
  --topic T        topic, [A-Za-z0-9_-], default "default"
  --name NAME      the job's name (default: the command line)
  --priority N     priority of the final event, 1..5 or min/low/default/high/urgent
                   (default: 3 on success, 4 on failure; job.started is always 2)
  --no-tail        leave CMD's stdout/stderr on the terminal itself instead of a
                   pipe (keeps colours and line buffering); no output tail is sent
  -h, --help       show this help

Example:
  herald run --name "nightly build" -- make -j8
`;

const OPTIONS = {
  ...SERVER_OPTIONS,
  topic: { type: 'string' },
  name: { type: 'string' },
  priority: { type: 'string' },
  'no-tail': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

const STRING_FLAGS = new Set(
  Object.entries(OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([name]) => name),
);

/** Herald's own flags are those before `--` (or before the first word that is not a flag). */
export function splitCommand(argv: string[]): { own: string[]; command: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return { own: argv.slice(0, i), command: argv.slice(i + 1) };
    if (arg.startsWith('-') && arg !== '-') {
      if (arg.startsWith('--') && !arg.includes('=') && STRING_FLAGS.has(arg.slice(2))) i++; // its value
      continue;
    }
    return { own: argv.slice(0, i), command: argv.slice(i) };
  }
  return { own: argv, command: [] };
}

/** How long the final report may hold up Herald's exit once the command is done. */
const FINAL_REPORT_MS = 5_000;
/** Time to wait for a command's output pipes to close after it exits (a background grandchild may hold them). */
const PIPE_DRAIN_MS = 1_000;
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface RunIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** What `herald run` was asked to do: the command, and the job it is reported as. */
interface RunPlan {
  command: string[];
  target: ServerTarget;
  /** --priority: the final event's priority, instead of 3 on success and 4 on failure. */
  priority: Priority | undefined;
  topic: string | undefined;
  job: JobInfo;
  started: EventDraft;
  /** Keep the last lines of the output for the final event (not with --no-tail). */
  tail: boolean;
}

/** How the command ended, as Herald exits and reports it. */
interface Ending {
  exitCode: number;
  /** Says what went wrong when the command did not run or was killed. */
  body?: string;
}

export async function run(argv: string[], io: RunIo): Promise<number> {
  const plan = planRun(argv, io);
  if (plan === 'help') {
    io.stdout.write(RUN_USAGE);
    return 0;
  }
  const reporter = new JobReporter(plan.target, io.stderr);
  const tail = plan.tail ? new OutputTail() : undefined;
  // Before the signal handlers: a Ctrl-C while it opens ends Herald, with nothing started yet.
  const shared = tail && outputsShareDestination(io) ? await openSharedOutput() : undefined;
  const finalAbort = new AbortController();
  let child: ChildProcess | undefined;
  let cancelledBy: NodeJS.Signals | undefined;
  let childDone = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (childDone) {
      finalAbort.abort(); // a Ctrl-C while the result is being reported: stop waiting for the server
      return;
    }
    cancelledBy ??= signal;
    // The terminal sends Ctrl-C to its whole foreground process group, the command included.
    if (signal === 'SIGINT' && inTerminalForeground()) return;
    child?.kill(signal);
  };
  // Before the spawn, so no signal can end Herald and leave the command running unwatched.
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

  const detach: Array<() => void> = [];
  try {
    const t0 = monotonicMs();
    child = startChild(plan.command, shared?.commandEnd ?? (tail ? 'pipe' : 'inherit'));
    // The command has its copies of the channel; ours must go, or its end never comes.
    shared?.commandEnd.destroy();
    // Its own abort too: a report still hanging when Herald is done must not keep the process alive.
    const startedAbort = new AbortController();
    const startedReport = reporter.report(plan.started, { timeoutMs: 10_000, signal: startedAbort.signal });
    if (tail) detach.push(...passOutput(child, tail, shared, io, reporter));
    const outcome = await waitForChild(child);
    if (shared) await drained(shared.ours);
    childDone = true;
    // The event model takes durations up to a year: a longer job is reported as lasting a year rather than refused.
    const durationMs = Math.min(LIMITS.jobDurationMs, Math.round(monotonicMs() - t0));
    const ending = endingOf(outcome, plan.command, io);
    const done: JobInfo = { ...plan.job, durationMs, exitCode: ending.exitCode };
    const outputTail = tail?.text();
    if (outputTail) done.outputTail = outputTail;
    await reportEnd(reporter, startedReport, startedAbort, finalEvent(plan, done, ending, cancelledBy), finalAbort);
    return ending.exitCode;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
    for (const fn of detach) fn();
    shared?.ours.destroy();
  }
}

/** Reads the arguments into a plan, checking the job's fields before the command runs. */
function planRun(argv: string[], io: RunIo): RunPlan | 'help' {
  const { own, command } = splitCommand(argv);
  const { values } = parseCommandArgs('run', own, OPTIONS);
  if (values.help) return 'help';
  if (command.length === 0) throw new UsageError('run', 'no command given: herald run [options] -- CMD [ARGS...]');
  const target = resolveServer(values, io.env);
  const priorityValue = stringFlag(values, 'priority');
  const priority = priorityValue === undefined ? undefined : priorityFlag('run', priorityValue);
  const topic = stringFlag(values, 'topic');
  const job: JobInfo = {
    id: randomUuid(),
    name: stringFlag(values, 'name') ?? displayCommand(command),
    status: 'running',
    host: hostname().slice(0, LIMITS.jobHostLength),
  };
  const started: EventDraft = { type: 'job.started', priority: 2, job };
  if (topic !== undefined) started.topic = topic;
  try {
    // Catch a bad --topic or --name now, before the command runs, not as a warning afterwards.
    parseEventInput(started);
  } catch (err) {
    if (err instanceof EventValidationError)
      throw new UsageError(
        'run',
        `${err.field === 'job.name' ? '--name' : err.field === 'topic' ? '--topic' : err.field}: ${err.message.slice(err.field.length + 2)}`,
      );
    throw err;
  }
  return { command, target, priority, topic, job, started, tail: !values['no-tail'] };
}

/** Copies the command's output to ours, keeping the tail; returns the detach functions. */
function passOutput(
  child: ChildProcess,
  tail: OutputTail,
  shared: SharedOutput | undefined,
  io: RunIo,
  reporter: JobReporter,
): Array<() => void> {
  const atLineStart = (chunk: Buffer) => (reporter.atLineStart = chunk.at(-1) === 0x0a);
  const brokenPipe = () => child.kill('SIGPIPE');
  if (shared) return [passThrough(shared.ours, io.stdout, (chunk) => tail.push(chunk), brokenPipe, atLineStart)];
  return [
    passThrough(child.stdout!, io.stdout, (chunk) => tail.push(chunk, 'stdout'), brokenPipe),
    passThrough(child.stderr!, io.stderr, (chunk) => tail.push(chunk, 'stderr'), brokenPipe, atLineStart),
  ];
}

/** Herald's exit code for the command's end: its own code, 128+N for signal N, 127 when not found. */
function endingOf(outcome: ChildOutcome, command: string[], io: RunIo): Ending {
  if (outcome.spawnError) {
    const notFound = outcome.spawnError.code === 'ENOENT';
    const body = notFound ? `command not found: ${command[0]}` : `cannot run ${command[0]}: ${outcome.spawnError.message}`;
    io.stderr.write(`herald: ${body}\n`);
    return { exitCode: notFound ? 127 : 126, body };
  }
  if (outcome.signal) return { exitCode: 128 + (osConstants.signals[outcome.signal] ?? 0), body: `killed by ${outcome.signal}` };
  return { exitCode: outcome.code ?? 1 };
}

/** job.completed on exit 0; job.failed otherwise, "cancelled" when a signal sent to Herald stopped it. */
function finalEvent(plan: RunPlan, done: JobInfo, ending: Ending, cancelledBy: NodeJS.Signals | undefined): EventDraft {
  let final: EventDraft;
  if (ending.exitCode === 0) {
    final = { type: 'job.completed', priority: plan.priority ?? 3, job: { ...done, status: 'succeeded' } };
  } else if (cancelledBy) {
    final = { type: 'job.failed', priority: plan.priority ?? 3, job: { ...done, status: 'cancelled' }, body: `stopped by ${cancelledBy}` };
  } else {
    final = { type: 'job.failed', priority: plan.priority ?? 4, job: { ...done, status: 'failed' } };
    if (ending.body !== undefined) final.body = ending.body;
  }
  if (plan.topic !== undefined) final.topic = plan.topic;
  return final;
}

/** job.started first, so the server's ids keep the order; both within one bounded wait (FINAL_REPORT_MS). */
async function reportEnd(
  reporter: JobReporter,
  startedReport: Promise<void>,
  startedAbort: AbortController,
  final: EventDraft,
  finalAbort: AbortController,
): Promise<void> {
  const doneAt = monotonicMs();
  const deadline = AbortSignal.any([AbortSignal.timeout(FINAL_REPORT_MS), finalAbort.signal]);
  await Promise.race([startedReport, aborted(deadline)]);
  if (deadline.aborted) {
    startedAbort.abort();
    if (!finalAbort.signal.aborted) reporter.warn(`no answer within ${FINAL_REPORT_MS / 1000} s`);
    return;
  }
  const left = Math.max(100, FINAL_REPORT_MS - (monotonicMs() - doneAt));
  await reporter.report(final, { timeoutMs: Math.round(left), budgetMs: Math.round(left), signal: finalAbort.signal });
}

/**
 * True when our stdout and stderr are the same place (one terminal, or `>log 2>&1`). Then the
 * command gets one channel for both, so its output reaches that place, and the tail, in the
 * order it was written: two pipes have no order between what arrives on both at once (a test
 * runner's "FAIL" on stderr would pass its summary on stdout). Not on Windows.
 */
function outputsShareDestination(io: RunIo): boolean {
  if (process.platform === 'win32' || io.stdout !== process.stdout || io.stderr !== process.stderr) return false;
  try {
    const out = fstatSync(1);
    const err = fstatSync(2);
    return out.dev === err.dev && out.ino === err.ino;
  } catch {
    return false;
  }
}

interface SharedOutput {
  /** Given to the command as both its stdout and stderr. */
  commandEnd: Socket;
  /** What the command writes on either, in order. */
  ours: Socket;
}

/**
 * A connected pair of sockets (Node has no socketpair()): through a listening socket in a fresh
 * private directory (mode 0700: only this user can connect), closed and removed at once. Undefined
 * if that fails: the command then gets two pipes, as when our outputs differ.
 */
async function openSharedOutput(): Promise<SharedOutput | undefined> {
  let dir: string | undefined;
  const server = createServer();
  try {
    dir = mkdtempSync(path.join(tmpdir(), 'herald-run-'));
    const socketPath = path.join(dir, 'output.sock');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const commandEnd = connect(socketPath);
    await once(commandEnd, 'connect');
    const [ours] = await accepted;
    return { commandEnd, ours };
  } catch {
    return undefined;
  } finally {
    server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits for the end of the command's output, at most PIPE_DRAIN_MS after it exited (a background grandchild may hold it). */
function drained(output: Socket): Promise<void> {
  if (output.readableEnded || output.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, PIPE_DRAIN_MS);
    output.once('end', done);
    output.once('close', done);
  });
}

/** Publishes a job's events; warns on stderr once, however many of them fail. */
class JobReporter {
  readonly #target: ServerTarget;
  readonly #stderr: Writable;
  #warned = false;
  /** False while the command's stderr is in the middle of a line, so the warning starts on a new one. */
  atLineStart = true;

  constructor(target: ServerTarget, stderr: Writable) {
    this.#target = target;
    this.#stderr = stderr;
  }

  /** Publishes with retries (publishWithRetry); `budgetMs` bounds every try and wait together. */
  async report(event: EventDraft, options: { timeoutMs: number; budgetMs?: number; signal?: AbortSignal }): Promise<void> {
    try {
      await publishWithRetry(this.#target, event, {
        ...options,
        onRetry: (info) => this.#line(`reporting to ${this.#target.url}: ${retryLine(info)}`),
      });
    } catch (err) {
      if (err instanceof PublishError && err.reason === 'aborted') return;
      this.warn(err instanceof PublishError ? err.detail : describeError(err));
    }
  }

  warn(detail: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#line(`could not report to ${this.#target.url}: ${detail} (the command itself is not affected)`);
  }

  #line(text: string): void {
    this.#stderr.write(`${this.atLineStart ? '' : '\n'}herald: ${text}\n`);
    this.atLineStart = true;
  }
}

function startChild(command: string[], output: 'pipe' | 'inherit' | Socket): ChildProcess {
  try {
    return spawn(command[0]!, command.slice(1), { stdio: ['inherit', output, output] });
  } catch (err) {
    // spawn() throws synchronously only for arguments it cannot pass (e.g. a NUL byte).
    throw new UsageError('run', `cannot start ${command[0]}: ${describeError(err)}`);
  }
}

interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: NodeJS.ErrnoException;
}

function waitForChild(child: ChildProcess): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: ChildOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      resolve(outcome);
    };
    // `on`, not `once`: a second error (a kill that fails after a failed spawn) must not go unheard.
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed spawn has no pid; later errors (a failed kill) change nothing here.
      if (child.pid === undefined) finish({ code: null, signal: null, spawnError: err });
    });
    // 'close' comes after the output pipes are drained; cap the wait in case a grandchild holds them.
    child.once('exit', (code, signal) => {
      if (settled || child.pid === undefined) return;
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ code, signal });
      }, PIPE_DRAIN_MS);
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (child.pid !== undefined) finish({ code, signal });
    });
  });
}

/** Copies the command's output to ours chunk by chunk, unchanged, keeping the tail; returns a detach function. */
function passThrough(
  from: Readable,
  to: Writable,
  keep: (chunk: Buffer) => void,
  onBrokenPipe: () => void,
  onChunk?: (chunk: Buffer) => void,
): () => void {
  // Our side went away (`herald run -- yes | head`): stop the command the way the kernel would
  // have if it wrote there itself (SIGPIPE), and close its pipe in case it ignores that signal.
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') onBrokenPipe();
    from.destroy();
  };
  to.on('error', onError);
  from.on('data', (chunk: Buffer) => {
    keep(chunk);
    onChunk?.(chunk);
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  return () => to.off('error', onError);
}

/**
 * True when Herald is in its terminal's foreground process group, so a Ctrl-C from the terminal
 * reached the command too. Linux: from /proc; elsewhere: assume so when attached to a terminal.
 */
function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // After "pid (comm) ": state ppid pgrp session tty_nr tpgid …; comm may hold spaces and parens.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const ttyNr = Number(fields[4]);
    const tpgid = Number(fields[5]);
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    return Boolean(process.stdin.isTTY || process.stderr.isTTY);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** The command line as a person would type it, for the job's name. */
export function displayCommand(command: string[]): string {
  const line = command
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return clip(line, LIMITS.jobNameLength);
}
