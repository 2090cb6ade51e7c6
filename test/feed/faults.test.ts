// The feed client against the real server, through a proxy that breaks things, while a known
// sequence is published: every event must arrive exactly once, in order, across all of it.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedClient } from '../../feed/client.ts';
import type { FeedClientOptions } from '../../feed/client.ts';
import { FileCursorStore } from '../../feed/cursor-file.ts';
import type { FeedState } from '../../events/feed-state.ts';
import type { HeraldEvent } from '../../events/event.ts';
import type { RunningServer } from '../../server/serve.ts';
import { FaultProxy } from './proxy.ts';
import { publish, serve, sleep, tempDir, waitFor } from './support.ts';

/** A server that answers every request with one status (204, 401, 503…) and counts them. */
async function statusServer(status: number): Promise<{ port: number; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server = http.createServer((_req, res) => {
    state.requests++;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 204 ? undefined : '{"error":{"code":"x","message":"x"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get requests() {
      return state.requests;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function recorder() {
  const events: HeraldEvent[] = [];
  const states: FeedState[] = [];
  return { events, states, titles: () => events.map((e) => e.title), last: () => states.at(-1) };
}

function client(url: string, cursor: FileCursorStore, rec: ReturnType<typeof recorder>, over: Partial<FeedClientOptions> = {}): FeedClient {
  const c = new FeedClient({
    url,
    cursor,
    onEvent: async (e) => {
      rec.events.push(e);
      if (Number(e.id) % 7 === 0) await sleep(5); // a slow handler now and then: order must hold
    },
    onState: (s) => rec.states.push(s),
    heartbeatTimeoutMs: 800,
    minBackoffMs: 30,
    maxBackoffMs: 300,
    authRetryMs: 300,
    ...over,
  });
  cleanups.push(() => c.stop());
  return c;
}

describe('FeedClient under faults', () => {
  it('delivers a published sequence exactly once, in order, through resets, cuts, stalls, slicing, restarts, 503, 401 and a refused port; 204 stops it', async () => {
    const dir = tempDir('faults');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    let server: RunningServer = await serve(path.join(dir, 'data'));
    const port = server.port;
    cleanups.push(() => server.close());
    const proxy = await FaultProxy.start(port);
    cleanups.push(() => proxy.close());
    const cursor = new FileCursorStore(path.join(dir, 'cursor.json'));
    const rec = recorder();
    let feed = client(proxy.url, cursor, rec);
    feed.start();
    await waitFor('the first connection', () => feed.state.status === 'open');

    const TOTAL = 200;
    let published = 0;
    let serverDown = false;
    const publisher = (async () => {
      for (let i = 1; i <= TOTAL; i++) {
        // Stay a little ahead of the client, so events are published during every fault.
        while (i - rec.events.length > 12) await sleep(5);
        const event =
          i % 10 === 0
            ? { type: 'deploy.done', topic: 'deploy', title: `seq-${i}` }
            : i % 10 === 5
              ? { type: 'job.completed', topic: 'build', title: `seq-${i}`, job: { id: `j${i}`, status: 'succeeded', durationMs: i } }
              : { topic: 'build', title: `seq-${i}`, body: `event ${i}\nsecond line` };
        for (;;) {
          if (!serverDown) {
            try {
              await publish(`http://127.0.0.1:${port}`, event);
              break;
            } catch {
              // the server is restarting: try again
            }
          }
          await sleep(20);
        }
        published = i;
        await sleep(3);
      }
    })();
    const received = (n: number) =>
      waitFor(
        () => `${n} events (have ${rec.events.length}, last id ${rec.events.at(-1)?.id}, published ${published})`,
        () => rec.events.length >= n,
        15_000,
      );

    await received(15);
    proxy.resetAll();
    await received(30);
    proxy.cutAll();
    await received(45);
    proxy.slice(true);
    proxy.cutAll(); // the next connection (replay included) arrives a byte at a time
    await received(60);
    proxy.slice(false);
    proxy.stallAll();
    await waitFor('the watchdog', () => rec.states.some((s) => /no data/.test(s.reason ?? '')), 5000);
    await received(75);

    // The server goes away and comes back on the same data dir and port.
    serverDown = true;
    await server.close();
    await waitFor('offline', () => feed.state.status === 'offline', 5000);
    server = await serve(path.join(dir, 'data'), { port });
    serverDown = false;
    await received(95);

    // The client itself restarts: a new FeedClient on the same cursor file.
    feed.stop();
    expect(feed.state.status).toBe('stopped');
    feed = client(proxy.url, cursor, rec);
    feed.start();
    await received(110);

    // A misbehaving front end: 503, then 401, then the real server again.
    const s503 = await statusServer(503);
    cleanups.push(() => s503.close());
    proxy.setTarget(s503.port);
    proxy.cutAll();
    await waitFor('HTTP 503 seen', () => rec.states.some((s) => s.status === 'reconnecting' && s.httpStatus === 503), 5000);
    const s401 = await statusServer(401);
    cleanups.push(() => s401.close());
    proxy.setTarget(s401.port);
    await waitFor('auth-failed', () => feed.state.status === 'auth-failed', 5000);
    expect(feed.state.reason).toMatch(/token/);
    proxy.setTarget(port);
    await received(125);

    // Refused connections, then back.
    proxy.refuse(true);
    proxy.resetAll();
    await waitFor('offline while refused', () => feed.state.status === 'offline', 5000);
    proxy.refuse(false);
    await received(TOTAL);
    await publisher;
    await sleep(300); // nothing more may trickle in
    expect(rec.titles()).toEqual(Array.from({ length: TOTAL }, (_, i) => `seq-${i + 1}`));
    const ids = rec.events.map((e) => Number(e.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(rec.events.filter((e) => e.type === 'deploy.done')).toHaveLength(TOTAL / 10);
    expect(cursor.load()?.lastEventId).toBe(rec.events.at(-1)!.id);

    // 204: stopped for good, no further attempts.
    const s204 = await statusServer(204);
    cleanups.push(() => s204.close());
    proxy.setTarget(s204.port);
    proxy.cutAll();
    await waitFor('stopped by 204', () => feed.state.status === 'stopped', 5000);
    expect(feed.state.httpStatus).toBe(204);
    await sleep(500);
    expect(s204.requests).toBe(1);
  }, 90_000);
});
