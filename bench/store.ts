// The desktop store's per-event cost with a full history: `node bench/store.ts` (about 10 s;
// `--events=N`, default 1000, the backlog after a long absence; `--history=N`, default 500).
//
// Each event does what the app does for it (main/wiring.ts + feed/client.ts): record it in the
// history, then save the cursor, which must be on disk before the next event. Between events the
// loop yields to the event loop (as the SSE stream does), so coalesced writes land when due; the
// total includes them and the final flush (quit).
// - before: the 1.0.0 layout, everything in one electron-store file: conf.set of cursor + history
//   + unread per event, rewriting ~300 KB each time (what HeraldStore did until the split).
// - after: HeraldStore with two files: the cursor in `config` per event, `history` at most once
//   per 250 ms.
// Uses `conf`, electron-store's own engine, against files in a temp dir (removed at the end).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Conf, { type Options as ConfOptions, type Schema } from 'conf';
import type { HeraldEvent } from '../events/event.ts';
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
} from '../main/store-schema.ts';

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
const WARMUP = 50;
const SERVER = 'http://127.0.0.1:5080';

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

async function run(step: (e: HeraldEvent) => void, first: number, count: number, finish: () => void): Promise<{ ms: number; longest: number }> {
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

/** After: HeraldStore over `config` and `history`, as the app opens them. */
async function after(dir: string): Promise<Result> {
  const blocks: number[] = [];
  const historyConf = new Conf<HistoryData>({ ...historyOptions(dir), configName: 'history' }) as unknown as HistoryBackend & { path: string };
  historyConf.set({ recent: Array.from({ length: HISTORY }, (_, i) => jobEvent(i + 1)) });
  const configConf = new Conf<StoreData>({ ...storeOptions({ cwd: dir, history: historyConf }), configName: 'config' }) as unknown as StoreBackend;
  const config = timed(configConf, blocks);
  const history = timed(historyConf, blocks);
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
  process.stderr.write(`bench/store: ${EVENTS} events (after ${WARMUP} not counted) with a full history of ${HISTORY}, in ${dir}\n`);
  const b = await before(path.join(dir, 'before'));
  const a = await after(path.join(dir, 'after'));
  const row = (name: string, r: Result) =>
    `| ${name} | ${r.msPerEvent.toFixed(2)} | ${(r.msPerEvent * EVENTS / 1000).toFixed(2)} | ${r.longestBlockMs.toFixed(1)} | ${r.configWrites} | ${r.historyWrites} | ${r.bytes} |`;
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
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
