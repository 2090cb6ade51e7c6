// The shared heartbeat: one timer in the hub for every stream, ticking every heartbeatMs / 2. An
// idle stream gets a comment every heartbeatMs, a stream that had bytes since the last tick gets
// none, and the timer runs only while a stream is open. Real server and sockets; only the hub's
// setInterval is driven by hand, so the ticks fall exactly between the publishes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publish, rawStream, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await t?.cleanup();
  t = undefined;
});

const heartbeats = (text: string) => (text.match(/^: heartbeat\n\n/gm) ?? []).length;

describe('the shared heartbeat', () => {
  it('writes to idle streams every heartbeatMs, skips streams that had bytes, and stops with the last stream', async () => {
    t = await startTestServer({ heartbeatMs: 1000 });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    expect(t.server.stats().heartbeatRunning).toBe(false);

    const idle = await rawStream(`${t.url}/events?topic=quiet`);
    const busy = await rawStream(`${t.url}/events?topic=busy`);
    await waitFor(() => idle.text.startsWith('retry:') && busy.text.startsWith('retry:'), 'both streams open');
    expect(t.server.stats()).toMatchObject({ streams: 2, heartbeatRunning: true });
    expect(vi.getTimerCount()).toBe(1); // one timer for both streams

    for (let tick = 1; tick <= 6; tick++) {
      const e = await publish(t.url, { title: `busy ${tick}`, topic: 'busy' });
      await waitFor(() => busy.text.includes(`id: ${e.id}\n`), `busy event ${tick}`);
      vi.advanceTimersByTime(500); // one tick: heartbeatMs / 2
      // The idle stream had bytes (retry, then each heartbeat) one tick ago, none the tick after.
      await waitFor(() => heartbeats(idle.text) === Math.floor(tick / 2), `idle heartbeats after tick ${tick}`);
    }
    // A last event on each stream: whatever the ticks wrote has arrived before it.
    const quietEnd = await publish(t.url, { title: 'end', topic: 'quiet' });
    const busyEnd = await publish(t.url, { title: 'end', topic: 'busy' });
    await waitFor(() => idle.text.includes(`id: ${quietEnd.id}\n`) && busy.text.includes(`id: ${busyEnd.id}\n`), 'the last events');
    expect(heartbeats(idle.text)).toBe(3);
    expect(heartbeats(busy.text)).toBe(0);
    expect(t.server.stats().heartbeats).toBe(3);

    await idle.close();
    await waitFor(() => t!.server.stats().streams === 1, 'one stream left');
    expect(t.server.stats().heartbeatRunning).toBe(true);
    await busy.close();
    await waitFor(() => t!.server.stats().streams === 0, 'no stream left');
    expect(t.server.stats().heartbeatRunning).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('starts again with the next stream and reaches it at the real interval', async () => {
    t = await startTestServer({ heartbeatMs: 100 });
    const first = await rawStream(`${t.url}/connect`);
    await waitFor(() => first.text.startsWith('retry:'), 'first stream open');
    await first.close();
    await waitFor(() => !t!.server.stats().heartbeatRunning, 'timer stopped');

    const second = await rawStream(`${t.url}/connect`);
    await waitFor(() => heartbeats(second.text) >= 2, 'two heartbeats on the next stream');
    expect(second.text.startsWith('retry: ')).toBe(true);
    await second.close();
  });

  it('sends herald.heartbeat events instead, at once and then as often, to a stream that asks with heartbeat=event', async () => {
    t = await startTestServer({ heartbeatMs: 100 });
    const frame = 'event: herald.heartbeat\ndata: {"intervalMs":100}\n\n';
    const events = (text: string) => text.split(frame).length - 1;
    const asking = await rawStream(`${t.url}/connect?heartbeat=event`);
    const plain = await rawStream(`${t.url}/connect`);
    await waitFor(() => asking.text.startsWith('retry:'), 'stream open');
    // Right after retry:, before any silence: the client learns the interval at once.
    expect(asking.text).toMatch(/^retry: \d+\n\nevent: herald\.heartbeat\ndata: \{"intervalMs":100\}\n\n/);
    await waitFor(() => events(asking.text) >= 3 && heartbeats(plain.text) >= 2, 'heartbeats on both streams');
    expect(heartbeats(asking.text)).toBe(0);
    expect(events(plain.text)).toBe(0);
    // No id: line, so a browser's Last-Event-ID is untouched; and events still come through.
    const e = await publish(t.url, { title: 'still here' });
    await waitFor(() => asking.text.includes(`id: ${e.id}\n`), 'the event');
    expect(asking.text).not.toMatch(/event: herald\.heartbeat\nid:/);
    await asking.close();
    await plain.close();
    const bad = await fetch(`${t.url}/connect?heartbeat=often`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('heartbeat');
  });
});
