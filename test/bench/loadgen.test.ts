// The load generator is itself tested: against the seed baseline (its own child process, as in the
// benchmark), 5 raw-socket subscribers and 3 published events must be counted as 15 deliveries
// with real latencies; against a slow server, latency must run from when each publish was due;
// against one that registers streams late, the warm-up must wait for every one of them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchChild } from '../../bench/child.ts';
import type { BroadcastResult } from '../../bench/loadgen.ts';
import { backs, judge, LatencyHistogram } from '../../bench/stats.ts';

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
    expect(r.lastSubscriber.count).toBe(3);
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

/**
 * A fake server on an ephemeral port, and the load generator (its own process, as in the
 * benchmark) pointed at it: `start(handler)` starts both; both are stopped after the describe's tests.
 */
function fakeServerWithLoadgen(): (handler: http.RequestListener) => Promise<BenchChild> {
  let fake: http.Server | undefined;
  let loadgen: BenchChild | undefined;
  afterAll(async () => {
    await loadgen?.kill();
    fake?.closeAllConnections();
    await new Promise((resolve) => fake?.close(resolve));
  });
  return async (handler) => {
    fake = http.createServer(handler);
    await new Promise<void>((resolve) => fake!.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as AddressInfo).port;
    loadgen = await BenchChild.spawn({
      name: 'loadgen',
      script: path.join(bench, 'loadgen.ts'),
      args: [JSON.stringify({ host: '127.0.0.1', port, streamPath: '/events', publishPath: '/events' })],
    });
    return loadgen;
  };
}

describe('load generator: no coordinated omission', () => {
  // A server that takes 300 ms to store each publish, then delivers it: with 4 publisher
  // connections and 40 publishes due over one second, the later ones wait for a free connection.
  // Measured from when each was sent, every latency would look like ~300 ms; from when each was due,
  // the queueing shows, as a user publishing on that schedule would see it.
  const startFake = fakeServerWithLoadgen();

  it('counts latency and acks from when each publish was due, so a slow server shows its queue', async () => {
    const streams = new Set<http.ServerResponse>();
    let id = 0;
    const loadgen = await startFake((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(':\n\n');
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () =>
        setTimeout(() => {
          const event = JSON.stringify({ id: String(++id), ...JSON.parse(body) });
          res.writeHead(201, { 'Content-Type': 'application/json' }).end(event);
          for (const s of streams) s.write(`id: ${id}\ndata: ${event}\n\n`);
        }, 300),
      );
    });
    expect(await loadgen.call<{ opened: number }>('open', { count: 2, perAddress: 2 })).toMatchObject({ opened: 2 });
    const r = await loadgen.call<BroadcastResult>('broadcast', { rate: 40, count: 40, drainMs: 5000 }, 60_000);
    expect(r.delivered).toBe(80);
    // 40 publishes through 4 connections at 300 ms each take 3 s; the last was due at 0.975 s.
    expect(r.ack.min).toBeGreaterThanOrEqual(290);
    expect(r.ack.max).toBeGreaterThan(1700);
    expect(r.latency.max).toBeGreaterThan(1700);
    expect(r.lastSubscriber.max).toBeGreaterThan(1700);
  });
});

describe('load generator: a warm-up every stream must have had', () => {
  // A server that registers a stream for events only some time after its head (as a server busy
  // accepting thousands does): the first warm-up event misses the late ones, and the warm-up
  // publishes again until every subscriber has had one, so no stream is measured unregistered.
  const startFake = fakeServerWithLoadgen();

  it('publishes again until the streams registered late have had one too', async () => {
    const registered = new Set<http.ServerResponse>();
    let opened = 0;
    let publishes = 0;
    const loadgen = await startFake((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(':\n\n');
        // The first two at once, the other three 700 ms later.
        const register = () => {
          if (!res.destroyed) registered.add(res);
        };
        if (++opened <= 2) register();
        else setTimeout(register, 700);
        res.on('close', () => registered.delete(res));
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        publishes++;
        res.writeHead(201, { 'Content-Type': 'application/json' }).end(body);
        for (const s of registered) s.write(`data: ${body}\n\n`);
      });
    });
    expect(await loadgen.call<{ opened: number }>('open', { count: 5, perAddress: 5 })).toMatchObject({ opened: 5 });
    const warm = await loadgen.call<{ confirmed: number; of: number; published: number; ms: number }>('warmup', { timeoutMs: 10_000 });
    expect(warm).toMatchObject({ confirmed: 5, of: 5 });
    // One warm-up reached only the first two; the late three needed another, 0.5 s or more later.
    expect(warm.published).toBeGreaterThanOrEqual(2);
    expect(publishes).toBe(warm.published);
    expect(warm.ms).toBeGreaterThan(600);
    expect(registered.size).toBe(5);
  });
});

describe('judge: goals counted honestly', () => {
  it('is met only when the whole spread meets the limit, missed when all of it misses, else within noise', () => {
    expect(judge([1.0, 1.1, 1.2], 1.6, 'lower').verdict).toBe('met');
    expect(judge([1.5, 1.55, 1.7], 1.6, 'lower').verdict).toBe('within noise');
    expect(judge([1.7, 1.8, 1.9], 1.6, 'lower').verdict).toBe('missed');
    expect(judge([1.3, 1.25, 1.4], 1.2, 'higher').verdict).toBe('met');
    expect(judge([1.15, 1.25], 1.2, 'higher').verdict).toBe('within noise');
    // One run: ±10% is assumed, so a 5% margin is not enough to call it met.
    expect(judge([1.52], 1.6, 'lower').verdict).toBe('within noise');
    expect(judge([1.2], 1.6, 'lower').verdict).toBe('met');
    // From five values on, the quartiles: one outlier does not decide.
    expect(judge([1.1, 1.2, 1.2, 1.3, 9], 1.6, 'lower')).toMatchObject({ verdict: 'met', value: 1.2 });
    expect(judge([NaN], 1, 'lower').verdict).toBe('not measured');
  });

  it('backs a percentile only with at least 10 samples beyond it', () => {
    expect(backs(40, 0.99)).toBe(false);
    expect(backs(999, 0.99)).toBe(false);
    expect(backs(1000, 0.99)).toBe(true);
    expect(backs(9999, 0.999)).toBe(false);
    expect(backs(10_000, 0.999)).toBe(true);
    expect(backs(20, 0.5)).toBe(true);
  });
});
