// Herald on a Redis Stream against Herald on SQLite, and two servers sharing a load against one:
// `node bench/redis.ts` (about a minute and a half at the defaults; `--subscribers=N` (2000),
// `--publish-ms=N` (5000), `--concurrency=N` (16), `--events=N` (200), `--rate=N` (50/s)).
//
// Every server is a real `herald serve` in its own process (bench/server-child.ts), driven with the
// same raw-socket load generator as `npm run bench` (bench/loadgen.ts), against a redis-server this
// script starts in a temp dir (the tests' starter, test/server/redis-harness.ts). Named baselines,
// all in this run:
//
// 1. Durable publishes/s and ack p99, one server, closed loop (`concurrency` publishers for
//    `publish-ms`), in two pairs of equal durability:
//    - survives a power cut: SQLite with fsync (synchronous=FULL) vs Redis appendfsync always;
//    - survives the process being killed: SQLite's default (synchronous=NORMAL, WAL) vs Redis
//      appendfsync everysec.
//    The goal: Redis ack p99 within 1.5x of SQLite's.
// 2. Broadcast latency at `subscribers` subscribers, `events` events at `rate`/s published to
//    server A: all subscribers on A (one server, the baseline) vs half on A and half on B (two
//    servers on one stream: B's events come through its own XREAD). Both on Redis; SQLite's one
//    server beside them for reference. The goal: two servers' p99 no worse than one's.
//
// Prints the load average with the figures: on a shared 2-core machine, every process here (two
// servers, Redis, the load generator) competes for the same two cores, so the ratios say more
// than the absolute numbers (see "What the figures mean" printed at the end).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchChild, fileLimit } from './child.ts';
import type { BroadcastResult, LoadTarget, PublishLoadResult } from './loadgen.ts';
import { tail } from './scenarios.ts';
import { backs, type LatencySummary } from './stats.ts';
import { startRedis, type TestRedis } from '../test/server/redis-harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

const arg = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 1) {
    process.stderr.write(`bench/redis: --${name} takes a positive number, got ${raw}\n`);
    process.exit(2);
  }
  return n;
};
const subscribers = arg('subscribers', 2000);
const publishMs = arg('publish-ms', 5000);
const concurrency = arg('concurrency', 16);
const events = arg('events', 200);
const rate = arg('rate', 50);
const limit = fileLimit(subscribers + 1000);

interface ServerConfig {
  label: string;
  /** Options merged into the server's startServer options (see server-child.ts). */
  options: Record<string, unknown>;
}

const loads: number[][] = [];
const load = () => {
  const now = os.loadavg().map((n) => Math.round(n * 100) / 100);
  loads.push(now);
  return now.join(' ');
};

async function startHerald(config: ServerConfig): Promise<{ child: BenchChild; target: LoadTarget }> {
  const child = await BenchChild.spawn({
    name: config.label,
    script: path.join(here, 'server-child.ts'),
    args: ['herald', JSON.stringify(config.options)],
    limit,
  });
  const url = new URL(String(child.ready.url));
  return { child, target: { host: url.hostname, port: Number(url.port), streamPath: '/events', publishPath: '/events' } };
}

async function publishScenario(config: ServerConfig): Promise<PublishLoadResult> {
  const { child, target } = await startHerald(config);
  const loadgen = await BenchChild.spawn({ name: 'loadgen', script: path.join(here, 'loadgen.ts'), args: [JSON.stringify(target)], limit });
  try {
    // A short warm-up (JIT, Redis's script cache, SQLite's pages), not counted.
    await loadgen.call('publishLoad', { concurrency, durationMs: 500 }, 60_000);
    return await loadgen.call<PublishLoadResult>('publishLoad', { concurrency, durationMs: publishMs }, publishMs + 60_000);
  } finally {
    await loadgen.kill();
    await child.kill();
  }
}

