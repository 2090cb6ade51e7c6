// Live fan-out seen from outside: publishers are answered before the subscribers are written to,
// and every subscriber still gets every event once, in order, across the replay/live seam while
// batches commit and streams open. Real server on port 0, real eventsource clients; the bytes the
// server hands its sockets are watched (not changed) to see what it wrote first.
import net from 'node:net';
import { PublishQueue } from '../../server/publish-queue.ts';
import { SqliteStore } from '../../server/sqlite-store.ts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lateReadingStore, listen, publish, startTestServer, tempDir, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.cleanup();
  t = undefined;
});

interface ServerWrite {
  socket: net.Socket;
  text: string;
}

/** Records, in order, every chunk the server (not the clients in this process) writes to a socket. */
function watchServerWrites(): ServerWrite[] {
  const writes: ServerWrite[] = [];
  const original = net.Socket.prototype.write;
  vi.spyOn(net.Socket.prototype, 'write').mockImplementation(function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
    // Sockets a net.Server accepted carry their server; the test's own clients do not.
    if ((this as net.Socket & { server?: unknown }).server !== undefined) {
      const chunk = args[0] as unknown;
      writes.push({ socket: this, text: typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8') });
    }
    return original.apply(this, args);
  });
  return writes;
}

/** Ids of the events in a chunk written to a stream (SSE frames: `id: N` lines). */
const frameIds = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
/** The id of the stored event a publish answer carries, if this chunk is one. */
const answeredId = (text: string) => /"id":"(\d+)"/.exec(text)?.[1];

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('live fan-out', () => {
  it('answers every publisher of a committed batch before it writes the batch to any subscriber', async () => {
    t = await startTestServer();
    const subscribers = Array.from({ length: 3 }, () => listen(`${t!.url}/events`));
    await waitFor(() => t!.server.stats().live === 3, 'three live subscribers');
    const writes = watchServerWrites();
    const published = await Promise.all(Array.from({ length: 8 }, (_, i) => publish(t!.url, { title: `job ${i} done` })));
    for (const s of subscribers) await waitFor(() => s.received.length === 8, 'every subscriber to have the 8 events');

    for (const event of published) {
      const id = Number(event.id);
      const answered = writes.findIndex((w) => answeredId(w.text) === event.id && w.text.includes('"title"') && !w.text.startsWith('id:'));
      const firstFrame = writes.findIndex((w) => frameIds(w.text).includes(id));
      expect(answered, `the answer to the publish of ${id}`).toBeGreaterThanOrEqual(0);
      expect(firstFrame, `a frame of ${id}`).toBeGreaterThanOrEqual(0);
      expect(answered, `event ${id}: the 201 goes out before any subscriber is written to`).toBeLessThan(firstFrame);
    }
    for (const s of subscribers) {
      expect(s.received.map((r) => r.lastEventId)).toEqual(published.map((e) => e.id));
      s.close();
    }
  });

  it('gives every subscriber each event once, in order, while batches commit, rounds span many turns and streams open and resume meanwhile', async () => {
    // One stream per turn: a round over the live streams takes many turns, during which batches
    // commit, replays read and go live, and new streams open. Replay reads answer late (as a
    // networked store's do), so many reads straddle a commit and its round.
    t = await startTestServer({ fanOutStreamsPerTurn: 1, store: lateReadingStore(15) });
    for (let i = 0; i < 40; i++) await publish(t.url, { title: `before ${i}` });
    const live = Array.from({ length: 12 }, () => listen(`${t!.url}/events`));
    await waitFor(() => t!.server.stats().live === 12, 'twelve live subscribers');

    let publishing = true;
    let count = 40;
    // Three publishers, each sending batches of four: several publishes in one turn share a commit.
    const publishers = Array.from({ length: 3 }, async () => {
      while (publishing) {
        await Promise.all(Array.from({ length: 4 }, () => publish(t!.url, { title: 'during' })));
        count += 4;
      }
    });
    const resuming: Array<{ client: ReturnType<typeof listen>; from: number }> = [];
    const fresh: Array<ReturnType<typeof listen>> = [];
    for (let i = 0; i < 20; i++) {
      const from = i * 2;
      resuming.push({ client: listen(`${t.url}/events?lastEventId=${from}`), from });
      fresh.push(listen(`${t.url}/events`));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Batches go on committing while the last replays run. (Not until every stream is live: a replay
    // whose reads answer later than the next commit reads again rather than go live, by design.)
    const target = count + 100;
    await waitFor(() => count >= target, '100 more events published', 20_000);
    publishing = false;
    await Promise.all(publishers);

    const all = range(1, count);
    for (const client of live) {
      await waitFor(() => client.received.at(-1)?.lastEventId === String(count), `a live client to reach ${count}`);
      expect(client.received.map((r) => r.lastEventId)).toEqual(range(41, count));
    }
    for (const { client, from } of resuming) {
      await waitFor(() => client.received.at(-1)?.lastEventId === String(count), `the client resuming from ${from} to reach ${count}`);
      expect(client.received.map((r) => r.lastEventId)).toEqual(range(from + 1, count));
    }
    for (const client of fresh) {
      await waitFor(() => client.received.at(-1)?.lastEventId === String(count), `a fresh client to reach ${count}`);
      const ids = client.received.map((r) => r.lastEventId);
      // It starts where the server was when it opened, then misses nothing and repeats nothing.
      expect(ids).toEqual(all.slice(all.length - ids.length));
    }
    for (const client of [...live, ...resuming.map((r) => r.client), ...fresh]) client.close();
  });

  it('gives a stream whose replay read before a commit, and is answered while that commit is being written to the others, the batch once', async () => {
    // The first replay read is answered only once the server holds committed events it has not
    // written yet: the read saw the log before the batch, its answer arrives in the batch's round.
    const store = new SqliteStore({ dataDir: tempDir() });
    const readAfter = store.readAfter.bind(store);
    let server: TestServer | undefined;
    let held = 0;
    store.readAfter = async (afterId, options) => {
      const page = await readAfter(afterId, options);
      if (server !== undefined && held++ === 0)
        while (server.server.stats().fanOutPending === 0) await new Promise((resolve) => setImmediate(resolve));
      return page;
    };
    t = await startTestServer({ fanOutStreamsPerTurn: 1, store });
    for (let i = 0; i < 20; i++) await publish(t.url, { title: `before ${i}` });
    server = t;
    // First in the hub's order, so the round visits it (not live yet) before its read's answer lands.
    const resuming = listen(`${t.url}/events?lastEventId=5`);
    await waitFor(() => t!.server.stats().streams === 1, 'the resuming stream to open');
    const live = Array.from({ length: 10 }, () => listen(`${t!.url}/events`));
    await waitFor(() => t!.server.stats().live === 10, 'ten live subscribers');
    let count = 20;
    while (t.server.stats().live < 11) {
      if (count > 400) throw new Error('the resuming stream never went live');
      await Promise.all(Array.from({ length: 4 }, () => publish(t!.url, { title: 'during' })));
      count += 4;
    }
    await Promise.all(Array.from({ length: 4 }, () => publish(t!.url, { title: 'after' })));
    count += 4;
    await waitFor(() => resuming.received.at(-1)?.lastEventId === String(count), `the resuming stream to reach ${count}`);
    expect(resuming.received.map((r) => r.lastEventId)).toEqual(range(6, count));
    for (const client of live) {
      await waitFor(() => client.received.at(-1)?.lastEventId === String(count), `a live client to reach ${count}`);
      expect(client.received.map((r) => r.lastEventId)).toEqual(range(21, count));
      client.close();
    }
    resuming.close();
  });

  it('writes a commit batch to each subscriber in one write, holding only the events its topic filter matches', async () => {
    // The store holds the first batch until released, so the ten publishes sent meanwhile wait
    // and go to the store together as the next batch (one commit).
    const store = new SqliteStore({ dataDir: tempDir() });
    const appendBatch = store.appendBatch.bind(store);
    let hold: Promise<void> | undefined;
    let release = () => {};
    store.appendBatch = async (entries) => {
      if (hold) await hold;
      return appendBatch(entries);
    };
    t = await startTestServer({ store });
    const everything = listen(`${t.url}/events`);
    const builds = listen(`${t.url}/events?topic=builds`);
    await waitFor(() => t!.server.stats().live === 2, 'two live subscribers');
    const queued = vi.spyOn(PublishQueue.prototype, 'publishClaimed');
    hold = new Promise((resolve) => (release = resolve));
    const first = publish(t.url, { title: 'first', topic: 'deploys' });
    await waitFor(() => queued.mock.calls.length === 1, 'the first publish to reach the store');
    const writes = watchServerWrites();
    const rest = Array.from({ length: 10 }, (_, i) => publish(t!.url, { title: `job ${i}`, topic: i % 2 === 0 ? 'builds' : 'deploys' }));
    await waitFor(() => queued.mock.calls.length === 11, 'the ten to wait for the batch with the store');
    release();
    const firstId = Number((await first).id);
    // In id order (the order the queue took them, not necessarily the order they were sent).
    const ten = (await Promise.all(rest)).sort((a, b) => Number(a.id) - Number(b.id));
    await waitFor(() => everything.received.length === 11 && builds.received.length === 5, 'both subscribers to have their events');

    const tenIds = new Set(ten.map((e) => Number(e.id)));
    // Per subscriber socket, the ids of the ten in each write that carried any of them.
    const perSocket = new Map<net.Socket, number[][]>();
    for (const w of writes) {
      const ids = frameIds(w.text).filter((id) => tenIds.has(id));
      if (ids.length > 0) perSocket.set(w.socket, [...(perSocket.get(w.socket) ?? []), ids]);
    }
    const buildIds = ten.filter((e) => e.topic === 'builds').map((e) => Number(e.id));
    expect([...perSocket.values()].sort((a, b) => a[0]!.length - b[0]!.length)).toEqual([[buildIds], [ten.map((e) => Number(e.id))]]);
    expect(builds.events().every((e) => e.topic === 'builds')).toBe(true);
    expect(everything.received.map((r) => r.lastEventId)).toEqual(range(firstId, firstId + 10));
    everything.close();
    builds.close();
  });
});
