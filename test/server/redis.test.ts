// Several Herald servers on one Redis Stream (a real redis-server the tests start, with
// appendfsync always): one feed whichever server a client talks to; idempotency keys, CI
// redelivery and the publish rate across servers; retention and gap; a deleted stream's reset;
// the replay/live seam under publishing on both servers; Redis going away and coming back.
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { sign } from '@octokit/webhooks-methods';
import type { WorkflowRunEvent } from '@octokit/webhooks-types';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { RedisStore } from '../../server/redis-store.ts';
import type { ServerOptions } from '../../server/serve.ts';
import { history, listen, publish, rawStream, startTestServer, waitFor, type TestServer } from './harness.ts';
import { freePort, redisCommands, startRedis, startSentinel, type TestRedis } from './redis-harness.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const servers: TestServer[] = [];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const server of servers.splice(0)) await server.cleanup();
});

let feeds = 0;
/** Two servers (or `count`) on one fresh stream of the shared Redis. */
async function feed(count = 2, options: ServerOptions = {}, url = redis.url): Promise<{ key: string; servers: TestServer[] }> {
  const key = `test${++feeds}:events`;
  const list: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    const server = await startTestServer({ redis: { url, key, readBlockMs: 200 }, retryMs: 100, ...options });
    servers.push(server);
    list.push(server);
  }
  return { key, servers: list };
}

