// One server on a Redis that goes away and comes back (kill -9, then started on the same files):
// what a publisher, /health and an open stream see meanwhile; and the two Redis connections a
// server holds, whatever its number of subscribers.
import { afterEach, describe, expect, it } from 'vitest';
import { publish, rawStream, startTestServer, waitFor, type TestServer } from './harness.ts';
import { startRedis, type TestRedis } from './redis-harness.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverOn(redis: TestRedis): Promise<TestServer> {
  const server = await startTestServer({ redis: { url: redis.url, readBlockMs: 200 }, heartbeatMs: 300 });
  cleanups.push(() => server.cleanup());
  return server;
}

describe('Redis going away and coming back', () => {
  it('answers publishes 503 naming the event store, says so in /health, keeps streams open with heartbeats, and goes on where it was', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const t = await serverOn(redis);
    const before = await publish(t.url, { title: 'before' });
    const stream = await rawStream(`${t.url}/events`, { 'Last-Event-ID': '0' });
    cleanups.push(() => stream.close());
    await waitFor(() => stream.text.includes(`id: ${before.id}\n`), 'the first event');

    await redis.kill();
    const refused = await fetch(`${t.url}/events`, { method: 'POST', body: 'during' });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('store_unavailable');
    expect(body.error.message).toContain(`The event store (Redis at ${redis.url}) cannot be reached`);
    expect(body.error.message).toContain('Nothing was stored');
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: 'store_unreachable',
      error: { code: 'store_unavailable' },
      store: { kind: 'redis', up: false },
    });

    // The stream stays open: heartbeats keep coming while Redis is away.
    const heard = stream.text.length;
    await waitFor(() => stream.text.slice(heard).includes(': heartbeat'), 'a heartbeat during the outage', 5000);
    expect(stream.ended).toBe(false);
    // A client that connects now gets its stream too, and its replay once Redis is back.
    const late = await rawStream(`${t.url}/events`, { 'Last-Event-ID': '0' });
    cleanups.push(() => late.close());
    expect(late.res.status).toBe(200);

    await redis.restart();
    await waitFor(() => t.lines.some((line) => line.endsWith(') is back')), 'the server reconnected', 15_000);
    const after = await publish(t.url, { title: 'after' });
    expect(Number(after.id)).toBe(Number(before.id) + 1);
    for (const s of [stream, late]) {
      await waitFor(() => s.text.includes(`id: ${after.id}\n`), 'the event published after the outage');
      const ids = [...s.text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
      expect(ids).toEqual([before.id, after.id]);
    }
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect(t.lines.filter((line) => line.includes('publishes get 503 until it is back'))).toHaveLength(1);
  });
});

describe('connections to Redis', () => {
  it('holds two per server (commands and the one blocking reader), however many subscribers it has', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const servers = [await serverOn(redis), await serverOn(redis)];
    const streams: Array<Awaited<ReturnType<typeof rawStream>>> = [];
    for (let i = 0; i < 30; i++) {
      const stream = await rawStream(`${servers[i % 2]!.url}/events`);
      cleanups.push(() => stream.close());
      streams.push(stream);
    }
    await publish(servers[0]!.url, { title: 'to all' });
    await waitFor(() => streams.every((s) => s.text.includes('id: 1\n')), 'every stream has the event');
    const clients = String(await redis.command('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => / name=herald-/.test(line));
    expect(clients.map((line) => / name=(\S+)/.exec(line)![1]).sort()).toEqual([
      'herald-commands',
      'herald-commands',
      'herald-reader',
      'herald-reader',
    ]);
  });
});
