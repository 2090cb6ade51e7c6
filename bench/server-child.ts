// One server under test in its own process, so the runner can read its memory and CPU from /proc.
// Usage: node --expose-gc bench/server-child.ts <herald|floor|seed|better-sse|baseline> [options as JSON]
//   herald: merged into its startServer options, e.g. '{"fsync":true}', '{"redis":{"url":"redis://…"}}',
//           '{"dataDir":"/a/prepared/log"}' (default: a temp dir, removed at exit)
//   floor:  '{"replayFrom":"/path/herald.db"}' replays from that log, read-only
//   baseline: Herald from another tree, '{"root":"/tmp/herald-baseline-…"}' (bench/trees.ts), with Herald's settings
// Herald runs as shipped but for plan.ts's HERALD_CHANGED_SETTINGS and those options: its log lines
// go to stderr, which the runner reads (a tail is kept for errors).
// Prints {"ready":true,"url":...} on stdout, then answers `gc`, `loopWatch`/`loopDelay`, `stats` (Herald) and `exit` (see protocol.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveCommands } from './protocol.ts';
import { startSeedServer } from './baselines/seed-server.ts';
import { startBetterSseServer } from './baselines/better-sse-server.ts';
import { startFloorServer } from './baselines/floor-server.ts';
import { HERALD_BENCH_OPTIONS } from './plan.ts';

interface Running {
  url: string;
  close(): Promise<void>;
  /** Herald only: streams open, subscribers cut off, largest backlog seen. */
  stats?(): unknown;
}

/** The options JSON: Herald's own options (a prepared dataDir among them), or the floor's replayFrom. */
type ChildOptions = Record<string, unknown> & { dataDir?: string; replayFrom?: string; root?: string };

async function start(kind: string, extra: ChildOptions): Promise<{ running: Running; dataDir?: string; options?: unknown }> {
  if (kind === 'seed') return { running: await startSeedServer({ port: 0, host: '127.0.0.1' }) };
  if (kind === 'better-sse') return { running: await startBetterSseServer({ port: 0, host: '127.0.0.1' }) };
  if (kind === 'floor') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-floor-'));
    return {
      running: await startFloorServer({
        port: 0,
        host: '127.0.0.1',
        dataDir,
        ...(extra.replayFrom ? { replayFrom: extra.replayFrom } : {}),
      }),
      dataDir,
    };
  }
  if (kind === 'herald' || kind === 'baseline') {
    const { root, ...rest } = extra;
    if (kind === 'baseline' && root === undefined) throw new Error('baseline needs {"root": "<a Herald tree>"}');
    const own = rest.dataDir === undefined;
    const dataDir = rest.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
    const serve = root === undefined ? '../server/serve.ts' : pathToFileURL(path.join(root, 'server', 'serve.ts')).href;
    const { startServer } = (await import(serve)) as typeof import('../server/serve.ts');
    const options = { ...HERALD_BENCH_OPTIONS, ...rest, port: 0, host: '127.0.0.1', dataDir };
    const running = await startServer(options);
    return { running, ...(own ? { dataDir } : {}), options };
  }
  throw new Error(`unknown server kind "${kind}": use herald, floor, seed, better-sse or baseline`);
}

const kind = process.argv[2] ?? '';
const extra = JSON.parse(process.argv[3] ?? '{}') as ChildOptions;
// How long the server's event loop was blocked: tells a server pause from a load-generator one.
// On only while the runner measures a flow of events: its 5 ms timer would be the idle wake-ups.
const loop = monitorEventLoopDelay({ resolution: 5 });
const { running, dataDir, options } = await start(kind, extra);
serveCommands(
  { kind, url: running.url, pid: process.pid, options },
  {
    gc: () => {
      // Only with --expose-gc: lets the runner read retained memory rather than garbage.
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
    /** Starts watching the event loop's delay. */
    loopWatch: () => {
      loop.reset();
      loop.enable();
      return true;
    },
    /** The event loop's delay (ms) since loopWatch; stops watching. */
    loopDelay: () => {
      loop.disable();
      return { max: loop.max / 1e6, p99: loop.percentile(99) / 1e6 };
    },
    stats: () => {
      if (!running.stats) throw new Error(`${kind} has no stats`);
      return running.stats();
    },
  },
  async () => {
    await Promise.race([running.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  },
);