const ids = (events: Array<{ id: string }>) => events.map((e) => e.id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('one feed on several servers', () => {
  it('is one feed: published on one server, streamed and listed by the other, ids in one increasing sequence', async () => {
    const {
      servers: [a, b],
    } = await feed();
    const onB = listen(`${b!.url}/events?lastEventId=0`);
    closers.push(() => onB.close());
    const published: HeraldEvent[] = [];
    for (let i = 0; i < 6; i++) published.push(await publish((i % 2 ? b : a)!.url, { title: `e${i}` }));
    expect(ids(published)).toEqual(range(1, 6));
    await waitFor(() => onB.received.length === 6, 'six events on B');
    expect(onB.events()).toEqual(published);
    const page = await history(a!.url);
    expect(page.events).toEqual(published);
    expect(page.epoch).toBe((await history(b!.url)).epoch);
    expect(page.epoch).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keeps ids increasing across a restart of every server (the counter lives in Redis)', async () => {
    const {
      key,
      servers: [a],
    } = await feed(1);
    const first = await publish(a!.url, { title: 'before' });
    await a!.cleanup();
    servers.splice(servers.indexOf(a!), 1);
    const again = await startTestServer({ redis: { url: redis.url, key, readBlockMs: 200 } });
    servers.push(again);
    const second = await publish(again.url, { title: 'after' });
    expect(Number(second.id)).toBe(Number(first.id) + 1);
    expect(ids((await history(again.url)).events)).toEqual([first.id, second.id]);
  });

  it('answers a repeat Idempotency-Key on the other server with the event stored first (200, same id), and 409 for another event', async () => {
    const {
      servers: [a, b],
    } = await feed();
    const first = await fetch(`${a!.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'job-42' },
      body: '{"title":"deployed"}',
    });
    const repeat = await fetch(`${b!.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'job-42' },
      body: '{"title":"deployed"}',
    });
    const other = await fetch(`${b!.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'job-42' },
      body: '{"title":"rolled back"}',
    });
    expect(first.status).toBe(201);
    expect(repeat.status).toBe(200);
    expect(repeat.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await repeat.json()).toEqual(await first.json());
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: { code: string; field: string } }).error).toMatchObject({
      code: 'conflict',
      field: 'Idempotency-Key',
    });
    expect((await history(b!.url)).events.map((e) => e.title)).toEqual(['deployed']);
  });

  it('stores a batch with the same key twice once, within one append (the second is a repeat)', async () => {
    const {
      servers: [a],
    } = await feed(1);
    const send = () =>
      fetch(`${a!.url}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'same-turn' },
        body: '{"title":"once"}',
      });
    const answers = await Promise.all([send(), send(), send()]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect((await history(a!.url)).events).toHaveLength(1);
  });

  it("takes a CI provider's redelivery on another server as the same event (the delivery id is the key)", async () => {
    const secret = 'hook secret';
    const {
      servers: [a, b],
    } = await feed(2, { githubSecret: secret });
    const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];
    const run = (examples.find((d) => d.name === 'workflow_run')!.examples as WorkflowRunEvent[]).find(
      (r) => r.action === 'completed' && r.workflow_run.conclusion === 'success',
    )!;
    const body = JSON.stringify(run);
    const deliver = async (url: string) => {
      const res = await fetch(`${url}/hooks/github`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-GitHub-Event': 'workflow_run',
          'X-GitHub-Delivery': 'delivery-7',
          'X-Hub-Signature-256': await sign(secret, body),
        },
        body,
      });
      return { status: res.status, event: (await res.json()) as HeraldEvent };
    };
    const first = await deliver(a!.url);
    const again = await deliver(b!.url);
    expect(first.status).toBe(201);
    expect(first.event.type).toMatch(/^job\./);
    expect(again).toEqual({ status: 200, event: first.event });
    expect((await history(a!.url)).events).toHaveLength(1);
  });

  it("keeps a client's publish rate in Redis: its budget is spent on either server", async () => {
    const {
      servers: [a, b],
    } = await feed(2, { publishRate: { capacity: 3, refillPerSecond: 0.01 } });
    const statuses: number[] = [];
    for (const server of [a, b, a, b]) {
      const res = await fetch(`${server!.url}/events`, { method: 'POST', body: 'x' });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('with --trust-proxy, keeps the rate per client behind a load balancer (X-Forwarded-For), not one bucket for the balancer', async () => {
    const rate = { capacity: 1, refillPerSecond: 0.01 };
    const {
      servers: [trusting],
    } = await feed(1, { publishRate: rate, trustProxy: ['loopback'] });
    const send = (server: TestServer, client: string) =>
      fetch(`${server.url}/events`, { method: 'POST', headers: { 'X-Forwarded-For': client }, body: 'x' }).then((r) => r.status);
    expect([await send(trusting!, '203.0.113.1'), await send(trusting!, '203.0.113.2'), await send(trusting!, '203.0.113.1')]).toEqual([
      201, 201, 429,
    ]);
    // Without it the header is not believed (anyone could send it): every request is the socket's address.
    const {
      servers: [plain],
    } = await feed(1, { publishRate: rate });
    expect([await send(plain!, '203.0.113.1'), await send(plain!, '203.0.113.2')]).toEqual([201, 429]);
  });

  it('with reusePort, runs two servers of one feed on the same port (one per core)', async () => {
    const first = await startTestServer({ redis: { url: redis.url, key: `test${++feeds}:events` }, reusePort: true });
    servers.push(first);
    const second = await startTestServer({
      redis: { url: redis.url, key: `test${feeds}:events` },
      port: first.server.port,
      reusePort: true,
    });
    servers.push(second);
    expect(second.server.port).toBe(first.server.port);
    const event = await publish(second.url, { title: 'either process' });
    expect((await history(first.url)).events).toEqual([event]);
  });

  it('says in /health which store it uses, where, and that it is up', async () => {
    const {
      key,
      servers: [a],
    } = await feed(1);
    await publish(a!.url, { title: 'one' });
    const res = await fetch(`${a!.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      storedEvents: 1,
      lastId: '1',
      store: { kind: 'redis', up: true, where: `${redis.url} key ${key}` },
    });
  });
});

describe('retention on Redis', () => {
  it('trims by count (XADD MAXLEN ~) with the keys of trimmed events, and owes an old cursor a gap, then the kept events', async () => {
    // Approximate trimming drops whole stream nodes (100 entries by default): keep 150 of 450.
    const {
      key,
      servers: [a, b],
    } = await feed(2, { retention: { maxEvents: 150 } });
    for (let i = 1; i <= 450; i++) {
      await fetch(`${(i % 2 ? a : b)!.url}/events`, { method: 'POST', headers: { 'Idempotency-Key': `k${i}` }, body: `n${i}` });
    }
    const kept = (await history(a!.url, 'after=0&limit=1000')).events;
    expect(kept.length).toBeGreaterThanOrEqual(150);
    expect(kept.length).toBeLessThan(450);
    expect(ids(kept)).toEqual(range(Number(kept[0]!.id), 450));
    // The trimmed events' idempotency keys went with them; the kept ones' are still there.
    const claims = (await redis.command('HLEN', `${key}:claims`)) as number;
    expect(claims).toBe(kept.length);
    const oldest = Number(kept[0]!.id);
    const client = listen(`${b!.url}/events?lastEventId=5`, { types: ['notification', 'herald.gap'] });
    closers.push(() => client.close());
    await waitFor(() => client.received.length === kept.length + 1, 'the gap and the kept events');
    const [gap, ...rest] = client.events();
    expect(gap).toMatchObject({
      type: 'herald.gap',
      id: String(oldest - 1),
      gap: { afterId: '5', throughId: String(oldest - 1), missed: oldest - 1 - 5 },
    });
    expect(ids(rest)).toEqual(ids(kept));
  });

  it('trims by age (XTRIM MINID): events older than the limit go, and a cursor before them gets a gap', async () => {
    const {
      servers: [a],
    } = await feed(1, { retention: { maxAgeMs: 1500 } });
    for (let i = 0; i < 5; i++) await publish(a!.url, { title: `old ${i}` });
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const fresh = await publish(a!.url, { title: 'fresh' });
    const page = await history(a!.url, 'after=2');
    expect(page.events.map((e) => e.title)).toEqual(['fresh']);
    expect(page.gap).toEqual({ afterId: '2', throughId: '5', missed: 3 });
    expect(fresh.id).toBe('6');
  });
});

describe('a Redis that lost acknowledged writes', () => {
  it('moves the counter past every id the server handed out, so that none is handed out twice', async () => {
    const {
      key,
      servers: [a],
    } = await feed(1);
    for (let i = 0; i < 3; i++) await publish(a!.url, { title: `kept ${i}` });
    // What a Redis without its append-only file looks like after a crash: the last events and the
    // counter's last steps are gone.
    await redis.command('XDEL', key, '2-0', '3-0');
    await redis.command('HSET', `${key}:meta`, 'seq', '1');
    await waitFor(() => a!.lines.some((line) => line.includes('had lost the newest 2 acknowledged event(s)')), 'the warning', 5000);
    const next = await publish(a!.url, { title: 'after the loss' });
    expect(next.id).toBe('4');
  });
});

describe('epoch', () => {
  it('gives a client of a deleted and recreated stream herald.reset, then the new stream; ids are not reused', async () => {
    const {
      key,
      servers: [a, b],
    } = await feed();
    for (let i = 0; i < 3; i++) await publish(a!.url, { title: `old ${i}` });
    const before = await history(a!.url);
    await redis.command('DEL', key);
    const after = await publish(b!.url, { title: 'new' });
    expect(Number(after.id)).toBeGreaterThan(3);
    const page = await history(a!.url);
    expect(page.epoch).not.toBe(before.epoch);
    expect(page.events.map((e) => e.title)).toEqual(['new']);
    // A client that was at id 3 of the old stream, as the desktop app resumes: cursor and epoch.
    const stream = await rawStream(`${a!.url}/events`, { 'Last-Event-ID': '3', 'Herald-Log-Epoch': before.epoch });
    closers.push(() => stream.close());
    await waitFor(() => stream.text.includes(`id: ${after.id}\n`), 'the new stream after the reset');
    expect(stream.res.headers.get('Herald-Log-Epoch')).toBe(page.epoch);
    const frames = stream.text.split('\n\n').filter((f) => f.includes('data:'));
    expect(frames[0]).toContain('event: herald.reset');
    expect(frames[0]).toContain(`"epoch":"${page.epoch}"`);
    expect(frames[1]).toContain(`id: ${after.id}`);
    expect(frames).toHaveLength(2);
  });

  it('ends the streams a server holds when its stream is replaced, so that their clients come back and get the reset', async () => {
    const {
      key,
      servers: [a],
    } = await feed(1);
    await publish(a!.url, { title: 'old' });
    // A browser EventSource resumes with Last-Event-ID; the epoch it started with stays in its URL.
    const { epoch } = await history(a!.url);
    const client = listen(`${a!.url}/events?lastEventId=0&epoch=${epoch}`, { types: ['notification', 'herald.reset'] });
    closers.push(() => client.close());
    await waitFor(() => client.received.length === 1, 'the old event');
    await redis.command('DEL', key);
    // The reader notices within its block time (200 ms here) and ends the stream; the client comes back.
    await waitFor(() => client.opens >= 2, 'the client reconnected', 15_000);
    await publish(a!.url, { title: 'new' });
    await waitFor(() => client.events().some((e) => e.title === 'new'), 'the new event');
    expect(client.events().map((e) => e.title)).toEqual(['old', "The server's event log was reset", 'new']);
  });
});

describe('the replay/live seam across servers', () => {
  it('gives a client that resumes on one server while both publish every event once, in order', async () => {
    const {
      servers: [a, b],
    } = await feed();
    for (let i = 0; i < 600; i++) await fetch(`${(i % 2 ? a : b)!.url}/events`, { method: 'POST', body: `before ${i}` });
    let publishing = true;
    let acknowledged = 600;
    const publishers = [a, b].map(async (server) => {
      while (publishing) {
        const res = await fetch(`${server!.url}/events`, { method: 'POST', body: 'during' });
        if (res.status === 201) acknowledged += 1;
      }
    });
    const clients = [];
    for (let i = 0; i < 6; i++) {
      // Resume from different places, on both servers, while events arrive.
      const client = listen(`${(i % 2 ? a : b)!.url}/events?lastEventId=${i * 97}`);
      closers.push(() => client.close());
      clients.push({ client, from: i * 97 });
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    publishing = false;
    await Promise.all(publishers);
    const last = acknowledged;
    for (const { client, from } of clients) {
      await waitFor(() => client.received.at(-1)?.lastEventId === String(last), `client from ${from} reached ${last}`, 20_000);
      expect(client.received.map((r) => r.lastEventId)).toEqual(range(from + 1, last));
    }
  });
});

describe('--redis-wait', () => {
  it('answers 201 once a replica confirmed the append (WAIT), and 503 saying so when too few did in time', async () => {
    const replica = await startRedis(['--replicaof', '127.0.0.1', String(redis.port)]);
    closers.push(() => replica.stop());
    const online = async () => String(await redis.command('INFO', 'replication')).includes('state=online');
    const start = Date.now();
    while (!(await online())) {
      if (Date.now() - start > 15_000) throw new Error('the replica did not come online within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const {
      key,
      servers: [one],
    } = await feed(1, {}, redis.url);
    await one!.cleanup();
    servers.splice(servers.indexOf(one!), 1);
    const waiting = await startTestServer({ redis: { url: redis.url, key, waitReplicas: 1, waitTimeoutMs: 3000 } });
    servers.push(waiting);
    const stored = await publish(waiting.url, { title: 'on the primary and its replica' });
    expect(await replica.command('XLEN', key)).toBe(1);
    const tooMany = await startTestServer({ redis: { url: redis.url, key, waitReplicas: 2, waitTimeoutMs: 200 } });
    servers.push(tooMany);
    const res = await fetch(`${tooMany.url}/events`, { method: 'POST', body: 'needs two replicas' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'only 1 of the 2 replicas --redis-wait asks for confirmed it within 200 ms',
    );
    expect(Number(stored.id)).toBe(1);
  });
});

describe('Sentinel', () => {
  it('finds the primary through a Sentinel with a redis+sentinel:// URL and serves the feed there', async () => {
    const sentinel = await startSentinel(redis.port);
    closers.push(() => sentinel.stop());
    const {
      key,
      servers: [a],
    } = await feed(1, {}, `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster`);
    const event = await publish(a!.url, { title: 'through the sentinel' });
    expect(await redis.command('XLEN', key)).toBe(1);
    expect((await history(a!.url)).events).toEqual([event]);
  });
});

describe('bad Redis addresses', () => {
  it('fails to start with a message naming Redis and what to check when nothing answers there', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(RedisStore.open({ url, connectTimeoutMs: 2000 })).rejects.toThrow(
      `Cannot reach Redis at ${url}: connection refused (is Redis running?). Check --redis (or HERALD_REDIS_URL)`,
    );
  });

  it('fails to start when Redis refuses the password, without showing it', async () => {
    const guarded = await startRedis(['--requirepass', 'right-password']);
    try {
      const url = `redis://:wrong-password@127.0.0.1:${guarded.port}`;
      const error = await RedisStore.open({ url }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toContain(`Cannot reach Redis at redis://:***@127.0.0.1:${guarded.port}`);
      expect(error?.message).toContain('check the password in the URL');
      expect(error?.message).not.toContain('wrong-password');
      // The right password, and the database number from the path.
      const store = await RedisStore.open({ url: `redis://:right-password@127.0.0.1:${guarded.port}/3`, key: 'db-check' });
      await store.appendBatch([{ input: { type: 'notification', topic: 'default', title: 'in db 3', priority: 3 } }]);
      await store.close();
      const [, , inThree] = await redisCommands(guarded.port, [
        ['AUTH', 'right-password'],
        ['SELECT', '3'],
        ['XLEN', 'db-check'],
      ]);
      const [, inZero] = await redisCommands(guarded.port, [
        ['AUTH', 'right-password'],
        ['EXISTS', 'db-check'],
      ]);
      expect([inThree, inZero]).toEqual([1, 0]);
    } finally {
      await guarded.stop();
    }
  });
});
