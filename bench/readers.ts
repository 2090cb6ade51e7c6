// What readers cost the server, and what they cost publishers: a targeted benchmark for the
// reader bounds (issue #10), run against this tree and a named baseline revision in the same run.
//
//   node bench/readers.ts [--baseline=REV] [--only=baseline|current] [--events=N] [--replayers=N] [--history-readers=N] [--profile]
//
// 1. Stalled readers: 300 subscribers resume from id 0 and never read a byte, for 15 s. The most
//    unsent bytes the server's sockets held at once (each socket asked: the same measure for any
//    server version), per reader; its RSS before and at its peak (garbage included); what its
//    JavaScript retains then after a full GC (socket queues are mostly outside it).
// 2. Publishing under readers: subscribers replay the whole log from 0 over and over (each
//    reconnects after its replay) and clients read /history?after=0&limit=1000 in a loop, from a
//    process of their own; meanwhile one publisher publishes 50 events/s, each when due whatever
//    the earlier ones wait for. The acknowledgement latency counted from when each was due (p50,
//    p99, max), the server's event-loop delay, and how much the readers got through.
//
// The baseline runs from `git archive REV` unpacked into a temp dir (node_modules linked from
// this tree). Both servers get the same log: N events with 4 KB bodies (a 1000-event /history
// page is ~4 MB). Figures go to stdout with the load average before and after each part: the
// machine is shared (2 cores here), so read them next to it.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchChild, stopChildrenOnSignals } from './child.ts';
import { RawHttpConnection } from './http-raw.ts';
import { sampleProcess } from './proc.ts';
import { REPO as repo, startTreeServer, treeOf } from './trees.ts';
import { backs, LatencyHistogram } from './stats.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** The server before the reader bounds: main as it was when they were written. */
const DEFAULT_BASELINE = '3dd4f1f';
const baseline = arg('baseline') ?? DEFAULT_BASELINE;
const only = arg('only');
const EVENTS = Number(arg('events') ?? 5000);
const REPLAYERS = Number(arg('replayers') ?? 120);
const HISTORY_READERS = Number(arg('history-readers') ?? 10);
const BODY = 'x'.repeat(4000);
const STALLED = 300;
const STALLED_SECONDS = 15;
/** 1,000 publishes: enough that a p99 has 10 samples beyond it (bench/stats.ts backs()). */
const PUBLISH_PER_SECOND = 50;
const PUBLISH_SECONDS = 20;

const MB = 1024 * 1024;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ReaderFigures {
  replayMB: number;
  historyMB: number;
  historyPages: number;
}

if (arg('role') === 'readers') {
  // The reader load, in a process of its own so that the publisher's timing is not the readers'.
  const url = new URL(arg('url')!);
  const figures = await readerLoad(url, Number(arg('seconds')));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(0);
}

stopChildrenOnSignals();

interface Figures {
  name: string;
  stalled: {
    rssBeforeMB: number;
    rssPeakMB: number;
    heldMostMB: number;
    perReaderKB: number;
    retainedMB: number;
    cutOff: number;
    load: string;
  };
  publishing: {
    p50: number;
    p99: number;
    max: number;
    acked: number;
    failed: number;
    loopMax: number;
    loopP99: number;
    gcMaxMs: number;
    gcTotalMs: number;
    readers: ReaderFigures;
    load: string;
  };
}

