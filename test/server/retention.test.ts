// Retention by count and by age, and what a resuming client is told about what it cannot get:
// the herald.gap frame (older than retained) and the herald.reset frame (a cursor from another
// log: another epoch, or an id newer than the log).
import { afterEach, describe, expect, it } from 'vitest';
import { GAP_TYPE, RESET_TYPE, type HeraldEvent } from '../../events/event.ts';
import { EventLog, PRUNE_STEP_ROWS } from '../../server/log.ts';
import { SqliteStore } from '../../server/sqlite-store.ts';
import { history, listen, publish, rawStream, startTestServer, tempDir, waitFor, type TestServer } from './harness.ts';
import fs from 'node:fs';
import net from 'node:net';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const ALL_TYPES = ['notification', GAP_TYPE, RESET_TYPE];

describe('retention by count', () => {
  it('keeps the newest maxEvents and tells a client resuming from an older id what was lost', async () => {
    t = await startTestServer({ retention: { maxEvents: 5 } });
    for (let i = 1; i <= 10; i++) await publish(t.url, { title: `e${i}` });
    const page = await history(t.url);
    expect(page.events.map((e) => e.id)).toEqual(['6', '7', '8', '9', '10']);

    const client = listen(`${t.url}/events`, { types: ALL_TYPES, headers: { 'Last-Event-ID': '2' } });
    await waitFor(() => client.received.length === 6, 'gap + 5 events');
    client.close();
    const [gap, ...rest] = client.received;
    expect(gap!.type).toBe(GAP_TYPE);
    expect(gap!.lastEventId).toBe('5'); // the cursor moves past the hole: the notice is not repeated
    const notice = JSON.parse(gap!.data) as HeraldEvent;
    expect(notice).toMatchObject({
      id: '5',
      type: GAP_TYPE,
      topic: 'herald',
      priority: 3,
      gap: { afterId: '2', throughId: '5', missed: 3 },
    });
    expect(notice.title).toMatch(/^3 events were lost/);
    expect(rest.map((r) => r.lastEventId)).toEqual(['6', '7', '8', '9', '10']);

    // History says the same in its envelope.
    const fromOld = await history(t.url, 'after=2');
    expect(fromOld.gap).toEqual({ afterId: '2', throughId: '5', missed: 3 });
    expect(fromOld.events.map((e) => e.id)).toEqual(['6', '7', '8', '9', '10']);
    // No gap for a client that is exactly at the edge, or for lastEventId=0 (= everything kept).
    expect((await history(t.url, 'after=5')).gap).toBeUndefined();
    const edge = await rawStream(`${t.url}/events?lastEventId=5`);
    const zero = await rawStream(`${t.url}/events?lastEventId=0`);
    await waitFor(() => edge.text.includes('id: 10\n') && zero.text.includes('id: 10\n'), 'replays');
    await edge.close();
    await zero.close();
    expect(edge.text).not.toContain(GAP_TYPE);
    expect(zero.text).not.toContain(GAP_TYPE);
  });
});

