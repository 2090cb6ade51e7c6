// herald serve --redis: a URL that cannot be read is refused with exit 2, a Redis that cannot be
// reached stops the start with exit 1, both in words that say what to fix; a good one serves the
// shared feed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedis, type TestRedis } from '../server/redis-harness.ts';
import { herald, killLeftovers, startHerald } from './harness.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  killLeftovers();
  await redis?.stop();
});

describe('herald serve --redis', () => {
  it('refuses a URL it cannot read with exit 2, from --redis or HERALD_REDIS_URL, naming the problem', async () => {
    const flag = await herald(['serve', '--port', '0', '--redis', 'http://localhost:6379']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.toString()).toContain('herald serve: --redis: "http://" is not a Redis URL scheme Herald knows: use redis://');
    const env = await herald(['serve', '--port', '0'], { env: { HERALD_REDIS_URL: 'redis://:s3cret@host:70000' } });
    expect(env.code).toBe(2);
    expect(env.stderr.toString()).toContain('herald serve: HERALD_REDIS_URL: redis://:***@host:70000: port 70000 is out of range');
    expect(env.stderr.toString()).not.toContain('s3cret');
    const proxy = await herald(['serve', '--port', '0', '--trust-proxy', 'my-balancer']);
    expect(proxy.code).toBe(2);
    expect(proxy.stderr.toString()).toContain(
      '--trust-proxy takes the load balancer\'s address (10.0.0.10), a range (10.0.0.0/8) or loopback, not "my-balancer"',
    );
    const stray = await herald(['serve', '--port', '0', '--redis-key', 'x']);
    expect(stray.code).toBe(2);
    expect(stray.stderr.toString()).toContain('--redis-key only means something with --redis URL');
  });

  it('stops with exit 1 and says where Redis was looked for when nothing answers', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`;
    const r = await herald(['serve', '--port', '0', '--redis', url]);
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toContain(
      `Cannot reach Redis at ${url}: connection refused (is Redis running?). Check --redis (or HERALD_REDIS_URL) and that Redis is running there.`,
    );
  });

  it('serves the feed from Redis with a good URL, and says so', async () => {
    const p = startHerald(['serve', '--port', '0', '--redis', redis.url, '--redis-key', 'cli:events']);
    const deadline = Date.now() + 15_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /^(http:\/\/\S+)\n/.exec(p.stdoutText())?.[1];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(url).toBeDefined();
    const res = await fetch(`${url}/events`, { method: 'POST', body: 'from the CLI' });
    expect(res.status).toBe(201);
    expect(await redis.command('XLEN', 'cli:events')).toBe(1);
    p.child.kill('SIGTERM');
    const done = await p.result;
    expect(done.code).toBe(0);
    expect(done.stderr.toString()).toContain(`data in ${redis.url} key cli:events`);
  });
});