async function startServer(root: string, dataDir: string): Promise<{ child: BenchChild; url: URL }> {
  // --profile: a CPU profile of each server into bench/results/profiles/ (open it in Chrome DevTools).
  const profile = args.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(here, 'results', 'profiles')}`] : [];
  return startTreeServer(root, dataDir, profile);
}

async function fill(url: URL): Promise<void> {
  const connections = Array.from({ length: 16 }, () => new RawHttpConnection({ host: url.hostname, port: Number(url.port) }));
  let next = 0;
  await Promise.all(
    connections.map(async (c) => {
      while (next < EVENTS) {
        const i = next++;
        const r = await c.request('POST', '/events', JSON.stringify({ title: `event ${i}`, topic: `t${i % 8}`, body: BODY }), {
          'Content-Type': 'application/json',
        });
        if (r.status !== 201) throw new Error(`fill: ${r.status} ${r.body}`);
      }
    }),
  );
}

/** A raw SSE request from id 0 on a socket that never reads. */
function stalledReader(url: URL): net.Socket {
  const socket = net.connect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  socket.write(`GET /events HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\nLast-Event-ID: 0\r\n\r\n`);
  socket.pause();
  return socket;
}

/** What the server's JavaScript holds after a full GC: its heap and the buffers outside it (socket queues among them). */
async function retainedBytes(child: BenchChild): Promise<number> {
  const usage = await child.call<NodeJS.MemoryUsage>('gc');
  return usage.heapUsed + usage.external;
}

async function stalledReaders(server: { child: BenchChild; url: URL }): Promise<Figures['stalled']> {
  await sleep(500);
  const retainedBefore = await retainedBytes(server.child);
  const before = sampleProcess(server.child.pid).rss;
  const sockets = Array.from({ length: STALLED }, () => stalledReader(server.url));
  let peak = before;
  let heldMost = 0;
  const started = Date.now();
  // Long enough for either server to fill every socket's kernel buffers (about 4 MB each on loopback) and then hold what it holds.
  while (Date.now() - started < STALLED_SECONDS * 1000) {
    await sleep(250);
    peak = Math.max(peak, sampleProcess(server.child.pid).rss);
    heldMost = Math.max(heldMost, (await server.child.call<{ bytes: number }>('held')).bytes);
  }
  // What the server keeps for them, garbage collected (the peak also holds pages already sent and garbage).
  const retained = await retainedBytes(server.child);
  const stats = await server.child.call<{ cutOff: number }>('stats');
  for (const s of sockets) s.destroy();
  await sleep(1000);
  return {
    rssBeforeMB: before / MB,
    rssPeakMB: peak / MB,
    heldMostMB: heldMost / MB,
    perReaderKB: heldMost / 1024 / STALLED,
    retainedMB: (retained - retainedBefore) / MB,
    cutOff: stats.cutOff,
    load: load(),
  };
}

/** Replayers and /history readers for `seconds`; what they got through. */
async function readerLoad(url: URL, seconds: number): Promise<ReaderFigures> {
  let stop = false;
  const figures: ReaderFigures = { replayMB: 0, historyMB: 0, historyPages: 0 };
  let replayBytes = 0;
  let historyBytes = 0;
  // Each replayer reads from 0 until it has about the whole log, then starts over.
  const wholeLog = EVENTS * 4200;
  const replayer = async () => {
    while (!stop) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(url.port), url.hostname);
        let got = 0;
        socket.on('data', (d: Buffer) => {
          got += d.length;
          replayBytes += d.length;
          if (got >= wholeLog || stop) socket.destroy();
        });
        socket.on('close', () => resolve());
        socket.on('error', () => {});
        socket.write(`GET /events HTTP/1.1\r\nHost: ${url.host}\r\nLast-Event-ID: 0\r\n\r\n`);
      });
    }
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: HISTORY_READERS });
  const historyReader = async () => {
    while (!stop) {
      await new Promise<void>((resolve) => {
        http
          .get({ host: url.hostname, port: url.port, path: '/history?after=0&limit=1000', agent }, (res) => {
            res.on('data', (d: Buffer) => (historyBytes += d.length));
            res.on('end', () => {
              figures.historyPages += 1;
              resolve();
            });
            res.on('error', () => resolve());
          })
          .on('error', () => resolve());
      });
    }
  };
  const readers = [...Array.from({ length: REPLAYERS }, replayer), ...Array.from({ length: HISTORY_READERS }, historyReader)];
  await sleep(seconds * 1000);
  stop = true;
  agent.destroy();
  await Promise.race([Promise.all(readers), sleep(5000)]);
  figures.replayMB = replayBytes / MB;
  figures.historyMB = historyBytes / MB;
  return figures;
}

async function publishingUnderReaders(server: { child: BenchChild; url: URL }): Promise<Figures['publishing']> {
  const { url } = server;
  const readerChild = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--role=readers',
      `--url=${url.href}`,
      `--seconds=${PUBLISH_SECONDS + 4}`,
      `--events=${EVENTS}`,
      `--replayers=${REPLAYERS}`,
      `--history-readers=${HISTORY_READERS}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let readerOut = '';
  readerChild.stdout!.on('data', (d: Buffer) => (readerOut += d.toString()));
  const readersDone = new Promise<void>((resolve) => readerChild.once('exit', () => resolve()));
  await sleep(2000); // readers under way
  await server.child.call('loopWatch');
  // One publish every 1/PUBLISH_PER_SECOND s for PUBLISH_SECONDS, each on a free connection (a new
  // one when all are waiting), its latency counted from when it was due: a slow answer does not
  // hold the next publish back and hide its own wait.
  const idle: RawHttpConnection[] = [];
  const latencies: number[] = [];
  let failed = 0;
  const interval = 1000 / PUBLISH_PER_SECOND;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < PUBLISH_PER_SECOND * PUBLISH_SECONDS; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const connection = idle.pop() ?? new RawHttpConnection({ host: url.hostname, port: Number(url.port) });
    inFlight.push(
      connection
        .request('POST', '/events', JSON.stringify({ title: `live ${i}`, topic: 'live' }), { 'Content-Type': 'application/json' }, 30_000)
        .then(
          (r) => {
            if (r.status === 201) latencies.push(performance.now() - due);
            else failed += 1;
            idle.push(connection);
          },
          () => {
            failed += 1;
          },
        ),
    );
  }
  await Promise.all(inFlight);
  const loop = await server.child.call<{ max: number; p99: number; gcMaxMs: number; gcTotalMs: number }>('loopDelay');
  const publishLoad = load();
  await readersDone;
  const readers = JSON.parse(readerOut.trim().split('\n').at(-1) ?? '{}') as ReaderFigures;
  const histogram = new LatencyHistogram();
  for (const ms of latencies) histogram.record(ms);
  return {
    p50: histogram.quantile(0.5),
    // [bench/stats.ts] a p99 only where 10 samples lie beyond it, else the max, said as such.
    p99: backs(histogram.count, 0.99) ? histogram.quantile(0.99) : NaN,
    max: histogram.count ? histogram.max : NaN,
    acked: latencies.length,
    failed,
    loopMax: loop.max,
    loopP99: loop.p99,
    gcMaxMs: loop.gcMaxMs,
    gcTotalMs: loop.gcTotalMs,
    readers,
    load: publishLoad,
  };
}

