// Resuming: Last-Event-ID and lastEventId, the replay/live seam under concurrent publishing, and
// a graceful close that makes clients reconnect and resume.
import { afterEach, describe, expect, it } from 'vitest';
import { history, listen, publish, startTestServer, waitFor, type TestServer } from './harness.ts';
import { startServer } from '../../server/serve.ts';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function publishMany(url: string, count: number, concurrency = 8, body?: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        await publish(url, { title: `n${next}`, ...(body ? { body } : {}) });
      }
    }),
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('replay', () => {
  it('resumes after the Last-Event-ID header, or the lastEventId query when no header is sent; the header wins', async () => {
    t = await startTestServer();
    await publishMany(t.url, 10, 1);
    const byHeader = listen(`${t.url}/events`, { headers: { 'Last-Event-ID': '7' } });
    const byQuery = listen(`${t.url}/events?lastEventId=4`);
    const both = listen(`${t.url}/events?lastEventId=2`, { headers: { 'Last-Event-ID': '8' } });
    const fromZero = listen(`${t.url}/events?lastEventId=0`);
    const liveOnly = listen(`${t.url}/events`);
    await waitFor(
      () =>
        byHeader.received.length === 3 &&
        byQuery.received.length === 6 &&
        both.received.length === 2 &&
        fromZero.received.length === 10 &&
        liveOnly.opens === 1,
      'replays',
    );
    await publish(t.url, { title: 'live' });
    await waitFor(() => [byHeader, byQuery, both, fromZero, liveOnly].every((c) => c.received.at(-1)?.lastEventId === '11'), 'live event');
    for (const c of [byHeader, byQuery, both, fromZero, liveOnly]) c.close();
    expect(byHeader.received.map((r) => r.lastEventId)).toEqual(range(8, 11));
    expect(byQuery.received.map((r) => r.lastEventId)).toEqual(range(5, 11));
    expect(both.received.map((r) => r.lastEventId)).toEqual(range(9, 11));
    expect(fromZero.received.map((r) => r.lastEventId)).toEqual(range(1, 11));
    expect(liveOnly.received.map((r) => r.lastEventId)).toEqual(['11']);
  });

  it('replays with a topic filter', async () => {
    t = await startTestServer();
    for (let i = 1; i <= 6; i++) await publish(t.url, { title: `e${i}`, topic: i % 2 ? 'odd' : 'even' });
    const client = listen(`${t.url}/events?topic=even&lastEventId=2`);
    await waitFor(() => client.received.length === 2, 'even events');
    client.close();
    expect(client.events().map((e) => e.title)).toEqual(['e4', 'e6']);
  });

  it('has no duplicate and no loss at the seam while events are published concurrently (paged replay)', async () => {
    t = await startTestServer();
    const before = 1200; // more than one replay page (500)
    const during = 800;
    // Big events, so the replay fills the socket and has to wait for it to drain while new events arrive.
    await publishMany(t.url, before, 8, 'x'.repeat(4000));
    const publishing = publishMany(t.url, during, 6);
    const clients: Array<{ resumeFrom: number; client: ReturnType<typeof listen> }> = [];
    for (const resumeFrom of [0, 100, 700, 1199]) {
      clients.push({ resumeFrom, client: listen(`${t.url}/events`, { headers: { 'Last-Event-ID': String(resumeFrom) } }) });
      await new Promise((r) => setTimeout(r, 15));
    }
    // and one more that joins while publishing is surely in flight, by query
    clients.push({ resumeFrom: 1000, client: listen(`${t.url}/events?lastEventId=1000`) });
    await publishing;
    const total = before + during;
    await waitFor(
      () => clients.every(({ client }) => client.received.at(-1)?.lastEventId === String(total)),
      'every client at the last id',
      20_000,
    );
    for (const { resumeFrom, client } of clients) {
      client.close();
      expect(client.received.map((r) => r.lastEventId)).toEqual(range(resumeFrom + 1, total));
      expect(client.errors).toEqual([]);
    }
  });
});

describe('graceful close', () => {
  it('ends streams so eventsource clients reconnect and resume where they were', async () => {
    t = await startTestServer({ retryMs: 100 });
    const port = t.server.port;
    const client = listen(`${t.url}/events`);
    await waitFor(() => client.opens === 1, 'open');
    await publish(t.url, { title: 'before' });
    await waitFor(() => client.received.length === 1, 'first event');
    await t.server.close();
    expect(t.lines.some((l) => /stream closed .*server closing/.test(l))).toBe(true);
    // Same data dir, same port: what a restarted `herald serve` looks like to the client.
    const lines: string[] = [];
    const again = await startServer({ port, dataDir: t.dataDir, webRoot: null, log: (l) => lines.push(l) });
    t.server = again;
    await publish(again.url, { title: 'while away' });
    await waitFor(() => client.opens === 2, 'reconnect');
    await publish(again.url, { title: 'after' });
    await waitFor(() => client.received.length === 3, 'all events');
    client.close();
    expect(client.events().map((e) => e.title)).toEqual(['before', 'while away', 'after']);
    expect(lines.some((l) => l.includes('after=1'))).toBe(true); // it came back with Last-Event-ID: 1
    expect((await history(again.url)).events.map((e) => e.id)).toEqual(['1', '2', '3']);
  });
});
