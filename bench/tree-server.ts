// One Herald server for the targeted benchmarks (bench/readers.ts, bench/topic-filters.ts), from
// any Herald tree (this one, or a baseline revision unpacked elsewhere), in a process of its own
// so the runner can read its memory from /proc.
// Usage: node --expose-gc bench/tree-server.ts <herald-root> <data-dir>
// Prints {"ready":true,"url":...} on stdout, then answers `gc`, `stats`, `held`, `loopWatch`/`loopDelay` and `exit` (protocol.ts).
import net from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { serveCommands } from './protocol.ts';

const [root, dataDir] = process.argv.slice(2);
if (!root || !dataDir) throw new Error('usage: tree-server.ts <herald-root> <data-dir>');
const { startServer } = (await import(pathToFileURL(path.join(root, 'server', 'serve.ts')).href)) as typeof import('../server/serve.ts');
const lines: string[] = [];
const running = await startServer({
  port: 0,
  host: '127.0.0.1',
  dataDir,
  webRoot: null,
  maxStreams: 100_000,
  publishRate: { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 },
  log: (line) => {
    lines.push(line);
    if (lines.length > 50) lines.shift();
  },
});
// How long the server's event loop was held at a time: what a publish waits behind.
const loop = monitorEventLoopDelay({ resolution: 5 });
// And how much of that was garbage collection.
const gc = { maxMs: 0, totalMs: 0, watching: false };
new PerformanceObserver((list) => {
  if (!gc.watching) return;
  for (const entry of list.getEntries()) {
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });
serveCommands(
  { url: running.url, pid: process.pid },
  {
    gc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
    stats: () => ({ ...running.stats(), log: lines.slice(-5) }),
    /** Bytes Node holds unsent, all sockets together, asked of each socket: the same measure for any server version. */
    held: () => {
      let bytes = 0;
      let sockets = 0;
      for (const handle of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
        if (handle instanceof net.Socket) {
          bytes += handle.writableLength;
          sockets += 1;
        }
      }
      return { bytes, sockets };
    },
    loopWatch: () => {
      loop.reset();
      loop.enable();
      Object.assign(gc, { maxMs: 0, totalMs: 0, watching: true });
      return true;
    },
    loopDelay: () => {
      loop.disable();
      gc.watching = false;
      return { max: loop.max / 1e6, p99: loop.percentile(99) / 1e6, gcMaxMs: gc.maxMs, gcTotalMs: gc.totalMs };
    },
  },
  async () => {
    await Promise.race([running.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
  },
);