async function measure(name: string): Promise<Figures> {
  const tree = treeOf(name === 'baseline' ? baseline : undefined);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-readers-'));
  try {
    // Each part on a server of its own (the same log): what one part leaves behind is not the next one's cost.
    let server = await startServer(tree.root, dataDir);
    process.stderr.write(`[${name}] filling the log with ${EVENTS} events (load ${load()})\n`);
    await fill(server.url);
    process.stderr.write(`[${name}] ${STALLED} stalled readers from id 0 (load ${load()})\n`);
    const stalled = await stalledReaders(server);
    await server.child.kill();
    server = await startServer(tree.root, dataDir);
    process.stderr.write(
      `[${name}] publishing under ${REPLAYERS} replaying readers and ${HISTORY_READERS} /history readers (load ${load()})\n`,
    );
    const publishing = await publishingUnderReaders(server);
    await server.child.kill();
    return { name: name === 'baseline' ? `baseline ${baseline}` : 'current tree', stalled, publishing };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    tree.cleanup();
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const results: Figures[] = [];
const git = (rev: string) =>
  execFileSync('git', ['-C', repo, 'log', '-1', '--format=%h %s', rev], { encoding: 'utf8' }).trim().slice(0, 90);
process.stdout.write(
  `# bench/readers.ts: ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, load ${load()}\n`,
);
process.stdout.write(
  `baseline: ${git(baseline)}\ncurrent:  ${git('HEAD')}${execFileSync('git', ['-C', repo, 'status', '--porcelain'], { encoding: 'utf8' }).trim() ? ' (+ uncommitted changes)' : ''}\n`,
);
for (const name of ['baseline', 'current']) {
  if (only && only !== name) continue;
  results.push(await measure(name));
}
process.stdout.write(`\n## ${STALLED} subscribers resuming from 0 that never read (${EVENTS} events of 4 KB in the log)\n\n`);
process.stdout.write(
  '| server | unsent bytes held, most | per reader | RSS before → peak | JS heap + external retained (after GC) | cut off | load (1/5/15 min) |\n|---|--:|--:|--:|--:|--:|---|\n',
);
for (const r of results) {
  const s = r.stalled;
  process.stdout.write(
    `| ${r.name} | ${f1(s.heldMostMB)} MB | ${f1(s.perReaderKB)} KB | ${f1(s.rssBeforeMB)} → ${f1(s.rssPeakMB)} MB | ${f1(s.retainedMB)} MB | ${s.cutOff} | ${s.load} |\n`,
  );
}
process.stdout.write(
  `\n## ${PUBLISH_PER_SECOND} publishes/s for ${PUBLISH_SECONDS} s while ${REPLAYERS} subscribers replay from 0 and ${HISTORY_READERS} clients read /history?limit=1000 (another process)\n\n`,
);
process.stdout.write(
  '| server | ack p50 | ack p99 | ack max | acked | failed | loop delay p99 / max | longest GC pause (all GC) | replayed | /history read (pages) | load (1/5/15 min) |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n',
);
for (const r of results) {
  const p = r.publishing;
  process.stdout.write(
    `| ${r.name} | ${f1(p.p50)} ms | ${f1(p.p99)} ms | ${f1(p.max)} ms | ${p.acked} | ${p.failed} | ${f1(p.loopP99)} / ${f1(p.loopMax)} ms | ${f1(p.gcMaxMs)} ms (${f1(p.gcTotalMs)} ms) | ${f1(p.readers.replayMB)} MB | ${f1(p.readers.historyMB)} MB (${p.readers.historyPages}) | ${p.load} |\n`,
  );
}
process.exit(0);