describe('retention by age', () => {
  it('drops events older than maxAgeMs and reports them as a gap', async () => {
    t = await startTestServer({ retention: { maxAgeMs: 300 } });
    await publish(t.url, { title: 'old 1' });
    await publish(t.url, { title: 'old 2' });
    await new Promise((r) => setTimeout(r, 400));
    await publish(t.url, { title: 'fresh' });
    const page = await history(t.url);
    expect(page.events.map((e) => e.title)).toEqual(['fresh']);
    const raw = await rawStream(`${t.url}/events?lastEventId=1`);
    await waitFor(() => raw.text.includes('"fresh"'), 'replay');
    await raw.close();
    expect(raw.text).toContain(`id: 2\nevent: ${GAP_TYPE}\ndata: `);
    expect(raw.text).toContain('"gap":{"afterId":"1","throughId":"2","missed":1}');
    expect(raw.text.indexOf(GAP_TYPE)).toBeLessThan(raw.text.indexOf('"fresh"'));
  });

  it('expires events without a new publish (the log prunes when read)', () => {
    const dir = tempDir();
    let now = 1_000_000;
    const log = new EventLog({ dataDir: dir, retention: { maxAgeMs: 1000 }, now: () => now });
    try {
      log.append([{ type: 'notification', topic: 'a', title: 'x', priority: 3 }]);
      log.append([{ type: 'notification', topic: 'a', title: 'y', priority: 3 }]);
      now += 500;
      log.append([{ type: 'notification', topic: 'a', title: 'z', priority: 3 }]);
      expect(log.count).toBe(3);
      now += 600;
      expect(log.count).toBe(1);
      expect(log.oldestId).toBe(3);
      expect(log.planResume(1)).toEqual({ kind: 'gap', gap: { afterId: '1', throughId: '2', missed: 1 } });
      now += 1000;
      expect(log.count).toBe(0);
      expect(log.planResume(1)).toEqual({ kind: 'gap', gap: { afterId: '1', throughId: '3', missed: 2 } });
      expect(log.planResume(3)).toEqual({ kind: 'continue' });
      expect(log.planResume(4)).toEqual({ kind: 'reset' });
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('retention of a log far over its bound', () => {
  const TOTAL = 10_000;
  const KEEP = 100;
  /** A log of `count` events written with retention off, as a server with a larger bound (or none) left it. */
  function bigLog(dir: string, options: { count?: number; body?: string; now?: () => number } = {}): void {
    const log = new EventLog({ dataDir: dir, retention: { maxEvents: 0, maxAgeMs: 0 }, ...(options.now ? { now: options.now } : {}) });
    try {
      const count = options.count ?? TOTAL;
      for (let i = 0; i < count; i += 500) {
        log.append(
          Array.from(
            { length: Math.min(500, count - i) },
            (_, k) =>
              ({
                type: 'notification',
                topic: 'a',
                title: `event ${i + k + 1}`,
                ...(options.body ? { body: options.body } : {}),
                priority: 3,
              }) as const,
          ),
        );
      }
    } finally {
      log.close();
    }
  }

  it('opens without pruning, deletes at most one step at a time, oldest first, and a publish deletes no more than it adds', () => {
    const dir = tempDir();
    bigLog(dir);
    const step = 2000;
    const log = new EventLog({ dataDir: dir, retention: { maxEvents: KEEP }, pruneStepRows: step });
    try {
      // Opening it deleted nothing (it used to delete all the excess before the server listened).
      expect(log.count).toBe(TOTAL);
      expect(log.oldestId).toBe(1);
      expect(log.prune()).toBe(step);
      expect(log.oldestId).toBe(step + 1);
      // What a resume is owed is said from the oldest id actually kept.
      expect(log.planResume(10)).toEqual({ kind: 'gap', gap: { afterId: '10', throughId: String(step), missed: step - 10 } });
      expect(log.planResume(step)).toEqual({ kind: 'continue' });
      // A publish prunes in its own transaction, as many rows as it adds: the excess does not grow.
      log.append([{ type: 'notification', topic: 'a', title: 'new', priority: 3 }]);
      expect(log.count).toBe(TOTAL - step);
      expect(log.oldestId).toBe(step + 2);
      expect(log.pruneAll()).toBe(TOTAL - step - KEEP);
      expect(log.count).toBe(KEEP);
      expect(log.pruneStats).toEqual({ steps: Math.ceil((TOTAL - KEEP) / step), rows: TOTAL - KEEP, largestStep: step });
      expect(log.readAfter(0, { limit: 1 })[0]!.id).toBe(TOTAL + 1 - KEEP + 1);
      // At the bound, each publish deletes exactly what it adds.
      log.append([1, 2, 3].map((n) => ({ type: 'notification', topic: 'a', title: `at the bound ${n}`, priority: 3 }) as const));
      expect(log.count).toBe(KEEP);
      expect(log.oldestId).toBe(TOTAL + 4 - KEEP + 1);
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('by age too: one window of the oldest rows per step, however old the whole log is', () => {
    const dir = tempDir();
    let now = 1_000_000;
    bigLog(dir, { now: () => now });
    now += 10_000;
    const log = new EventLog({ dataDir: dir, retention: { maxAgeMs: 5_000 }, now: () => now });
    try {
      log.append([{ type: 'notification', topic: 'a', title: 'fresh', priority: 3 }]);
      // The append took one step, and every read (this count too) takes one more.
      expect(log.count).toBe(TOTAL + 1 - 2 * PRUNE_STEP_ROWS);
      expect(log.count).toBe(TOTAL + 1 - 3 * PRUNE_STEP_ROWS);
      log.pruneAll();
      expect(log.count).toBe(1);
      expect(log.readAfter(0, { limit: 10 }).map((e) => e.id)).toEqual([TOTAL + 1]);
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a server on such a log listens before pruning anything, then prunes in bounded steps while it serves publishes, reads and resumes', async () => {
    const dir = tempDir();
    bigLog(dir);
    const step = 50;
    const store = new SqliteStore({ dataDir: dir, retention: { maxEvents: KEEP }, pruneStepRows: step });
    let atListen: number | undefined;
    try {
      t = await startTestServer({ store, log: (line) => line.startsWith('listening') && (atListen = store.log.count) });
      // Nothing was deleted before the server listened (the whole excess used to go first).
      expect(atListen).toBe(TOTAL);
      const health = async () => (await (await fetch(`${t!.url}/health`)).json()) as { storedEvents: number; lastId: string };
      // A publish and reads are answered while the log is still over its bound, part pruned.
      const [during, published, page] = await Promise.all([
        health(),
        publish(t.url, { title: 'during the prune' }),
        history(t.url, 'last=1'),
      ]);
      expect(during.storedEvents).toBeGreaterThan(KEEP);
      expect(during.storedEvents).toBeLessThan(TOTAL);
      expect(published.id).toBe(String(TOTAL + 1));
      expect(page.events.length).toBe(1);
      await waitFor(() => store.log.count === KEEP, 'the log pruned to its bound');
      const stats = store.log.pruneStats;
      expect(stats.largestStep).toBeLessThanOrEqual(step);
      expect(stats.steps).toBeGreaterThanOrEqual(Math.floor((TOTAL - KEEP) / step));

      // A client resuming from an id the pruning removed is told what it lost, then gets what is kept.
      const client = listen(`${t.url}/events`, { types: ALL_TYPES, headers: { 'Last-Event-ID': '10' } });
      await waitFor(() => client.received.length === KEEP + 1, 'gap + the kept events');
      client.close();
      const [gap, ...rest] = client.received;
      const firstKept = TOTAL + 1 - KEEP + 1;
      expect(gap!.type).toBe(GAP_TYPE);
      expect((JSON.parse(gap!.data) as HeraldEvent).gap).toEqual({
        afterId: '10',
        throughId: String(firstKept - 1),
        missed: firstKept - 1 - 10,
      });
      expect(rest.map((r) => Number(r.lastEventId))).toEqual(Array.from({ length: KEEP }, (_, i) => firstKept + i));
      expect(JSON.parse(rest.at(-1)!.data)).toMatchObject({ title: 'during the prune' });
      expect((await history(t.url, 'after=10&limit=1')).gap).toEqual({
        afterId: '10',
        throughId: String(firstKept - 1),
        missed: firstKept - 1 - 10,
      });
    } finally {
      await t?.cleanup();
      t = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a replay that retention overtakes while its reader is slow gets a gap notice, never a silent hole', async () => {
    const dir = tempDir();
    // 5,000 events of ~2 KB: ~10 MB, more than twice what loopback's socket buffers (4 MiB at
    // most here) and one replay page hold for a reader that stops.
    const count = 5_000;
    const added = 4_000;
    bigLog(dir, { count, body: 'x'.repeat(2000) });
    const store = new SqliteStore({ dataDir: dir, retention: { maxEvents: count } });
    try {
      t = await startTestServer({ store, stallTimeoutMs: 120_000 });
      const { port } = new URL(t.url);
      const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nLast-Event-ID: 0\r\n\r\n`);
      socket.pause();
      // The replay is stuck on a full socket: Node holds its page, over and over.
      let holding = 0;
      await waitFor(() => {
        holding = t!.server.stats().streamsHolding === 1 ? holding + 1 : 0;
        return holding >= 5;
      }, 'the replay to wait for its reader');
      // Meanwhile the log stays at its bound: 4,000 more events push out the 4,000 oldest,
      // some of which the replay has not reached.
      for (let i = 0; i < added; i += 1000) {
        await store.appendBatch(
          Array.from({ length: 1000 }, (_, k) => ({
            input: { type: 'notification', topic: 'a', title: `later ${i + k + 1}`, priority: 3 } as const,
          })),
        );
      }
      expect(store.log.oldestId).toBe(added + 1);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.resume();
      await waitFor(() => text.includes(`id: ${count + added}\n`), 'the replay to reach the newest event', 30_000);
      socket.destroy();
      const frames = text.split('\n\n').flatMap((frame) => {
        const id = /^id: (\d+)$/m.exec(frame)?.[1];
        const type = /^event: (.+)$/m.exec(frame)?.[1];
        return id !== undefined && type !== undefined ? [{ id: Number(id), type, frame }] : [];
      });
      const gaps = frames.filter((f) => f.type === GAP_TYPE);
      expect(gaps.length).toBe(1);
      const at = frames.indexOf(gaps[0]!);
      const before = frames[at - 1]!.id;
      expect(before).toBeLessThan(added);
      expect(JSON.parse(gaps[0]!.frame.slice(gaps[0]!.frame.indexOf('data: ') + 6))).toMatchObject({
        gap: { afterId: String(before), throughId: String(added), missed: added - before },
      });
      // Every id is accounted for, once: 1..before, the gap's hole, then added+1 to the newest.
      const events = frames.filter((f) => f.type === 'notification').map((f) => f.id);
      expect(events).toEqual([
        ...Array.from({ length: before }, (_, i) => i + 1),
        ...Array.from({ length: count }, (_, i) => added + 1 + i),
      ]);
    } finally {
      await t?.cleanup();
      t = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reset', () => {
  it('tells a client whose id is newer than the log that the log was replaced, then sends everything from the start', async () => {
    t = await startTestServer();
    for (let i = 1; i <= 3; i++) await publish(t.url, { title: `new log ${i}` });
    // A client that knew an older, longer log (id 40) comes back.
    const client = listen(`${t.url}/events`, { types: ALL_TYPES, headers: { 'Last-Event-ID': '40' } });
    await waitFor(() => client.received.length === 4, 'reset + 3 events');
    await publish(t.url, { title: 'live' });
    await waitFor(() => client.received.length === 5, 'live event');
    client.close();
    const [reset, ...rest] = client.received;
    expect(reset!.type).toBe(RESET_TYPE);
    expect(reset!.lastEventId).toBe('0');
    expect(JSON.parse(reset!.data)).toMatchObject({
      id: '0',
      type: RESET_TYPE,
      topic: 'herald',
      title: "The server's event log was reset",
    });
    expect(rest.map((r) => r.lastEventId)).toEqual(['1', '2', '3', '4']);
    expect((await history(t.url, 'after=40')).reset).toBe(true);
  });

  it("tells a client whose cursor is from another log's epoch, whatever its id, and carries the epoch everywhere", async () => {
    t = await startTestServer();
    for (let i = 1; i <= 4; i++) await publish(t.url, { title: `e${i}` });
    const health = (await (await fetch(`${t.url}/health`)).json()) as { epoch: string };
    const epoch = health.epoch;
    expect(epoch).toMatch(/^[0-9a-f]{16}$/);
    const other = epoch === '0123456789abcdef' ? 'fedcba9876543210' : '0123456789abcdef';

    // Same id (2), three answers: this log's epoch continues; another's is a reset; none: by id alone.
    const same = listen(`${t.url}/events`, { types: ALL_TYPES, headers: { 'Last-Event-ID': '2', 'Herald-Log-Epoch': epoch } });
    const foreign = listen(`${t.url}/events`, { types: ALL_TYPES, headers: { 'Last-Event-ID': '2', 'Herald-Log-Epoch': other } });
    const byQuery = listen(`${t.url}/events?lastEventId=2&epoch=${other}`, { types: ALL_TYPES });
    const none = listen(`${t.url}/events`, { types: ALL_TYPES, headers: { 'Last-Event-ID': '2' } });
    await waitFor(
      () => same.received.length === 2 && foreign.received.length === 5 && byQuery.received.length === 5 && none.received.length === 2,
      'replays',
    );
    for (const c of [same, foreign, byQuery, none]) c.close();
    expect(same.received.map((r) => r.lastEventId)).toEqual(['3', '4']);
    expect(none.received.map((r) => r.lastEventId)).toEqual(['3', '4']);
    for (const c of [foreign, byQuery]) {
      expect(c.received.map((r) => r.lastEventId)).toEqual(['0', '1', '2', '3', '4']);
      expect(JSON.parse(c.received[0]!.data)).toMatchObject({ type: RESET_TYPE, reset: { epoch } });
    }

    const head = await fetch(`${t.url}/events`, { headers: { 'Last-Event-ID': '4' } });
    expect(head.headers.get('herald-log-epoch')).toBe(epoch);
    await head.body?.cancel();
    const page = await history(t.url, `after=2&epoch=${other}`);
    expect(page.reset).toBe(true);
    expect(page.epoch).toBe(epoch);
    expect(page.events.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    expect((await history(t.url, `after=2&epoch=${epoch}`)).events.map((e) => e.id)).toEqual(['3', '4']);
  });
});

describe('the log epoch', () => {
  it('is kept with the log across reopening, and a new log gets its own', () => {
    const dirs = [tempDir(), tempDir()];
    try {
      const first = new EventLog({ dataDir: dirs[0]! });
      const epoch = first.epoch;
      first.append([{ type: 'notification', topic: 'a', title: 'x', priority: 3 }]);
      first.close();
      const reopened = new EventLog({ dataDir: dirs[0]! });
      expect(reopened.epoch).toBe(epoch);
      expect(reopened.planResume(1, epoch)).toEqual({ kind: 'continue' });
      expect(reopened.planResume(0, 'fedcba9876543210')).toEqual({ kind: 'continue' }); // from 0 there is nothing to undo
      reopened.close();
      const fresh = new EventLog({ dataDir: dirs[1]! });
      expect(fresh.epoch).toMatch(/^[0-9a-f]{16}$/);
      expect(fresh.epoch).not.toBe(epoch);
      expect(fresh.planResume(1, epoch)).toEqual({ kind: 'reset' });
      fresh.close();
    } finally {
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
