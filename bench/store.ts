// The desktop store's per-event cost with a full history: `node bench/store.ts` (about 30 s;
// `--events=N`, default 1000, the backlog after a long absence; `--history=N`, default 500;
// `--catchup=N`, default 10000, the catch-up below).
//
// Each event does what the app does for it (main/herald-app.ts + feed/client.ts): record it in the
// history, then save the cursor, which must be on disk before the next event. Between events the
// loop yields to the event loop (as the SSE stream does), so coalesced writes land when due; the
// total includes them and the final flush (quit).
// - before: the 1.0.0 layout, everything in one electron-store file: conf.set of cursor + history
//   + unread per event, rewriting ~300 KB each time (what HeraldStore did until the split).
// - after: HeraldStore with two files: the cursor in `config` per event, `history` at most once
//   per 250 ms.
// Uses `conf`, electron-store's own engine, against files in a temp dir (removed at the end).
//
// Then the catch-up after sleep, end to end: a real companion server in a child process holds a
// backlog of --catchup events; the desktop app's core (HeraldApp: the real FeedClient, policy,
// store and tray view, with a no-op Platform) connects from cursor 0 and handles all of them. The
// figure is the main thread's busy time (event-loop utilisation, active ms) from start until the
// last cursor is on disk — what would freeze the app's UI — for the cursor written per event
// (before: store 1.2.0) and once per drained batch (after). Goal: under 300 ms for 10k events.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Conf, { type Options as ConfOptions, type Schema } from 'conf';
import type { HeraldEvent } from '../events/event.ts';
import { DEFAULT_SERVER_URL } from '../events/net.ts';
import type { Platform } from '../main/platform.ts';
import { HeraldApp } from '../main/herald-app.ts';
import {
  DEFAULT_HISTORY_WRITE_MS,
  HeraldStore,
  historyOptions,
  historySchema,
  storeDefaults,
  storeOptions,
  storeSchema,
  type HistoryBackend,
  type HistoryData,
  type StoreBackend,
  type StoreData,
} from '../main/herald-store.ts';

