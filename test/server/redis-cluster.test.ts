// Two Herald server processes on one Redis Stream behind a round-robin TCP proxy (no sticky
// sessions), under load: 4 publishers (Idempotency-Key, retried until answered) and 20
// subscribers (16 plain eventsource clients, 4 of the project's FeedClient) whose connections are
// cut at random moments and land on either server. Every subscriber must end with every
// acknowledged event exactly once, in order: with random cuts alone, with one server killed (-9)
// mid-run, and with Redis killed (-9) and started again mid-run.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { FeedClient, type Cursor } from '../../feed/client.ts';
import { listen, waitFor } from './harness.ts';
import { startRedis, startRoundRobinProxy, type RoundRobinProxy, type TestRedis } from './redis-harness.ts';

const entry = fileURLToPath(new URL('./fixtures/redis-serve-child.ts', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface HeraldChild {
  child: ChildProcess;
  url: string;
  port: number;
  stderr(): string;
}

async function spawnHerald(redisUrl: string, key: string): Promise<HeraldChild> {
  const child = spawn(process.execPath, [entry, JSON.stringify({ url: redisUrl, key })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  cleanups.push(() => killHard(child));
  const { url, port } = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { url: string; port: number });
    });
    child.once('exit', (code) => reject(new Error(`herald child exited (${code}): ${stderr}`)));
  });
  return { child, url, port, stderr: () => stderr };
}

function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

interface Run {
  redis: TestRedis;
  heralds: HeraldChild[];
  proxy: RoundRobinProxy;
  /** Ids answered 201 or 200 (a repeat of a publish whose first answer was lost). */
  acknowledged: Set<string>;
  /** Answers other than 201/200 seen by publishers (503 while Redis is down), by status. */
  refusals: Map<number, number>;
  subscribers: Array<{ name: string; ids(): string[] }>;
  stopPublishing(): Promise<void>;
  stopCutting(): void;
}

async function startRun(): Promise<Run> {
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const key = 'cluster:events';
  const heralds = [await spawnHerald(redis.url, key), await spawnHerald(redis.url, key)];
  const proxy = await startRoundRobinProxy(heralds.map((h) => h.port));
  cleanups.push(() => proxy.close());

  const acknowledged = new Set<string>();
  const refusals = new Map<number, number>();
  let publishing = true;
  const publishers = Array.from({ length: 4 }, async (_, p) => {
    for (let n = 0; publishing; n++) {
      const idempotencyKey = `p${p}-${n}`;
      // Retried with the same key until answered: a 201 whose answer was cut is a 200 next time.
      for (;;) {
        try {
          const res = await fetch(`${proxy.url}/events`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
            body: JSON.stringify({ title: `publisher ${p} event ${n}` }),
          });
          const text = await res.text();
          if (res.status === 201 || res.status === 200) {
            acknowledged.add((JSON.parse(text) as HeraldEvent).id);
            break;
          }
          refusals.set(res.status, (refusals.get(res.status) ?? 0) + 1);
          if (res.status === 503)
            expect(JSON.parse(text)).toMatchObject({
              error: { code: 'store_unavailable', message: expect.stringContaining('The event store (Redis at') },
            });
        } catch {
          // The proxy cut the connection, or the server behind it died: try again.
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 15));
    }
  });

  const subscribers: Run['subscribers'] = [];
  for (let i = 0; i < 16; i++) {
    const client = listen(`${proxy.url}/events?lastEventId=0`);
    cleanups.push(() => client.close());
    subscribers.push({ name: `eventsource ${i}`, ids: () => client.received.map((r) => r.lastEventId) });
  }
  for (let i = 0; i < 4; i++) {
    // From the start, as the eventsource clients (lastEventId=0): a client without a cursor would
    // start at whatever was newest when its first connection opened.
    let cursor: Cursor = { lastEventId: '0' };
    const handled: string[] = [];
    const feed = new FeedClient({
      url: proxy.url,
      cursor: { load: () => cursor, save: (next) => (cursor = next) },
      onEvent: (event) => {
        handled.push(event.id);
      },
      minBackoffMs: 50,
      maxBackoffMs: 500,
      heartbeatTimeoutMs: 5000,
    });
    feed.start();
    cleanups.push(() => feed.stop());
    subscribers.push({ name: `FeedClient ${i}`, ids: () => handled });
  }

  let cutting = true;
  void (async () => {
    while (cutting) {
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 120));
      if (cutting) proxy.cutOne();
    }
  })();

  return {
    redis,
    heralds,
    proxy,
    acknowledged,
    refusals,
    subscribers,
    async stopPublishing() {
      publishing = false;
      await Promise.all(publishers);
    },
    stopCutting() {
      cutting = false;
    },
  };
}

