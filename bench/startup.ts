// Start-up and replay with a large log: how long `herald serve` (the shipped command, prebuilt)
// takes from spawn to its first 200 from /health, with an empty log and with a log of
// plan.startup.largeLog events, against a bare node:http server (bench/bare-server.mjs) started
// the same way in the same rounds; and a replay from 0 of what that log keeps (shipped retention:
// the newest 100,000) through Herald and through the floor server reading the same file.
// Goals (issue #14): start to /health ≤ 1.5× the bare server with either log; replay ≤ 1.3× the floor.
//
// On its own, start-up only, this tree against a baseline revision in the same shuffled rounds
// (the baseline's CLI is built in a temp copy, as `npm ci` builds it):
//   node bench/startup.ts [--rounds=N] [--events=N] [--baseline=REV]   (default 3 rounds, 1M events, main)
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventInput } from '../events/event.ts';
import { EventLog } from '../server/log.ts';
import { BenchChild } from './child.ts';
import type { ReplayResult } from './loadgen.ts';
import { loadNow } from './load.ts';
import type { RunContext } from './scenarios.ts';
import { judge, shuffled, type Judgement } from './stats.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const HERALD = path.join(here, '..', 'bin', 'herald.js');

export interface StartupResult {
  rounds: number;
  largeLog: number;
  /** Per round, ms from spawn to the first 200 from /health. */
  bare: number[];
  emptyLog: number[];
  largeLogMs: number[];
  /** Per round with the large log: ms from spawn until /health counted no more than the retention bound. */
  prunedMs: number[];
  /** What the large log keeps once pruned (storedEvents in /health). */
  kept: number;
  replay?: { events: number; herald: ReplayResult; floor: ReplayResult };
  goals: Array<{ goal: string; limit: number; values: number[]; judgement: Judgement; basis: string }>;
}