const arg = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench/store: --${name} takes a positive whole number, got ${raw}\n`);
    process.exit(2);
  }
  return n;
};
const EVENTS = arg('events', 1000);
const HISTORY = arg('history', 500);
const CATCHUP = arg('catchup', 10_000);
// `--only=catchup`: the catch-up alone (for a profile: node --cpu-prof bench/store.ts --only=catchup).
const ONLY_CATCHUP = process.argv.includes('--only=catchup');
const WARMUP = 50;
const SERVER = DEFAULT_SERVER_URL;

/** A job event of a realistic size (body and output tail filled in). */
function jobEvent(i: number): HeraldEvent {
  return {
    id: String(i),
    type: 'job.completed',
    topic: 'build',
    time: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    title: `✓ build ${i} succeeded in 3 min`,
    body: 'x'.repeat(200),
    priority: 3,
    job: { id: `j${i}`, name: `build ${i}`, status: 'succeeded', exitCode: 0, durationMs: 180_000, outputTail: 'y'.repeat(100) },
  };
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

interface Result {
  msPerEvent: number;
  longestBlockMs: number;
  configWrites: number;
  historyWrites: number;
  bytes: string;
}

/** Times each synchronous step and each backend write (writes inside timers are blocks too). */
function timed<T extends object>(backend: StoreBackend<T>, blocks: number[]): StoreBackend<T> & { writes: number } {
  return {
    writes: 0,
    get store() {
      return backend.store;
    },
    path: backend.path,
    set(values) {
      const t = performance.now();
      backend.set(values);
      blocks.push(performance.now() - t);
      this.writes++;
    },
  };
}

async function run(
  step: (e: HeraldEvent) => void,
  first: number,
  count: number,
  finish: () => void,
): Promise<{ ms: number; longest: number }> {
  const blocks: number[] = [];
  const t0 = performance.now();
  for (let i = first; i < first + count; i++) {
    const t = performance.now();
    step(jobEvent(i));
    blocks.push(performance.now() - t);
    await yieldToLoop();
  }
  finish();
  return { ms: performance.now() - t0, longest: Math.max(...blocks) };
}

/** Before: one file holding settings, cursors, unread and the history (the 1.0.0 layout). */
async function before(dir: string): Promise<Result> {
  const blocks: number[] = [];
  const conf = new Conf<StoreData & HistoryData>({
    cwd: dir,
    configName: 'one-file',
    schema: { ...storeSchema, ...historySchema } as Schema<StoreData & HistoryData>,
    defaults: { ...storeDefaults(), recent: [] } as ConfOptions<StoreData & HistoryData>['defaults'],
    accessPropertiesByDotNotation: false,
  });
  let recent = Array.from({ length: HISTORY }, (_, i) => jobEvent(i + 1));
  conf.set({ recent });
  const backend = timed(conf as unknown as StoreBackend<StoreData & HistoryData>, blocks);
  let unread = 0;
  let cursors: Record<string, string> = {};
  // The old HeraldStore: the history entry waited for the cursor, then one write carried both.
  const step = (e: HeraldEvent) => {
    recent = recent.length >= HISTORY ? recent.slice(recent.length - HISTORY + 1) : recent.slice();
    recent.push(e);
    unread++;
    cursors = { ...cursors, [SERVER]: e.id };
    backend.set({ recent, unread, cursors });
  };
  await run(step, HISTORY + 1, WARMUP, () => undefined); // warm-up (JIT), not counted
  const writesBefore = backend.writes;
  blocks.length = 0;
  const r = await run(step, HISTORY + 1 + WARMUP, EVENTS, () => undefined);
  return {
    msPerEvent: r.ms / EVENTS,
    longestBlockMs: Math.max(r.longest, ...blocks),
    configWrites: backend.writes - writesBefore,
    historyWrites: 0,
    bytes: `${fs.statSync(conf.path).size}`,
  };
}

/** The app's two electron-store files in `dir` (history first: config's migration reads it), each write timed into `blocks`. */
function timedBackends(dir: string, blocks: number[], prepareHistory?: (historyConf: HistoryBackend) => void) {
  const historyConf = new Conf<HistoryData>({ ...historyOptions(dir), configName: 'history' }) as unknown as HistoryBackend & {
    path: string;
  };
  prepareHistory?.(historyConf);
  const configConf = new Conf<StoreData>({
    ...storeOptions({ cwd: dir, history: historyConf }),
    configName: 'config',
  }) as unknown as StoreBackend & { path: string };
  return { configConf, historyConf, config: timed(configConf, blocks), history: timed(historyConf, blocks) };
}

/** After: HeraldStore over `config` and `history`, as the app opens them. */
async function after(dir: string): Promise<Result> {
  const blocks: number[] = [];
  const { config, history, configConf, historyConf } = timedBackends(dir, blocks, (historyConf) =>
    historyConf.set({ recent: Array.from({ length: HISTORY }, (_, i) => jobEvent(i + 1)) }),
  );
  const store = new HeraldStore({ config, history }, { recentLimit: HISTORY });
  const cursor = store.cursor(SERVER);
  const step = (e: HeraldEvent) => {
    store.recordEvent(e);
    cursor.save({ lastEventId: e.id });
  };
  await run(step, HISTORY + 1, WARMUP, () => store.flush()); // warm-up (JIT), not counted
  const configBefore = config.writes;
  const historyBefore = history.writes;
  blocks.length = 0;
  const r = await run(step, HISTORY + 1 + WARMUP, EVENTS, () => store.flush());
  return {
    msPerEvent: r.ms / EVENTS,
    longestBlockMs: Math.max(r.longest, ...blocks),
    configWrites: config.writes - configBefore,
    historyWrites: history.writes - historyBefore,
    bytes: `${fs.statSync(configConf.path).size} + ${fs.statSync(historyConf.path).size}`,
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-store-'));
try {
  process.stderr.write(
    `bench/store: load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1, 5, 15 min)\n`,
  );
  process.stderr.write(`bench/store: ${EVENTS} events (after ${WARMUP} not counted) with a full history of ${HISTORY}, in ${dir}\n`);
  if (!ONLY_CATCHUP) {
    const b = await before(path.join(dir, 'before'));
    const a = await after(path.join(dir, 'after'));
    const row = (name: string, r: Result) =>
      `| ${name} | ${r.msPerEvent.toFixed(2)} | ${((r.msPerEvent * EVENTS) / 1000).toFixed(2)} | ${r.longestBlockMs.toFixed(1)} | ${r.configWrites} | ${r.historyWrites} | ${r.bytes} |`;
    process.stdout.write(
      [
        `Store cost per event, ${EVENTS} events, full history (${HISTORY}), ${os.cpus().length} cores, Node ${process.version}`,
        '',
        '| layout | ms/event | s for the backlog | longest block (ms) | cursor-file writes | history-file writes | file bytes |',
        '|---|---:|---:|---:|---:|---:|---:|',
        row('before: one file (cursor + history per event)', b),
        row(`after: config per event, history coalesced (${DEFAULT_HISTORY_WRITE_MS} ms)`, a),
        '',
        `after / before: ${(a.msPerEvent / b.msPerEvent).toFixed(3)}`,
        '',
      ].join('\n'),
    );
  }
  // ---- the catch-up, end to end ----
  process.stderr.write(`bench/store: catch-up of ${CATCHUP} events from a server in a child process (publishing them first)\n`);
  const backlog = await startBacklogServer(CATCHUP);
  try {
    const perBatch = await catchUp(path.join(dir, 'catchup-after'), backlog, 'batch');
    // The baseline takes ~10 s; --only=catchup leaves it out (to profile the new path alone).
    const perEvent = ONLY_CATCHUP ? undefined : await catchUp(path.join(dir, 'catchup-before'), backlog, 'event');
    const crow = (name: string, r: CatchUpResult) =>
      `| ${name} | ${r.activeMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${r.wallMs.toFixed(0)} | ${r.configWrites} | ${r.historyWrites} | ${r.longestStallMs.toFixed(1)} |`;
    process.stdout.write(
      [
        `Catch-up of ${CATCHUP} events after sleep: the desktop core (real FeedClient, policy, store, tray view) from cursor 0, ${os.cpus().length} cores, load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        '',
        '| cursor written | main-thread busy ms (goal < 300) | main-thread CPU ms | wall ms | cursor-file writes | history-file writes | longest stall ms |',
        '|---|---:|---:|---:|---:|---:|---:|',
        ...(perEvent ? [crow('before: once per event (store 1.2.0)', perEvent)] : []),
        crow('after: once per drained batch', perBatch),
        '',
        `${perEvent ? `after / before (busy ms): ${(perBatch.activeMs / perEvent.activeMs).toFixed(3)}; ` : '(the baseline was left out: --only=catchup) '}goal ${perBatch.activeMs < 300 ? 'met' : 'NOT met'}: ${perBatch.activeMs.toFixed(0)} ms busy, goal < 300 ms`,
        '',
      ].join('\n'),
    );
  } finally {
    backlog.stop();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

interface Backlog {
  url: string;
  lastId: string;
  stop(): void;
}

async function startBacklogServer(count: number): Promise<Backlog> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./backlog-server.ts', import.meta.url)), String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`bench/store: the backlog server exited (${code}) before it was ready`)));
  });
  const { url, lastId } = JSON.parse(line) as { url: string; lastId: string };
  return { url, lastId, stop: () => child.stdin.end() };
}