async function broadcastScenario(configs: ServerConfig[], split: boolean): Promise<BroadcastResult> {
  const servers = [];
  for (const config of configs) servers.push(await startHerald(config));
  const loadgen = await BenchChild.spawn({
    name: 'loadgen',
    script: path.join(here, 'loadgen.ts'),
    args: [JSON.stringify(servers[0]!.target)],
    limit,
  });
  try {
    const shares = split
      ? servers.map((_, i) => Math.floor(subscribers / servers.length) + (i < subscribers % servers.length ? 1 : 0))
      : [subscribers];
    for (let i = 0; i < shares.length; i++) {
      await loadgen.call('target', servers[i]!.target);
      const opened = await loadgen.call<{ opened: number; failed: number }>('open', { count: shares[i], timeoutMs: 90_000 }, 120_000);
      if (opened.failed > 0) throw new Error(`${opened.failed} of ${shares[i]} subscribers could not connect to ${configs[i]!.label}`);
    }
    await loadgen.call('warmup', { timeoutMs: 20_000 }, 60_000);
    // Published to the first server in every case: with two, the second's subscribers get each
    // event through Redis (the second server's XREAD), as they would behind a load balancer.
    await loadgen.call('target', servers[0]!.target);
    return await loadgen.call<BroadcastResult>('broadcast', { rate, count: events, padBytes: 100, drainMs: 8000 }, 180_000);
  } finally {
    await loadgen.kill();
    for (const server of servers) await server.child.kill();
  }
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

async function main(): Promise<void> {
  process.stdout.write(
    `bench/redis: ${os.cpus().length} cores, load average ${load()} (1, 5, 15 min); ${limit.note}\n` +
      `publish: ${concurrency} publishers for ${publishMs} ms per server; broadcast: ${events} events at ${rate}/s to ${subscribers} subscribers\n\n`,
  );
  const always = await startRedis();
  let everysec: TestRedis | undefined;
  try {
    everysec = await startRedis(['--appendfsync', 'everysec']);
    const redisOf = (redis: TestRedis, key: string) => ({ redis: { url: redis.url, key } });

    // 1. Durable publishes, one server.
    const pairs: Array<[string, ServerConfig, ServerConfig]> = [
      [
        'survives a power cut',
        { label: 'sqlite fsync', options: { fsync: true } },
        { label: 'redis always', options: redisOf(always, 'bench:publish-always') },
      ],
      [
        'survives a killed process',
        { label: 'sqlite default', options: {} },
        { label: 'redis everysec', options: redisOf(everysec, 'bench:publish-everysec') },
      ],
    ];
    process.stdout.write('1. durable publishes, one server (closed loop)\n');
    for (const [durability, sqlite, redis] of pairs) {
      const base = await publishScenario(sqlite);
      const onRedis = await publishScenario(redis);
      for (const [config, r] of [
        [sqlite, base],
        [redis, onRedis],
      ] as const) {
        process.stdout.write(
          `   ${durability.padEnd(26)} ${config.label.padEnd(15)} ${fmt(r.perSecond).padStart(7)} publishes/s   ack p50 ${fmt(r.ack.p50).padStart(6)} ms  p99 ${fmt(r.ack.p99).padStart(6)} ms  errors ${r.errors}   (load ${load()})\n`,
        );
      }
      process.stdout.write(
        `   ${''.padEnd(26)} redis/sqlite: publishes/s ${ratio(onRedis.perSecond, base.perSecond)}, ack p99 ${ratio(onRedis.ack.p99, base.ack.p99)} (goal: ack p99 within 1.50x)\n`,
      );
    }

    // 2. Broadcast: one server vs two sharing the subscribers.
    process.stdout.write(`\n2. broadcast to ${subscribers} subscribers, published to server A\n`);
    const one = await broadcastScenario([{ label: 'redis A', options: redisOf(always, 'bench:broadcast-one') }], false);
    const two = await broadcastScenario(
      [
        { label: 'redis A', options: redisOf(always, 'bench:broadcast-two') },
        { label: 'redis B', options: redisOf(always, 'bench:broadcast-two') },
      ],
      true,
    );
    const sqlite = await broadcastScenario([{ label: 'sqlite A', options: {} }], false);
    for (const [label, r] of [
      ['sqlite, one server (reference)', sqlite],
      ['redis, one server (baseline)', one],
      ['redis, two servers, half each', two],
    ] as const) {
      process.stdout.write(
        `   ${label.padEnd(32)} delivery p50 ${fmt(r.latency.p50).padStart(6)} ms  ${tail(r.latency, 0.99)} ms  last subscriber ${tail(r.lastSubscriber, 0.99)} ms  delivered ${r.delivered}/${r.expected}  missing ${r.missing}   (load ${load()})\n`,
      );
    }
    // A p99 only where the samples back it (bench/stats.ts), else the maximum, as the lines above say.
    const tailOf = (x: LatencySummary) => (backs(x.count, 0.99) ? x.p99 : x.max);
    process.stdout.write(
      `   two/one: delivery ${ratio(tailOf(two.latency), tailOf(one.latency))}, last subscriber ${ratio(tailOf(two.lastSubscriber), tailOf(one.lastSubscriber))} (p99, or max where too few samples; goal: no worse than 1.00x)\n`,
    );
  } finally {
    await everysec?.stop();
    await always.stop();
  }
  const worst = Math.max(...loads.map((l) => l[0]!));
  process.stdout.write(
    `\nload average during the run: highest 1-min ${worst} on ${os.cpus().length} cores${worst > os.cpus().length ? ' (a loaded machine: rerun on a quiet one before reading the absolute figures)' : ''}\n` +
      'What the figures mean: here two Herald servers, Redis and the load generator share the same cores, so two servers\n' +
      'cannot show more capacity than one: the broadcast ratio says what the Redis hop (XREAD on the second server)\n' +
      'costs in latency. In a deployment each server has its own cores (another machine, or --reuse-port processes on a\n' +
      'bigger one) and Redis its own, so two servers hold twice the subscribers at the same per-server cost, and a\n' +
      "publish's ack is one Redis round trip on the network (add its RTT to the ack figures above).\n",
  );
}

await main();
