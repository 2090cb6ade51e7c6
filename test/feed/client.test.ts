// The feed client's rules one at a time: gap and reset from the real server, custom event types,
// dedup against a server that replays what it should not, handler errors, a wrong content type,
// resume(), and a process that ends once the client is stopped.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedClient } from '../../feed/client.ts';
import type { Cursor, CursorStore, FeedClientOptions } from '../../feed/client.ts';
import { FileCursorStore } from '../../feed/cursor-file.ts';
import type { FeedState } from '../../events/feed-state.ts';
import { frameEvent, frameRetry } from '../../events/sse.ts';
import type { HeraldEvent } from '../../events/event.ts';
import { FaultProxy } from './proxy.ts';
import { publish, serve, sleep, tempDir, waitFor } from './support.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A cursor store in memory; `saved` lists the ids in the order they were saved, `epochs` their epochs. */
function memoryCursor(
  initial?: string,
  epoch?: string,
): CursorStore & { saved: string[]; epochs: (string | undefined)[]; id(): string | undefined } {
  let current: Cursor | undefined = initial === undefined ? undefined : { lastEventId: initial, ...(epoch ? { epoch } : {}) };
  const saved: string[] = [];
  const epochs: (string | undefined)[] = [];
  return {
    saved,
    epochs,
    id: () => current?.lastEventId,
    load: () => current,
    save: (cursor) => {
      current = cursor;
      saved.push(cursor.lastEventId);
      epochs.push(cursor.epoch);
    },
  };
}

function feed(options: Omit<FeedClientOptions, 'onEvent'> & { onEvent?: FeedClientOptions['onEvent'] }) {
  const events: HeraldEvent[] = [];
  const states: FeedState[] = [];
  const client = new FeedClient({
    minBackoffMs: 20,
    maxBackoffMs: 200,
    heartbeatTimeoutMs: 2000,
    ...options,
    onEvent: options.onEvent ?? ((e) => void events.push(e)),
    onState: (s) => states.push(s),
  });
  cleanups.push(() => client.stop());
  return { client, events, states };
}