interface CatchUpResult {
  activeMs: number;
  /** The main thread's own CPU time (process.threadCpuUsage): busy time less waits (fsync) and
   * less time the thread was ready but not scheduled (a loaded machine). */
  cpuMs: number;
  wallMs: number;
  configWrites: number;
  historyWrites: number;
  longestStallMs: number;
}

/** The core catches up from cursor 0 to the backlog's last id; the main thread's busy time. */
async function catchUp(dir: string, backlog: Backlog, cursorWrites: 'event' | 'batch'): Promise<CatchUpResult> {
  const blocks: number[] = [];
  const { config, history, configConf } = timedBackends(dir, blocks);
  const store = new HeraldStore({ config, history }, { cursorWrites });
  store.settings = { ...store.settings, serverUrl: backlog.url, runLocalServer: false };
  store.cursor(backlog.url).save({ lastEventId: '0' });
  store.flush();
  const platform: Platform = {
    notify: () => undefined,
    notificationsSupported: () => true,
    setTray: () => undefined,
    sendToRenderer: () => undefined,
    openExternal: async () => undefined,
    showWindow: () => undefined,
    setLaunchAtLogin: () => undefined,
    spawnServer: () => {
      throw new Error('no local server in the bench');
    },
    quit: () => undefined,
  };
  const writesBefore = [config.writes, history.writes];
  const stalls = monitorEventLoopDelay({ resolution: 1 });
  // In memory first (cheap to poll: conf's `store` reads and parses the file), then on disk.
  const handled = () => store.cursor(backlog.url).load()?.lastEventId === backlog.lastId;
  const onDisk = () => (configConf.store as StoreData).cursors[backlog.url] === backlog.lastId;
  const app = new HeraldApp({ platform, store });
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  stalls.enable();
  app.start();
  while (!handled()) await new Promise((r) => setTimeout(r, 5));
  while (!onDisk()) await new Promise((r) => setImmediate(r));
  const wallMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.threadCpuUsage(cpu0);
  stalls.disable();
  app.stop();
  return {
    activeMs: elu.active,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    configWrites: config.writes - writesBefore[0]!,
    historyWrites: history.writes - writesBefore[1]!,
    longestStallMs: stalls.max / 1e6,
  };
}
