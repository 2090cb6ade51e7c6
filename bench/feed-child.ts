// Herald's own FeedClient (feed/client.ts, the one the desktop app and `herald listen` use) in a
// process of its own, so its CPU and wake-ups can be read from /proc while its stream sits idle.
// It publishes too (fetch POST), so publish and delivery are stamped on one monotonic clock.
// Usage: node bench/feed-child.ts <server url>
import { FeedClient, type Cursor } from '../feed/client.ts';
import type { HeraldEvent } from '../events/event.ts';
import { serveCommands } from './protocol.ts';
import { LatencyHistogram, type LatencySummary } from './stats.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: node bench/feed-child.ts <server url>');

let cursor: Cursor | undefined;
let onDelivery: ((event: HeraldEvent, at: number) => void) | null = null;
let status = 'new';
const opened: (() => void)[] = [];

const client = new FeedClient({
  url,
  cursor: { load: () => cursor, save: (saved) => void (cursor = saved) },
  onEvent: (event) => onDelivery?.(event, performance.now()),
  onState: (state) => {
    status = state.status;
    if (state.status === 'open') for (const resolve of opened.splice(0)) resolve();
  },
});

async function start(args: { timeoutMs?: number }): Promise<{ status: string; ms: number }> {
  const started = performance.now();
  client.start();
  if (status !== 'open') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the feed client did not open within ${args.timeoutMs ?? 10_000} ms (status ${status})`)),
        args.timeoutMs ?? 10_000,
      );
      opened.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return { status, ms: performance.now() - started };
}

async function latency(args: { count: number; rate: number }): Promise<{ delivered: number; latency: LatencySummary; errors: number }> {
  const sentAt = new Map<string, number>();
  const h = new LatencyHistogram();
  let errors = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (allDone = resolve));
  onDelivery = (event, at) => {
    const m = /^seq=(\d+)/.exec(event.body ?? '');
    const t = m ? sentAt.get(m[1]!) : undefined;
    if (t === undefined) return;
    h.record(at - t);
    if (h.count === args.count) allDone();
  };
  const started = performance.now();
  for (let i = 0; i < args.count; i++) {
    // Latency from when the publish was due, not from when this loop got round to it.
    const due = started + (i * 1000) / args.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.set(String(i), due);
    fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'bench', body: `seq=${i}` }),
    }).then(
      (r) => {
        if (r.status !== 201) errors++;
        return r.arrayBuffer();
      },
      () => void errors++,
    );
  }
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5000))]);
  onDelivery = null;
  return { delivered: h.count, latency: h.summary(), errors };
}

serveCommands({ pid: process.pid }, { start, latency, state: () => client.state }, () => client.stop());