/** Stops the load and checks that every subscriber has every acknowledged event once, in order. */
async function finish(run: Run): Promise<void> {
  await run.stopPublishing();
  run.stopCutting();
  const expected = [...run.acknowledged].sort((a, b) => Number(a) - Number(b));
  const last = expected.at(-1)!;
  // Nothing was stored that no publisher holds an answer for: each was retried until answered.
  expect(expected).toEqual(Array.from({ length: expected.length }, (_, i) => String(i + 1)));
  for (const subscriber of run.subscribers) {
    await waitFor(() => subscriber.ids().at(-1) === last, `${subscriber.name} reached ${last} (has ${subscriber.ids().length})`, 30_000);
    expect(subscriber.ids(), subscriber.name).toEqual(expected);
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets the load run for at least `ms`, and until `more` events more were acknowledged (a loaded machine is slower). */
async function runFor(run: Run, ms: number, more: number): Promise<void> {
  const target = run.acknowledged.size + more;
  await pause(ms);
  await waitFor(() => run.acknowledged.size >= target, `${target} acknowledged events (have ${run.acknowledged.size})`, 60_000);
}

// Three processes under load for seconds each: past vitest's 30 s default on a loaded 2-core machine.
describe('two servers behind a round-robin proxy', { timeout: 120_000 }, () => {
  it('gives 20 subscribers reconnecting at random moments, landing on either server, every acknowledged event exactly once, in order', async () => {
    const run = await startRun();
    await runFor(run, 4000, 60);
    // The cuts spread the reconnections over both servers: each has taken over 20 of them (a
    // loaded machine cuts less often, so this waits for the count rather than for a time).
    await waitFor(() => Math.min(...run.proxy.counts) > 20, 'over 20 connections on each server', 60_000);
    await finish(run);
  });

  it('loses nothing when one server is killed (-9) mid-run: its subscribers resume on the other', async () => {
    const run = await startRun();
    await runFor(run, 2000, 30);
    const [dying, surviving] = run.heralds;
    run.proxy.setTargets([undefined, surviving!.port]);
    await killHard(dying!.child);
    await runFor(run, 2500, 30);
    await finish(run);
  });

  it('keeps every acknowledged event when Redis is killed (-9) and started again mid-run; publishes meanwhile get 503; subscribers resume', async () => {
    const run = await startRun();
    await runFor(run, 1500, 30);
    await run.redis.kill();
    const downAt = Date.now();
    await waitFor(() => (run.refusals.get(503) ?? 0) >= 4, 'publishes refused with 503 while Redis is down', 15_000);
    // /health on each server says the store is down.
    for (const herald of run.heralds) {
      const health = await fetch(`${herald.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'store_unreachable', store: { kind: 'redis', up: false } });
    }
    await pause(Math.max(0, 1000 - (Date.now() - downAt)));
    await run.redis.restart();
    await runFor(run, 2500, 30);
    await finish(run);
    for (const herald of run.heralds) {
      expect(herald.child.exitCode).toBeNull();
      expect(herald.stderr()).toMatch(/\) is back$/m);
    }
  });
});
