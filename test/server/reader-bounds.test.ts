// What readers may cost the server: a subscriber that never reads holds it to one replay page,
// all slow subscribers together stay under maxReaderBytes (the ones holding the most are cut, a
// reading one never is), /history pages stop at their byte bound, and replays go a page per piece
// of reader work (server/read-turns.ts). Real server, raw sockets that stop reading.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { REPLAY_PAGE_BYTES } from '../../server/stream.ts';
import { history, listen, publish, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await t?.cleanup();
  t = undefined;
});

const KiB = 1024;
const MiB = 1024 * 1024;

/** A subscriber that sends its request and never reads a byte. */
async function stalled(port: number, lastEventId?: string): Promise<{ socket: net.Socket; closed(): boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n${lastEventId !== undefined ? `Last-Event-ID: ${lastEventId}\r\n` : ''}\r\n`);
  socket.pause();
  return { socket, closed: () => closed };
}

/** Publishes `count` events of about 4 KB, `parallel` at a time. */
async function fill(url: string, count: number, parallel = 20): Promise<void> {
  const body = 'x'.repeat(4000);
  for (let i = 0; i < count; i += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, k) => publish(url, { title: `e${i + k}`, body })));
  }
}

describe('memory held for readers', () => {
  it('a subscriber resuming from 0 that never reads holds the server to one replay page, not the log', async () => {
    t = await startTestServer();
    await fill(t.url, 2000); // ~8.5 MB: more than loopback's socket buffers take (~4 MB)
    const readers = await Promise.all(Array.from({ length: 10 }, () => stalled(t!.server.port, '0')));
    // Until every replay has filled its socket and waits for a drain that will not come.
    await waitFor(() => t!.server.stats().streamsHolding === 10, 'every replay to be held up', 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const stats = t.server.stats();
    expect(stats.streams).toBe(10);
    expect(stats.streamBytesNow).toBeLessThanOrEqual(10 * (REPLAY_PAGE_BYTES + 8 * KiB)); // a page each, and the frame that crossed it
    expect(readers.every((r) => !r.closed())).toBe(true);
  });

  it('all slow subscribers together stay under maxReaderBytes: the ones holding the most are cut, a reading one gets everything', async () => {
    const bound = 2 * MiB;
    t = await startTestServer({ maxReaderBytes: bound, maxBacklogBytes: 1 * MiB, stallTimeoutMs: 60_000 });
    const slow = await Promise.all(Array.from({ length: 4 }, () => stalled(t!.server.port)));
    const reading = listen(`${t.url}/events`);
    await waitFor(() => reading.opens === 1 && t!.server.stats().live === 5, 'all subscribers live');
    const big = '€'.repeat(4000); // ~12 KB a frame
    let sent = 0;
    let most = 0;
    while (t.server.stats().cutForMemory < 2) {
      if (sent > 4000) throw new Error('no one was cut for memory');
      await Promise.all(Array.from({ length: 20 }, () => publish(t!.url, { title: 'big', body: big })));
      sent += 20;
      most = Math.max(most, t.server.stats().streamBytesNow);
    }
    const stats = t.server.stats();
    expect(most).toBeLessThanOrEqual(bound);
    expect(stats.readerBytesPeak).toBeLessThanOrEqual(bound);
    expect(stats.cutForMemory).toBeGreaterThanOrEqual(2);
    expect(stats.cutOff).toBe(stats.cutForMemory); // cut for the total, not for their own bound
    // The cut ones find their connection closed once they read again; the others are still open.
    for (const s of slow) s.socket.resume();
    await waitFor(() => slow.filter((s) => s.closed()).length === stats.cutForMemory, 'the cut sockets to close', 20_000);
    await waitFor(
      () =>
        t!.lines.some((l) =>
          l.includes(`cut off: the server holds its limit of ${bound} bytes for slow readers, and this one held the most`),
        ),
      'the log line',
    );
    await waitFor(() => reading.received.length === sent, 'the reading subscriber to get everything', 30_000);
    expect(reading.opens).toBe(1);
    expect(reading.received.map((r) => Number(r.lastEventId))).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    reading.close();
  });
});

describe('/history pages', () => {
  it('stop at maxHistoryPageBytes with more: true, and page on to the end exactly once', async () => {
    t = await startTestServer({ maxHistoryPageBytes: 64 * KiB });
    await fill(t.url, 100);
    const first = await history(t.url, 'after=0&limit=1000');
    expect(first.more).toBe(true);
    expect(first.events.length).toBeGreaterThan(5);
    expect(first.events.length).toBeLessThan(20); // ~4 KB each, 64 KiB a page
    const ids: string[] = first.events.map((e) => e.id);
    let page = first;
    while (page.more) {
      page = await history(t.url, `after=${page.next}&limit=1000`);
      ids.push(...page.events.map((e) => e.id));
    }
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
    // `limit` still counts, and the page that ends on it says whether there is more.
    expect(await history(t.url, 'after=0&limit=3')).toMatchObject({ more: true, next: '3' });
    expect(await history(t.url, 'after=97&limit=3')).toMatchObject({ more: false, next: '100' });
    // `last`: the newest that fit, oldest first.
    const last = await history(t.url, 'last=1000');
    expect(last.events.at(-1)!.id).toBe('100');
    expect(last.events.length).toBe(first.events.length);
  });

  it('a replay and /history pages are served as many small pieces of reader work', async () => {
    t = await startTestServer();
    await fill(t.url, 300); // ~1.3 MB
    const before = t.server.stats().readPieces;
    const client = listen(`${t.url}/events`, { headers: { 'Last-Event-ID': '0' } });
    await waitFor(() => client.received.length === 300, 'the replay');
    client.close();
    // One piece per page of at most REPLAY_PAGE_BYTES (64 KiB): ~20 for this log, where one read did it all before.
    expect(t.server.stats().readPieces - before).toBeGreaterThanOrEqual(Math.floor((300 * 4100) / REPLAY_PAGE_BYTES));
  });
});
