// Replay from 0 of a large kept log (issue #14 item 5: ≤ 1.3× the floor): Herald from this tree and
// from a baseline revision, and the floor (bench/baselines/floor-server.ts: rows read and framed
// straight from SQLite), each replaying the same log to one raw reader, in shuffled rounds.
//
//   node bench/replay.ts [--events=N] [--rounds=N] [--baseline=REV] [--profile]
//   (default 100,000 events — what the shipped retention keeps —, 5 rounds, baseline main)
//
// The log is written once through EventLog (the file is what Herald writes); each server opens a
// copy. Figures: ms from connect to the last frame, per round, and each Herald's ratio to the
// floor in the same round. The load average is printed with them: the machine is shared.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventInput } from '../events/event.ts';
import { EventLog } from '../server/log.ts';
import { BenchChild, stopChildrenOnSignals } from './child.ts';
import type { ReplayResult } from './loadgen.ts';
import { median, shuffled } from './stats.ts';
import { startTreeServer, treeOf } from './trees.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const EVENTS = Number(arg('events') ?? 100_000);
const ROUNDS = Number(arg('rounds') ?? 5);
const BASELINE = arg('baseline') ?? 'main';
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** A log of `count` events as the start-up scenario writes it (a ~100-byte body each). */
export function writeLog(dir: string, count: number): void {
  const log = new EventLog({ dataDir: dir, retention: { maxEvents: 0, maxAgeMs: 0 } });
  try {
    for (let written = 0; written < count; written += 10_000) {
      const inputs: EventInput[] = [];
      for (let i = written; i < Math.min(count, written + 10_000); i++)
        inputs.push({ type: 'notification', topic: 'default', title: 'bench', body: `seq=${i} ${'x'.repeat(100)}`, priority: 3 });
      log.append(inputs);
    }
  } finally {
    log.close();
  }
}

async function replayThrough(url: URL, events: number): Promise<ReplayResult> {
  const lg = await BenchChild.spawn({
    name: 'loadgen',
    script: path.join(here, 'loadgen.ts'),
    args: [JSON.stringify({ host: url.hostname, port: Number(url.port), streamPath: '/events', publishPath: '/events' })],
  });
  try {
    return await lg.call<ReplayResult>('replay', { lastEventId: '0', expect: events, timeoutMs: 120_000 }, 150_000);
  } finally {
    await lg.kill();
  }
}

function copyLog(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) if (name.startsWith('herald.db')) fs.copyFileSync(path.join(from, name), path.join(to, name));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  stopChildrenOnSignals();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-replay-'));
  const baseline = treeOf(BASELINE);
  try {
    const source = path.join(work, 'log');
    process.stderr.write(`replay: writing ${EVENTS.toLocaleString('en-US')} events; load ${load()}\n`);
    writeLog(source, EVENTS);
    const kinds = ['this tree', `baseline ${BASELINE}`, 'floor'];
    const ms = new Map<string, number[]>(kinds.map((k) => [k, []]));
    const loads: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of shuffled(kinds)) {
        const dir = path.join(work, `run-${round}-${kind.replace(/\W+/g, '-')}`);
        copyLog(source, dir);
        let child: BenchChild;
        let url: URL;
        if (kind === 'floor') {
          child = await BenchChild.spawn({
            name: 'floor',
            script: path.join(here, 'server-child.ts'),
            args: ['floor', JSON.stringify({ replayFrom: path.join(dir, 'herald.db') })],
          });
          url = new URL(String(child.ready.url));
        } else {
          const flags =
            args.includes('--profile') && kind === 'this tree'
              ? ['--cpu-prof', `--cpu-prof-dir=${path.join(here, 'results', 'profiles')}`]
              : [];
          ({ child, url } = await startTreeServer(kind === 'this tree' ? treeOf(undefined).root : baseline.root, dir, flags));
        }
        try {
          const r = await replayThrough(url, EVENTS);
          if (r.allFramesMs === null) throw new Error(`${kind}: only ${r.frames} of ${EVENTS} frames arrived`);
          ms.get(kind)!.push(r.allFramesMs);
        } finally {
          await child.kill(15_000);
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      loads.push(load());
      process.stderr.write(
        `round ${round}/${ROUNDS}: ${kinds.map((k) => `${k} ${Math.round(ms.get(k)!.at(-1)!)} ms`).join(', ')}; load ${load()}\n`,
      );
    }
    const ratio = (k: string) => ms.get(k)!.map((x, i) => x / ms.get('floor')![i]!);
    const fmt = (xs: number[], digits = 0) =>
      `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
    console.log(
      `\nReplay from 0 of ${EVENTS.toLocaleString('en-US')} events to one reader, ${ROUNDS} rounds, Node ${process.version} (median (range)):\n`,
    );
    console.log('| server | ms to the last frame | ÷ floor, same round |');
    console.log('|---|---|---|');
    for (const k of kinds) console.log(`| ${k} | ${fmt(ms.get(k)!)} | ${k === 'floor' ? '' : fmt(ratio(k), 2)} |`);
    console.log(
      `\nGoal (issue #14): Herald ≤ 1.3× the floor. Load average (1, 5, 15 min) after each round: ${loads.join('; ')}${Number(loads.at(-1)!.split(' ')[0]) > 1 ? ' — the machine was not quiet: read the ratios, not the milliseconds' : ''}`,
    );
  } finally {
    baseline.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