export async function runStartupScenario(context: RunContext): Promise<StartupResult> {
  const { rounds, largeLog } = context.plan.startup;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-startup-'));
  try {
    const source = path.join(work, 'large');
    context.progress(`  start-up: writing a log of ${largeLog.toLocaleString('en-US')} events (${loadNow()})`);
    makeLog(source, largeLog, context.progress);
    const result: StartupResult = { rounds, largeLog, bare: [], emptyLog: [], largeLogMs: [], prunedMs: [], kept: 0, goals: [] };
    // One start first, not measured: it fills the compile cache as a user's first start does.
    await stop((await startAndTime('herald', path.join(work, 'warm'))).child);

    for (let round = 1; round <= rounds; round++) {
      for (const which of shuffled(['bare', 'empty', 'large'] as const)) {
        const dir = path.join(work, `${which}-${round}`);
        if (which === 'large') copyLog(source, dir);
        const started = await startAndTime(which === 'bare' ? 'bare' : 'herald', dir);
        try {
          if (which === 'bare') result.bare.push(started.ms);
          if (which === 'empty') result.emptyLog.push(started.ms);
          if (which === 'large') {
            result.largeLogMs.push(started.ms);
            const pruned = await waitForPrune(started.url, started.spawnedAt);
            result.prunedMs.push(pruned.ms);
            result.kept = pruned.kept;
            if (round === rounds) result.replay = await replays(started, dir, pruned.kept, context);
          }
        } finally {
          await stop(started.child);
          if (which !== 'bare') fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      context.progress(
        `  start-up round ${round}/${rounds}: bare ${fmtMs(result.bare.at(-1))}, empty log ${fmtMs(result.emptyLog.at(-1))}, ${largeLog.toLocaleString('en-US')} events ${fmtMs(result.largeLogMs.at(-1))} (pruned to ${result.kept.toLocaleString('en-US')} after ${fmtMs(result.prunedMs.at(-1))}) (${loadNow()})`,
      );
    }
    const ratio = (xs: number[]) => xs.map((x, i) => x / result.bare[i]!);
    const goal = (text: string, limit: number, values: number[], basis: string) => ({
      goal: text,
      limit,
      values,
      judgement: judge(values, limit, 'lower'),
      basis,
    });
    const perRound = `the ratio to the bare server's start in the same round, ${rounds} round${rounds > 1 ? 's' : ''}`;
    result.goals.push(goal('start to /health, empty log, ≤ 1.5× a bare node:http server', 1.5, ratio(result.emptyLog), perRound));
    result.goals.push(
      goal(
        `start to /health, ${largeLog.toLocaleString('en-US')} events, ≤ 1.5× a bare node:http server`,
        1.5,
        ratio(result.largeLogMs),
        perRound,
      ),
    );
    if (result.replay) {
      const { herald, floor } = result.replay;
      result.goals.push(
        goal(
          `replay from 0 of the ${result.replay.events.toLocaleString('en-US')} events kept, ≤ 1.3× the floor reading the same file`,
          1.3,
          [(herald.allFramesMs ?? NaN) / (floor.allFramesMs ?? NaN)],
          'one replay through each, until the last frame',
        ),
      );
    }
    return result;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Replays the whole kept log through Herald (running) and then the floor on the same file. */
async function replays(herald: Started, dir: string, events: number, context: RunContext): Promise<NonNullable<StartupResult['replay']>> {
  const through = async (url: string) => {
    const u = new URL(url);
    const lg = await BenchChild.spawn({
      name: 'loadgen',
      script: path.join(here, 'loadgen.ts'),
      args: [JSON.stringify({ host: u.hostname, port: Number(u.port), streamPath: '/events', publishPath: '/events' })],
    });
    try {
      return await lg.call<ReplayResult>('replay', { lastEventId: '0', expect: events, timeoutMs: 120_000 }, 150_000);
    } finally {
      await lg.kill();
    }
  };
  const heraldReplay = await through(herald.url);
  await stop(herald.child);
  const floor = await BenchChild.spawn({
    name: 'floor',
    script: path.join(here, 'server-child.ts'),
    args: ['floor', JSON.stringify({ replayFrom: path.join(dir, 'herald.db') })],
  });
  try {
    const floorReplay = await through(String(floor.ready.url));
    context.progress(
      `  replay from 0 of ${events.toLocaleString('en-US')} events: Herald ${fmtMs(heraldReplay.allFramesMs ?? undefined)} (${heraldReplay.frames} frames), floor ${fmtMs(floorReplay.allFramesMs ?? undefined)} (${floorReplay.frames} frames)`,
    );
    return { events, herald: heraldReplay, floor: floorReplay };
  } finally {
    await floor.kill();
  }
}

interface Started {
  child: ChildProcess;
  url: string;
  spawnedAt: number;
  ms: number;
}

/** Spawns the server, reads the URL it prints, and times spawn → first 200 from /health. */
async function startAndTime(which: 'herald' | 'bare', dir: string, herald = HERALD): Promise<Started> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_') && k !== 'NODE_OPTIONS') env[k] = v;
  const args = which === 'bare' ? [path.join(here, 'bare-server.mjs')] : [herald, 'serve', '--port', '0', '--data-dir', dir];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const line = out.split('\n')[0]!;
      if (out.includes('\n')) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`${which} server exited with ${code} before printing its URL: ${stderr}`)));
  });
  for (;;) {
    const status = await getHealth(url).then(
      (h) => h.status,
      () => 0,
    );
    if (status === 200) return { child, url, spawnedAt, ms: performance.now() - spawnedAt };
    if (child.exitCode !== null) throw new Error(`${which} server exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Polls /health until the log holds no more than retention keeps (storedEvents ≤ 100,000). */
async function waitForPrune(url: string, spawnedAt: number): Promise<{ ms: number; kept: number }> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const { body } = await getHealth(url);
    const stored = (JSON.parse(body) as { storedEvents?: number }).storedEvents ?? NaN;
    if (stored <= 100_000) return { ms: performance.now() - spawnedAt, kept: stored };
    if (performance.now() > deadline) throw new Error(`the log still held ${stored} events two minutes after start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function getHealth(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/health`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A log of `count` events through EventLog itself (so the file is exactly what Herald writes), retention off while writing. */
function makeLog(dir: string, count: number, progress: (line: string) => void): void {
  const log = new EventLog({ dataDir: dir, retention: { maxEvents: count + 1, maxAgeMs: 0 } });
  try {
    const batch = 10_000;
    for (let written = 0; written < count; written += batch) {
      const inputs: EventInput[] = [];
      for (let i = written; i < Math.min(count, written + batch); i++)
        inputs.push({ type: 'notification', topic: 'default', title: 'bench', body: `seq=${i} ${'x'.repeat(100)}`, priority: 3 });
      log.append(inputs);
      if ((written + batch) % 250_000 === 0) progress(`    ${(written + batch).toLocaleString('en-US')} events written (${loadNow()})`);
    }
  } finally {
    log.close();
  }
}

/**
 * Copies the log and waits until the copy is on disk, as a user's log is when the server starts.
 * Unsynced, the ~300 MB just copied were still dirty in the page cache, and the first WAL
 * checkpoint's fsync of herald.db (the retention steps start once the server listens) waited for
 * the kernel to write them all: ~100 ms added to "start to /health" that were this benchmark's own
 * copy, not Herald's start (issue #14's notes have both figures).
 */
function copyLog(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    if (!name.startsWith('herald.db')) continue;
    fs.copyFileSync(path.join(from, name), path.join(to, name));
    const fd = fs.openSync(path.join(to, name), 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '–' : `${Math.round(ms)} ms`;
}

/** Start-up alone, this tree against a baseline revision (see the header). */
async function compareStartup(rounds: number, events: number, rev: string): Promise<void> {
  const { treeOf } = await import('./trees.ts');
  const { execFileSync } = await import('node:child_process');
  const { median } = await import('./stats.ts');
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const baseline = treeOf(rev);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-startup-'));
  try {
    execFileSync(process.execPath, [path.join(baseline.root, 'cli', 'build.ts')], { cwd: baseline.root, stdio: 'ignore' });
    const source = path.join(work, 'large');
    process.stderr.write(`start-up: writing ${events.toLocaleString('en-US')} events; load ${load()}\n`);
    makeLog(source, events, (line) => process.stderr.write(`${line}\n`));
    const variants = [
      { key: 'bare', label: 'bare node:http (bench/bare-server.mjs)' },
      { key: 'this-empty', label: '`herald serve`, this tree, empty log', bin: HERALD },
      { key: 'this-large', label: `\`herald serve\`, this tree, ${events.toLocaleString('en-US')} events`, bin: HERALD, large: true },
      { key: 'base-empty', label: `\`herald serve\`, ${rev}, empty log`, bin: path.join(baseline.root, 'bin', 'herald.js') },
      {
        key: 'base-large',
        label: `\`herald serve\`, ${rev}, ${events.toLocaleString('en-US')} events`,
        bin: path.join(baseline.root, 'bin', 'herald.js'),
        large: true,
      },
    ];
    const ms = new Map<string, number[]>(variants.map((v) => [v.key, []]));
    const loads: string[] = [];
    // Warm each CLI's compile cache once, unmeasured.
    for (const bin of [HERALD, path.join(baseline.root, 'bin', 'herald.js')])
      await stop((await startAndTime('herald', path.join(work, `warm-${ms.size}-${bin.length}`), bin)).child);
    for (let round = 1; round <= rounds; round++) {
      for (const v of shuffled(variants)) {
        const dir = path.join(work, `${v.key}-${round}`);
        if (v.large) copyLog(source, dir);
        const started = await startAndTime(v.bin ? 'herald' : 'bare', dir, v.bin);
        ms.get(v.key)!.push(started.ms);
        await stop(started.child);
        fs.rmSync(dir, { recursive: true, force: true });
      }
      loads.push(load());
      process.stderr.write(
        `round ${round}/${rounds}: ${variants.map((v) => `${v.key} ${Math.round(ms.get(v.key)!.at(-1)!)} ms`).join(', ')}; load ${load()}\n`,
      );
    }
    const bare = ms.get('bare')!;
    const fmt = (xs: number[], digits = 0) =>
      `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
    console.log(`\nStart to the first 200 from /health, ${rounds} rounds, Node ${process.version} (median (range)):\n`);
    console.log('| server | ms | ÷ bare, same round |');
    console.log('|---|---|---|');
    for (const v of variants)
      console.log(
        `| ${v.label} | ${fmt(ms.get(v.key)!)} | ${
          v.key === 'bare'
            ? ''
            : fmt(
                ms.get(v.key)!.map((x, i) => x / bare[i]!),
                2,
              )
        } |`,
      );
    console.log(
      `\nGoal (issue #14): ≤ 1.5× the bare server with either log. Load average (1, 5, 15 min) after each round: ${loads.join('; ')}${Number(loads.at(-1)!.split(' ')[0]) > 1 ? ' — the machine was not quiet: read the ratios, not the milliseconds' : ''}`,
    );
  } finally {
    baseline.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  await compareStartup(Number(flag('rounds') ?? 3), Number(flag('events') ?? 1_000_000), flag('baseline') ?? 'main');
}
