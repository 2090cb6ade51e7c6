// What topic filters cost the server: a targeted benchmark for issue #10 item 1, this tree
// against a named baseline revision (before the fix) in the same run.
//
//   node bench/topic-filters.ts [--baseline=REV] [--events=N] [--requests=N]
//
// 1. Memory: /history?after=0&topic=<n topics> for n = 1, 2, … N (each size once, the topics
//    `t0`…`t(n-1)`). The baseline prepared and kept one SQLite statement per filter size (two
//    kinds), forever; this tree serves any filter of up to 64 topics from a fixed set and answers
//    400 past it. The server's RSS before and after (after a full GC), and how the requests were
//    answered.
// 2. A rare topic: the log holds N events on other topics and 10 on `rare`; the median and max of
//    50 `GET /history?after=0&topic=rare` (the baseline scans the whole log; this tree walks an
//    index on (topic, id)).
//
// Figures go to stdout with the load average: the machine is shared, read them next to it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopChildrenOnSignals, type BenchChild } from './child.ts';
import { RawHttpConnection } from './http-raw.ts';
import { sampleProcess } from './proc.ts';
import { median } from './stats.ts';
import { startTreeServer, treeOf } from './trees.ts';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** Main just before the topic-filter fix (a1fdd79). */
const DEFAULT_BASELINE = 'fad69b1';
const baseline = arg('baseline') ?? DEFAULT_BASELINE;
const EVENTS = Number(arg('events') ?? 100_000);
const REQUESTS = Number(arg('requests') ?? 2000);
const MB = 1024 * 1024;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

stopChildrenOnSignals();

interface Figures {
  name: string;
  rssBeforeMB: number;
  rssAfterMB: number;
  answers: Record<string, number>;
  rareMedianMs: number;
  rareMaxMs: number;
  load: string;
}

async function fill(url: URL): Promise<void> {
  const connections = Array.from({ length: 8 }, () => new RawHttpConnection({ host: url.hostname, port: Number(url.port) }));
  let next = 0;
  const rareEvery = Math.floor(EVENTS / 10);
  await Promise.all(
    connections.map(async (c) => {
      while (next < EVENTS) {
        const i = next++;
        const topic = i % rareEvery === 0 ? 'rare' : `t${i % 50}`;
        const r = await c.request('POST', '/events', JSON.stringify({ title: `event ${i}`, topic }), {
          'Content-Type': 'application/json',
        });
        if (r.status !== 201) throw new Error(`fill: ${r.status} ${r.body.slice(0, 200)}`);
      }
    }),
  );
}

async function rss(child: BenchChild): Promise<number> {
  await child.call('gc');
  return sampleProcess(child.pid).rss;
}

async function measure(name: string, rev: string | undefined): Promise<Figures> {
  const tree = treeOf(rev);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-topics-'));
  const server = await startTreeServer(tree.root, dataDir);
  try {
    const target = { host: server.url.hostname, port: Number(server.url.port) };
    process.stderr.write(`[${name}] filling the log with ${EVENTS} events (load ${load()})\n`);
    await fill(server.url);
    const c = new RawHttpConnection(target);
    // Warm: one filter of one topic, so the baseline's first statements are there before measuring.
    await c.request('GET', '/history?after=0&topic=t0&limit=1', '');
    const rssBefore = await rss(server.child);
    process.stderr.write(`[${name}] ${REQUESTS} filters of 1 to ${REQUESTS} topics (load ${load()})\n`);
    const answers: Record<string, number> = {};
    let topics = '';
    for (let n = 1; n <= REQUESTS; n++) {
      topics += `${n > 1 ? ',' : ''}t${n - 1}`;
      const r = await c.request('GET', `/history?after=0&limit=1&topic=${topics}`, '', {}, 60_000);
      answers[r.status] = (answers[r.status] ?? 0) + 1;
    }
    const rssAfter = await rss(server.child);
    process.stderr.write(`[${name}] a rare topic among ${EVENTS} events (load ${load()})\n`);
    const times: number[] = [];
    for (let i = 0; i < 50; i++) times.push((await c.request('GET', '/history?after=0&topic=rare&limit=100', '')).ms);
    return {
      name,
      rssBeforeMB: rssBefore / MB,
      rssAfterMB: rssAfter / MB,
      answers,
      rareMedianMs: median(times),
      rareMaxMs: Math.max(...times),
      load: load(),
    };
  } finally {
    await server.child.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
    tree.cleanup();
  }
}

process.stdout.write(
  `# bench/topic-filters.ts: ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, load ${load()}\n\n`,
);
const results = [await measure(`baseline ${baseline}`, baseline), await measure('current tree', undefined)];
const f1 = (n: number) => n.toFixed(1);
process.stdout.write(
  `| server | RSS before → after ${REQUESTS} filters (after GC) | answers | rare topic among ${EVENTS}: median / max | load (1/5/15 min) |\n|---|--:|---|--:|---|\n`,
);
for (const r of results) {
  const answers = Object.entries(r.answers)
    .map(([status, n]) => `${n} × ${status}`)
    .join(', ');
  process.stdout.write(
    `| ${r.name} | ${f1(r.rssBeforeMB)} → ${f1(r.rssAfterMB)} MB (+${f1(r.rssAfterMB - r.rssBeforeMB)}) | ${answers} | ${f1(r.rareMedianMs)} / ${f1(r.rareMaxMs)} ms | ${r.load} |\n`,
  );
}
process.exit(0);
