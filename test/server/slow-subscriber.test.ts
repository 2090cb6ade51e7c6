// A subscriber that stops reading is cut off: its unsent bytes reach the bound, it gets no more
// live writes, and when it does not drain within stallTimeoutMs its socket is closed. The server
// never holds more than the bound for anyone, and a subscriber that reads gets every event, in
// order, even through bursts bigger than the bound (it is caught up from the log).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, publish, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const BOUND = 256 * 1024;

describe('slow subscriber', () => {
  it('is cut off at the backlog bound while a reading subscriber gets every event', async () => {
    t = await startTestServer({ maxBacklogBytes: BOUND, stallTimeoutMs: 300 });
    const { port } = t.server;

    // A client that sends its request and then never reads a byte.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.pause();
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    await waitFor(() => t!.server.stats().live === 1, 'slow subscriber live');

    const healthy = listen(`${t.url}/events`, { types: ['job.progress'] });
    await waitFor(() => healthy.opens === 1, 'healthy subscriber open');

    // ~25 KB per event (3-byte characters); kernel socket buffers swallow a few MB before Node has to hold anything.
    const big = '€'.repeat(4000);
    let sent = 0;
    while (t.server.stats().cutOff === 0) {
      if (sent > 3000) throw new Error('the slow subscriber was never cut off');
      await Promise.all(
        Array.from({ length: 20 }, () =>
          publish(t!.url, { type: 'job.progress', title: 'progress', job: { id: 'big', status: 'running', outputTail: big }, body: big }),
        ),
      );
      sent += 20;
      const stats = t.server.stats();
      expect(stats.maxBacklogSeen).toBeLessThanOrEqual(BOUND);
    }
    const stats = t.server.stats();
    expect(stats.cutOff).toBe(1);
    expect(stats.maxBacklogSeen).toBeLessThanOrEqual(BOUND);
    expect(stats.maxBacklogSeen).toBeGreaterThan(BOUND / 2); // it really queued up to near the bound before the cut
    expect(stats.live).toBe(1); // only the healthy one is left
    await waitFor(() => t!.lines.some((l) => /stream closed .*cut off: it stopped reading/.test(l)), 'cut-off log line');

    // The slow client, once it reads again, finds its connection closed by the server.
    socket.resume();
    await waitFor(() => closed, 'slow socket closed', 20_000);

    await waitFor(() => healthy.received.length === sent, 'healthy subscriber got everything', 20_000);
    healthy.close();
    expect(healthy.received.map((r) => Number(r.lastEventId))).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  });

  it('catches a reading subscriber up from the log after a burst bigger than the bound, without cutting it', async () => {
    t = await startTestServer({ maxBacklogBytes: BOUND, stallTimeoutMs: 5000 });
    const clients = [listen(`${t.url}/events`, { types: ['job.progress'] }), listen(`${t.url}/connect`, { types: ['message'] })];
    await waitFor(() => clients.every((c) => c.opens === 1), 'open');
    const big = '€'.repeat(4000);
    let total = 0;
    for (let round = 0; round < 3; round++) {
      // 240 concurrent publishes land in a handful of group commits: ~6 MB written at once, more
      // than the kernel's socket buffers (a few MB on loopback) take before Node has to hold any.
      await Promise.all(
        Array.from({ length: 240 }, () =>
          publish(t!.url, { type: 'job.progress', title: 'burst', job: { id: 'b', status: 'running', outputTail: big }, body: big }),
        ),
      );
      total += 240;
    }
    await waitFor(() => clients.every((c) => c.received.length === total), 'every event', 20_000);
    for (const c of clients) c.close();
    const stats = t.server.stats();
    expect(stats.overflows).toBeGreaterThan(0);
    expect(stats.cutOff).toBe(0);
    expect(stats.maxBacklogSeen).toBeLessThanOrEqual(BOUND);
    for (const c of clients) {
      expect(c.received.map((r) => Number(r.lastEventId))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(c.opens).toBe(1); // never reconnected
    }
  });
});
