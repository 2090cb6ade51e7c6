// The floor under "memory per idle stream": what Node itself costs per open SSE response, against
// what Express and Herald cost, measured the same way: `node bench/floor.ts` (about 30 s; `--streams=N`,
// default 5000, or several: `--streams=5000,10000`; `--rounds=N`, default 2; `--baseline=REV` adds
// Herald at that revision (git archive, bench/trees.ts); `--herald-node-flags="--max-semi-space-size=1"`
// adds this tree's Herald run with those Node flags, to see what a V8 setting saves before adopting it).
//
// - node:http bare: http.createServer answering 200 text/event-stream and keeping the response
//   open; no Express, no log, no hub. Nothing can serve a stream with less.
// - Express bare: the same answer from an Express route, behind one header-setting middleware
//   (what any Express server pays per stream before doing anything of its own).
// - Herald: the real server (durable log in a temp dir), GET /events.
// Each server runs in its own child process with --expose-gc; this process opens the streams with
// raw sockets over 127.0.0.2… (so ports never run out) and asks the child for its memory after a
// full GC, before and after. Figures are per stream: RSS, and the JS heap still in use.

import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Kind = 'bare' | 'express' | 'herald' | 'baseline' | 'flagged';
interface Memory {
  rss: number;
  heapUsed: number;
}

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') await child(process.argv[3] as Kind, process.argv[4]!);
else await main();

/** `root`: the Herald tree the herald, baseline and flagged kinds start. */
async function child(kind: Kind, root: string): Promise<void> {
  let port: number;
  let dir: string | undefined;
  if (kind === 'express') {
    const { default: express } = await import('express');
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      next();
    });
    app.get('/events', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  } else if (kind === 'bare') {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  } else {
    // herald, baseline, flagged: the Herald of `root`.
    const { startServer } = (await import(path.join(root, 'server', 'serve.ts'))) as typeof import('../server/serve.ts');
    const { HERALD_BENCH_OPTIONS } = await import('./plan.ts');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-floor-'));
    const server = await startServer({ port: 0, dataDir: dir, webRoot: null, log: () => {}, ...HERALD_BENCH_OPTIONS });
    port = server.port;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the child with --expose-gc');
  process.on('message', () => {
    gc();
    gc();
    const { rss, heapUsed } = process.memoryUsage();
    process.send!({ rss, heapUsed } satisfies Memory);
  });
  process.on('disconnect', () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  process.send!({ port });
}

function ask<T>(proc: ChildProcess, message?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`the server child exited (${code})`)));
    if (message !== undefined) proc.send(message);
  });
}

async function openStreams(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let start = 0; start < count; start += 500) {
    const batch = Math.min(500, count - start);
    await Promise.all(
      Array.from({ length: batch }, (_, j) => {
        const i = start + j;
        return new Promise<void>((resolve, reject) => {
          const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 200)}` }, () => {
            socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
          });
          socket.once('data', (chunk: Buffer) =>
            chunk.toString('latin1').startsWith('HTTP/1.1 200')
              ? resolve()
              : reject(new Error(`stream ${i}: ${chunk.toString('latin1', 0, 40)}`)),
          );
          socket.on('error', reject);
          sockets.push(socket);
        });
      }),
    );
  }
  return sockets;
}

async function measure(kind: Kind, streams: number, root: string, flags: string[]): Promise<{ rss: number; heap: number }> {
  const proc = fork(self, ['--child', kind, root], {
    execArgv: ['--expose-gc', ...(kind === 'flagged' ? flags : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await ask<{ port: number }>(proc);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await ask<Memory>(proc, 'measure');
    const sockets = await openStreams(port, streams);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the same settle as the idle scenario
    const after = await ask<Memory>(proc, 'measure');
    for (const socket of sockets) socket.destroy();
    return { rss: (after.rss - before.rss) / streams / 1024, heap: (after.heapUsed - before.heapUsed) / streams / 1024 };
  } finally {
    proc.disconnect();
  }
}

async function main(): Promise<void> {
  const text = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const flag = (name: string, fallback: string) => {
    const values = (text(name) ?? fallback).split(',').map(Number);
    if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${name} must be whole numbers above 0`);
    return values;
  };
  const counts = flag('streams', '5000');
  const [rounds] = flag('rounds', '2') as [number];
  const baselineRev = text('baseline');
  const flags = text('herald-node-flags')?.split(' ').filter(Boolean) ?? [];
  const { REPO, treeOf } = await import('./trees.ts');
  const baseline = baselineRev ? treeOf(baselineRev) : undefined;
  const kinds: Kind[] = [
    'bare',
    'express',
    'herald',
    ...(baseline ? (['baseline'] as const) : []),
    ...(flags.length ? (['flagged'] as const) : []),
  ];
  const labels: Record<Kind, string> = {
    bare: 'node:http bare (the floor)',
    express: 'Express bare',
    herald: 'Herald (this tree)',
    baseline: `Herald at ${baselineRev}`,
    flagged: `Herald (this tree) with ${flags.join(' ')}`,
  };
  const os = await import('node:os');
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  try {
    for (const streams of counts) {
      const results = new Map<Kind, { rss: number; heap: number }[]>(kinds.map((k) => [k, []]));
      for (let round = 1; round <= rounds; round++) {
        const order = round % 2 === 1 ? kinds : [...kinds].reverse();
        for (const kind of order) {
          process.stderr.write(`${streams} streams, round ${round}/${rounds}: ${kind}… `);
          const r = await measure(kind, streams, kind === 'baseline' ? baseline!.root : REPO, flags);
          results.get(kind)!.push(r);
          process.stderr.write(`${r.rss.toFixed(1)} KB RSS, ${r.heap.toFixed(1)} KB heap per stream (load ${load()})\n`);
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
      const bare = median(results.get('bare')!.map((r) => r.rss));
      const row = (kind: Kind) => {
        const rs = results.get(kind)!;
        const rss = median(rs.map((r) => r.rss));
        return `| ${labels[kind]} | ${rss.toFixed(1)} (${Math.min(...rs.map((r) => r.rss)).toFixed(1)}–${Math.max(...rs.map((r) => r.rss)).toFixed(1)}) | ${median(rs.map((r) => r.heap)).toFixed(1)} | ${(rss / bare).toFixed(2)} |`;
      };
      console.log(
        `\nMemory per idle stream at ${streams} streams, Node ${process.version} (median and range of ${rounds}; load ${load()}):\n`,
      );
      console.log('| server | RSS per stream (KB) | JS heap per stream (KB) | RSS ÷ node:http |');
      console.log('|---|---|---|---|');
      for (const kind of kinds) console.log(row(kind));
    }
  } finally {
    baseline?.cleanup();
  }
}
