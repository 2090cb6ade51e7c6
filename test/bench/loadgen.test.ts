// The load generator is itself tested: against the seed baseline (its own child process, as in the
// benchmark), 5 raw-socket subscribers and 3 published events must be counted as 15 deliveries
// with real latencies.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchChild } from '../../bench/child.ts';
import type { BroadcastResult } from '../../bench/loadgen.ts';
import { LatencyHistogram } from '../../bench/stats.ts';

const bench = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bench');

describe('load generator against the seed baseline', () => {
  let server: BenchChild | undefined;
  let loadgen: BenchChild | undefined;

  beforeAll(async () => {
    server = await BenchChild.spawn({ name: 'seed', script: path.join(bench, 'server-child.ts'), args: ['seed'] });
    const url = new URL(String(server.ready.url));
    expect(url.hostname).toBe('127.0.0.1');
    loadgen = await BenchChild.spawn({
      name: 'loadgen',
      script: path.join(bench, 'loadgen.ts'),
      args: [JSON.stringify({ host: url.hostname, port: Number(url.port), streamPath: '/connect', publishPath: '/message' })],
    });
  });

  afterAll(async () => {
    await loadgen?.kill();
    await server?.kill();
  });

  it('counts 5 subscribers x 3 events as 15 deliveries with positive latencies', async () => {
    // perAddress 2 spreads the 5 sockets over 127.0.0.2..4: the server bound to 127.0.0.1 accepts them.
    const opened = await loadgen!.call<{ opened: number; failed: number; addresses: number }>('open', { count: 5, perAddress: 2 });
    expect(opened).toMatchObject({ opened: 5, failed: 0, addresses: 3 });
    const warm = await loadgen!.call<{ confirmed: number; of: number }>('warmup', { timeoutMs: 5000 });
    expect(warm).toMatchObject({ confirmed: 5, of: 5 });

    const r = await loadgen!.call<BroadcastResult>('broadcast', { rate: 20, count: 3, drainMs: 3000 });
    expect(r.published).toBe(3);
    expect(r.expected).toBe(15);
    expect(r.delivered).toBe(15);
    expect(r.missing).toBe(0);
    expect(r.latency.count).toBe(15);
    expect(r.latency.min).toBeGreaterThan(0);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.p99).toBeGreaterThanOrEqual(r.latency.p50);
    expect(r.latency.max).toBeLessThan(3000);
    expect(r.lastSubscriber.events).toBe(3);
    expect(r.lastSubscriber.p99).toBeGreaterThanOrEqual(r.latency.p50);
    expect(r.deliveriesPerSecond).toBeGreaterThan(0);

    const closed = await loadgen!.call<{ open: number }>('closeAll');
    expect(closed.open).toBe(5);
  });
});

describe('LatencyHistogram', () => {
  it('reports quantiles within its precision', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 .. 100 ms
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(50, 0);
    expect(Math.abs(s.p99 - 99) / 99).toBeLessThan(0.005);
    expect(Math.abs(s.p999 - 99.9) / 99.9).toBeLessThan(0.005);
    expect(s.max).toBe(100);
    expect(s.min).toBe(0.1);
  });
});