async function realServer(options: Parameters<typeof serve>[1] = {}) {
  const dir = tempDir('client');
  const server = await serve(path.join(dir, 'data'), options);
  cleanups.push(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { server, dir };
}

async function httpServer(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

const sample = (id: number, type = 'notification'): string =>
  frameEvent({
    id: String(id),
    event: type,
    data: JSON.stringify({ id: String(id), type, topic: 't', time: new Date().toISOString(), title: `n${id}`, priority: 3 }),
  });

describe('FeedClient', () => {
  it('passes on a gap notice and saves its id, then the retained events', async () => {
    const { server } = await realServer({ retention: { maxEvents: 5 } });
    for (let i = 1; i <= 20; i++) await publish(server.url, { title: `e${i}` });
    const cursor = memoryCursor('2');
    const f = feed({ url: server.url, cursor });
    f.client.start();
    await waitFor('gap and 5 events', () => f.events.length >= 6);
    const [gap, ...rest] = f.events;
    expect(gap!.type).toBe('herald.gap');
    expect(gap!.gap).toMatchObject({ afterId: '2', throughId: String(Number(rest[0]!.id) - 1) });
    expect(gap!.gap!.missed).toBe(Number(gap!.gap!.throughId) - 2);
    expect(rest.map((e) => e.title)).toEqual(['e16', 'e17', 'e18', 'e19', 'e20']);
    expect(cursor.saved).toEqual([gap!.id, ...rest.map((e) => e.id)]);
  });

  it('on its first run starts from the newest stored id, so events published while that first connection is down are not lost', async () => {
    const { server } = await realServer();
    for (let i = 1; i <= 3; i++) await publish(server.url, { title: `old${i}` });
    const cursor = memoryCursor();
    const first = feed({ url: server.url, cursor });
    first.client.start();
    await waitFor('the first stream to open', () => first.states.some((s) => s.status === 'open'));
    // "From now" became a cursor the moment the stream opened, before any event arrived.
    expect(cursor.id()).toBe('3');
    first.client.stop();

    await publish(server.url, { title: 'while-away-1' });
    await publish(server.url, { title: 'while-away-2' });
    const second = feed({ url: server.url, cursor });
    second.client.start();
    await waitFor('the two events from the gap', () => second.events.length >= 2);
    expect(second.events.map((e) => e.title)).toEqual(['while-away-1', 'while-away-2']);
    expect(first.events).toEqual([]);
  });

  it("takes events named 'error' or 'open' (another server's) for events, not for the connection's own", async () => {
    // Herald refuses those types at publish; a client must still not jam on a server that sends them.
    const { url } = await httpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(sample(1, 'error') + sample(2, 'open') + sample(3));
    });
    const f = feed({ url, cursor: memoryCursor() });
    f.client.start();
    await waitFor('three events', () => f.events.length >= 3);
    expect(f.events.map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(f.states.map((s) => s.status)).not.toContain('reconnecting');
  });

  it('on a reset moves its cursor back to 0 and takes the new log from its start', async () => {
    const { server } = await realServer();
    for (let i = 1; i <= 3; i++) await publish(server.url, { title: `new${i}` });
    const cursor = memoryCursor('999'); // a cursor from a log that was wiped
    const f = feed({ url: server.url, cursor });
    f.client.start();
    await waitFor('reset and 3 events', () => f.events.length >= 4);
    expect(f.events.map((e) => [e.type, e.id])).toEqual([
      ['herald.reset', '0'],
      ['notification', '1'],
      ['notification', '2'],
      ['notification', '3'],
    ]);
    expect(cursor.id()).toBe('3');
    f.client.stop();
    const again = feed({ url: server.url, cursor });
    again.client.start();
    await waitFor('open', () => again.client.state.status === 'open');
    await publish(server.url, { title: 'new4' });
    await waitFor('new4', () => again.events.length >= 1);
    await sleep(100);
    expect(again.events.map((e) => e.title)).toEqual(['new4']);
  });

  it('knows a replaced log by its epoch, even when the new log has already passed its cursor', async () => {
    const dir = tempDir('epoch');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const first = await serve(path.join(dir, 'first'));
    for (let i = 1; i <= 3; i++) await publish(first.url, { title: `old${i}` });
    const cursor = memoryCursor('0');
    const before = feed({ url: first.url, cursor });
    before.client.start();
    await waitFor('the first log', () => cursor.id() === '3');
    before.client.stop();
    const firstEpoch = cursor.load()!.epoch!;
    expect(firstEpoch).toMatch(/^[0-9a-f]{16}$/);
    const port = Number(new URL(first.url).port);
    await first.close();

    // The data directory is gone: a new log at the same address, already past the cursor (id 3).
    const second = await serve(path.join(dir, 'second'), { port });
    cleanups.push(() => second.close());
    for (let i = 1; i <= 5; i++) await publish(second.url, { title: `new${i}` });
    const after = feed({ url: second.url, cursor });
    after.client.start();
    await waitFor('reset and 5 events', () => after.events.length >= 6);
    expect(after.events.map((e) => [e.type, e.title])).toEqual([
      ['herald.reset', "The server's event log was reset"],
      ...[1, 2, 3, 4, 5].map((i) => ['notification', `new${i}`]),
    ]);
    expect(cursor.load()!.lastEventId).toBe('5');
    expect(cursor.load()!.epoch).toMatch(/^[0-9a-f]{16}$/);
    expect(cursor.load()!.epoch).not.toBe(firstEpoch);
    after.client.stop();

    // A cursor written before epochs (no epoch) can only be checked by its id: 1 to 3 look seen.
    const legacy = memoryCursor('3');
    const old = feed({ url: second.url, cursor: legacy });
    old.client.start();
    await waitFor('the events after 3', () => old.events.length >= 2);
    await sleep(100);
    expect(old.events.map((e) => e.title)).toEqual(['new4', 'new5']);
    expect(legacy.load()).toEqual({ lastEventId: '5', epoch: cursor.load()!.epoch });
  });

  it('delivers publishers’ own event types, and filters by topic', async () => {
    const { server } = await realServer();
    const f = feed({ url: server.url, cursor: memoryCursor('0'), topics: ['deploy', 'ops'] });
    f.client.start();
    await waitFor('open', () => f.client.state.status === 'open');
    await publish(server.url, { type: 'deploy.done', topic: 'deploy', title: 'shipped' });
    await publish(server.url, { topic: 'build', title: 'not mine' });
    await publish(server.url, { type: 'backup_ok', topic: 'ops', title: 'backed up' });
    await waitFor('2 events', () => f.events.length >= 2);
    await sleep(100);
    expect(f.events.map((e) => [e.type, e.title])).toEqual([
      ['deploy.done', 'shipped'],
      ['backup_ok', 'backed up'],
    ]);
  });

  it('drops ids at or below its cursor, even from a server that replays everything', async () => {
    let connections = 0;
    const seen: (string | undefined)[] = [];
    const { url } = await httpServer((req, res) => {
      connections++;
      seen.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frameRetry(10));
      for (let id = 1; id <= connections * 2; id++) res.write(sample(id, id % 2 ? 'job.completed' : 'deploy.done'));
      res.end(); // and again, from the start
    });
    const cursor = memoryCursor();
    const f = feed({ url, cursor, minBackoffMs: 10, maxBackoffMs: 20 });
    f.client.start();
    await waitFor('8 events', () => f.events.length >= 8);
    f.client.stop();
    expect(f.events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(seen.slice(0, 3)).toEqual([undefined, '2', '4']);
    expect(cursor.id()).toBe('8');
  });

  it('handles one event at a time, and still advances past a handler that throws', async () => {
    const { url } = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let id = 1; id <= 4; id++) res.write(sample(id));
    });
    const order: string[] = [];
    const logs: string[] = [];
    const cursor = memoryCursor();
    const f = feed({
      url,
      cursor,
      log: (l) => logs.push(l),
      onEvent: async (e) => {
        order.push(`start ${e.id}`);
        await sleep(e.id === '1' ? 50 : 1);
        order.push(`end ${e.id}`);
        if (e.id === '2') throw new Error('handler bug');
      },
    });
    f.client.start();
    await waitFor('cursor at 4', () => cursor.id() === '4');
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
    expect(cursor.saved).toEqual(['1', '2', '3', '4']);
    expect(logs.join('\n')).toMatch(/event 2: Error: handler bug/);
  });

  it('keeps trying after a wrong content type and a 500, saying why', async () => {
    let n = 0;
    const { url } = await httpServer((_req, res) => {
      n++;
      if (n === 1) return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
      if (n === 2) return res.writeHead(500).end();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sample(1));
    });
    const f = feed({ url, cursor: memoryCursor() });
    f.client.start();
    await waitFor('the event', () => f.events.length === 1);
    const failures = f.states.filter((s) => s.status === 'reconnecting');
    expect(failures[0]!.reason).toMatch(/content type/);
    expect(failures[1]).toMatchObject({ httpStatus: 500, reason: 'HTTP 500 Internal Server Error' });
    expect(failures[1]!.nextAttemptAt).toBeGreaterThan(failures[1]!.since - 1);
  });

  it("takes the server's retry: as the floor of its backoff, even split across chunks", async () => {
    const { url } = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('ret');
      setTimeout(() => res.end('ry: 700\n\n'), 20);
    });
    const f = feed({ url, cursor: memoryCursor(), minBackoffMs: 10, maxBackoffMs: 20 });
    f.client.start();
    await waitFor('a scheduled retry', () => f.client.state.status === 'reconnecting');
    const { nextAttemptAt, since } = f.client.state;
    f.client.stop();
    expect(nextAttemptAt! - since).toBeGreaterThanOrEqual(700);
    expect(nextAttemptAt! - since).toBeLessThan(1500);
  });

  it('resume() reconnects at once instead of waiting out the backoff', async () => {
    const { server } = await realServer();
    const proxy = await FaultProxy.start(server.port);
    cleanups.push(() => proxy.close());
    proxy.refuse(true);
    const f = feed({ url: proxy.url, cursor: memoryCursor('0'), minBackoffMs: 60_000, maxBackoffMs: 120_000 });
    f.client.start();
    await waitFor('a scheduled retry', () => f.client.state.status === 'reconnecting');
    expect(f.client.state.nextAttemptAt! - Date.now()).toBeGreaterThan(50_000);
    proxy.refuse(false);
    f.client.resume();
    await waitFor('open', () => f.client.state.status === 'open', 5000);
    const accepted = proxy.accepted;
    f.client.resume(); // open and fresh: nothing to do
    await publish(server.url, { title: 'after resume' });
    await waitFor('the event', () => f.events.length === 1);
    expect(proxy.accepted).toBe(accepted);
  });

  it('resume() drops an open connection that went silent (after sleep) before the watchdog would', async () => {
    const { server } = await realServer();
    const proxy = await FaultProxy.start(server.port);
    cleanups.push(() => proxy.close());
    const f = feed({ url: proxy.url, cursor: memoryCursor('0'), heartbeatTimeoutMs: 1500 });
    f.client.start();
    await waitFor('open', () => f.client.state.status === 'open');
    proxy.stallAll();
    await sleep(700); // silent for more than a heartbeat interval (1500 / 3)
    const accepted = proxy.accepted;
    f.client.resume();
    await waitFor('a new connection', () => proxy.accepted === accepted + 1, 1000);
    await publish(server.url, { title: 'after wake' });
    await waitFor('the event', () => f.events.length === 1, 1000);
    expect(f.states.some((s) => /no data/.test(s.reason ?? ''))).toBe(false);
  });

  it('saves its cursor atomically to a file and reads it back', () => {
    const dir = tempDir('cursor');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'nested', 'cursor.json');
    const store = new FileCursorStore(file);
    expect(store.load()).toBeUndefined();
    store.save({ lastEventId: '41' });
    store.save({ lastEventId: '42', epoch: '0123456789abcdef' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ lastEventId: '42', epoch: '0123456789abcdef' });
    expect(new FileCursorStore(file).load()).toEqual({ lastEventId: '42', epoch: '0123456789abcdef' });
    store.save({ lastEventId: '43' });
    expect(new FileCursorStore(file).load()).toEqual({ lastEventId: '43' });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['cursor.json']);
    fs.writeFileSync(file, '{"lastEventId": "abc"}');
    expect(() => store.load()).toThrow(/fix it or delete it/);
  });

  it('lets a Node process end once stopped: no timer or socket left behind', async () => {
    const { server } = await realServer();
    const script = `
      import { FeedClient } from ${JSON.stringify(path.resolve('feed/client.ts'))};
      const c = new FeedClient({ url: ${JSON.stringify(server.url)}, cursor: { load: () => '0', save() {} }, onEvent() {},
        onState: (s) => { if (s.status === 'open') { console.log('open'); c.stop(); } } });
      c.start();`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out.trim()).toBe('open');
    expect(code).toBe(0);
  });
});
