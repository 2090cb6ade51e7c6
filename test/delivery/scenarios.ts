// One set of delivery scenarios, run against both hosts of the feed: the desktop FeedClient under
// Node (test/feed/delivery.test.ts) and the web app's WebBridge in Chromium
// (test/browser/delivery.spec.ts), as the eventsource package runs one suite in Node and the
// browser. Each host has a thin driver (DeliveryHost); the scenarios, the server and the
// assertions are here, once. [PRODUCT] Every event reaches the user exactly once, in order.
import assert from 'node:assert/strict';
import type { GapInfo } from '../../events/event.ts';
import type { FeedState } from '../../events/feed-state.ts';
import { DeliveryServer, type DeliveryServerOptions } from './server.ts';

/** The timings both drivers give their host, and the server's: fast, so a scenario takes seconds. */
export const DELIVERY_TIMING = {
  /** The server's heartbeat; both hosts drop a stream silent for three of them. */
  heartbeatMs: 500,
  silentAfterMs: 1500,
  minBackoffMs: 50,
  maxBackoffMs: 500,
  /** Long: a refused token must not be retried within a scenario. */
  authRetryMs: 60_000,
  /** The events a host with a history keeps (the web bridge; default 500): a scenario publishes more. */
  historyLimit: 20,
} as const;

/** The host's saved place: what the next start resumes from. */
export interface SavedCursor {
  lastEventId: string;
  epoch?: string;
}

export interface HostStart {
  url: string;
  token?: string;
  /** Where a previous run left off. Absent: the host's first run. */
  cursor?: SavedCursor;
}

/** What the user got from the host so far. */
export interface Delivered {
  /** The titles of the events delivered (notices not included), in the order they arrived. */
  titles: string[];
  /** The gap notices (events the server no longer keeps), in order. */
  gaps: Pick<GapInfo, 'afterId' | 'throughId' | 'missed'>[];
  /** How many times the host said the server's log was replaced. */
  resets: number;
  /** The feed's state now, and every state it reported. */
  state: FeedState;
  states: FeedState[];
  /** The cursor the host saved (what a restart resumes from). */
  cursor: SavedCursor | undefined;
}

/** One host of the feed, driven by a test. */
export interface DeliveryHost {
  start(options: HostStart): Promise<void>;
  /** The user gave it another token (the host reconnects with it). */
  setToken(token: string): Promise<void>;
  delivered(): Promise<Delivered>;
  stop(): Promise<void>;
}

export interface DeliveryScenario {
  /** A behaviour sentence: the test's name in both runners. */
  name: string;
  server?: Omit<DeliveryServerOptions, 'heartbeatMs'>;
  run(host: DeliveryHost, server: DeliveryServer): Promise<void>;
}

/** Polls the host until `condition` holds; fails saying what it waited for and what it had. */
export async function until(
  host: DeliveryHost,
  what: string,
  condition: (d: Delivered) => boolean,
  timeoutMs = 20_000,
): Promise<Delivered> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const delivered = await host.delivered();
    if (condition(delivered)) return delivered;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; the host had ${JSON.stringify({ titles: delivered.titles, gaps: delivered.gaps, resets: delivered.resets, state: delivered.state })}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const isOpen = (d: Delivered) => d.state.status === 'open';
const isDown = (d: Delivered) => d.state.status === 'reconnecting' || d.state.status === 'offline';
const has = (title: string) => (d: Delivered) => d.titles.includes(title);

/** A first run that opens its stream and gets `title`, published once it is open. */
async function openAndDeliver(host: DeliveryHost, server: DeliveryServer, title: string): Promise<Delivered> {
  await host.start({ url: server.url });
  await until(host, 'the stream to open', isOpen);
  await server.publish(title);
  return until(host, `"${title}"`, has(title));
}

/**
 * The last event of a scenario: once it is delivered, everything published before it has had its
 * chance to arrive (a stream is in order), so a duplicate would already show.
 */
async function finish(host: DeliveryHost, server: DeliveryServer): Promise<Delivered> {
  const last = await server.publish('the last one');
  const delivered = await until(host, 'the last event', has('the last one'));
  assert.equal(delivered.cursor?.lastEventId, last.id, 'the saved cursor is the last event delivered');
  return delivered;
}

export const DELIVERY_SCENARIOS: readonly DeliveryScenario[] = [
  {
    name: 'delivers the events published while its server was down exactly once, when the server is back',
    async run(host, server) {
      await openAndDeliver(host, server, 'before');
      await server.stop();
      await until(host, 'reconnecting or offline', isDown);
      await server.publishWhileDown(['while down 1', 'while down 2']);
      await server.restart();
      await until(host, 'the events published while down', (d) => isOpen(d) && has('while down 2')(d));
      const delivered = await finish(host, server);
      assert.deepEqual(delivered.titles, ['before', 'while down 1', 'while down 2', 'the last one']);
      assert.deepEqual(delivered.gaps, []);
      assert.equal(delivered.resets, 0);
    },
  },
  {
    name: 'says which events the server no longer keeps (a gap), then delivers the ones it does, once',
    server: { maxEvents: 3 },
    async run(host, server) {
      const published = [];
      for (let i = 1; i <= 8; i++) published.push(await server.publish(`event ${i}`));
      // This host handled event 1 long ago; the server now keeps only the newest 3.
      await host.start({ url: server.url, cursor: { lastEventId: published[0]!.id } });
      await until(host, 'the gap and the kept events', (d) => d.gaps.length > 0 && has('event 8')(d));
      const delivered = await finish(host, server);
      assert.deepEqual(delivered.gaps, [{ afterId: published[0]!.id, throughId: published[4]!.id, missed: 4 }]);
      // The retention may drop one more as 'the last one' arrives: what was kept at the start is what counts.
      assert.deepEqual(delivered.titles, ['event 6', 'event 7', 'event 8', 'the last one']);
      assert.equal(delivered.resets, 0);
    },
  },
  {
    name: 'knows a replaced log by its epoch, even once the new log has passed its cursor, and takes the new log from its start',
    async run(host, server) {
      await openAndDeliver(host, server, 'old 1');
      await server.publish('old 2');
      const before = await until(host, 'the old log', has('old 2'));
      const oldEpoch = before.cursor?.epoch;
      assert.match(oldEpoch ?? '', /^[0-9a-f]{16}$/, 'the cursor holds the epoch of its log');
      // The data dir is wiped; the new log reaches id 3 before the host is back: past its cursor (2).
      await server.stop();
      await until(host, 'reconnecting or offline', isDown);
      server.wipe();
      await server.publishWhileDown(['new 1', 'new 2', 'new 3']);
      await server.restart();
      await until(host, 'the reset and the new log', (d) => d.resets > 0 && has('new 3')(d));
      const delivered = await finish(host, server);
      assert.deepEqual(delivered.titles, ['old 1', 'old 2', 'new 1', 'new 2', 'new 3', 'the last one']);
      assert.equal(delivered.resets, 1);
      assert.match(delivered.cursor?.epoch ?? '', /^[0-9a-f]{16}$/);
      assert.notEqual(delivered.cursor?.epoch, oldEpoch, 'the cursor now names the new log');
    },
  },
  {
    name: 'replaces a stream that stays open and goes silent; what it held back arrives once',
    async run(host, server) {
      await openAndDeliver(host, server, 'before the silence');
      const connections = server.connections;
      server.silence();
      await server.publish('held back');
      const after = await until(host, '"held back" on a new stream', has('held back'));
      assert.ok(server.connections > connections, 'a new connection was opened');
      assert.ok(
        after.states.some((s) => s.status !== 'open' && /silent|no data/.test(s.reason ?? '')),
        `the state said the stream went silent: ${JSON.stringify(after.states.map((s) => [s.status, s.reason]))}`,
      );
      const delivered = await finish(host, server);
      assert.deepEqual(delivered.titles, ['before the silence', 'held back', 'the last one']);
    },
  },
  {
    name: 'drops ids at or below its cursor, even from a server that replays everything, once its history no longer holds them',
    async run(host, server) {
      await openAndDeliver(host, server, 'event 1');
      const count = DELIVERY_TIMING.historyLimit + 5;
      const titles = Array.from({ length: count }, (_, i) => `event ${i + 1}`);
      for (const title of titles.slice(1)) await server.publish(title);
      const before = await until(host, `all ${count} events`, has(titles.at(-1)!));
      const opened = before.states.filter((s) => s.status === 'open').length;
      server.replayEverything();
      server.cut();
      await until(
        host,
        'a new stream, from a server that replays from 0',
        (d) => isOpen(d) && d.states.filter((s) => s.status === 'open').length > opened,
      );
      const delivered = await finish(host, server);
      assert.deepEqual(delivered.titles, [...titles, 'the last one']);
    },
  },
  {
    name: 'on a refused token says so, delivers nothing and waits, then delivers everything once the token is right',
    server: { token: 's3cret-token' },
    async run(host, server) {
      // A cursor at 0, so that both hosts owe the user every event once the token is right.
      await host.start({ url: server.url, token: 'wrong-token', cursor: { lastEventId: '0' } });
      const refused = await until(host, 'auth-failed', (d) => d.state.status === 'auth-failed');
      assert.equal(refused.state.httpStatus, 401);
      assert.match(refused.state.reason ?? '', /token/);
      // Not retried soon: asking again with the same token only fills the server's log.
      assert.ok(
        (refused.state.nextAttemptAt ?? 0) - refused.state.since >= DELIVERY_TIMING.authRetryMs,
        'the next attempt waits authRetryMs',
      );
      await server.publish('while refused');
      assert.deepEqual((await host.delivered()).titles, []);
      await host.setToken('s3cret-token');
      await until(host, 'the stream to open with the right token', (d) => isOpen(d) && has('while refused')(d));
      const delivered = await finish(host, server);
      assert.deepEqual(delivered.titles, ['while refused', 'the last one']);
    },
  },
];

/** Runs one scenario against a fresh server; the runner gives the host and its test name. */
export async function runScenario(scenario: DeliveryScenario, host: DeliveryHost): Promise<void> {
  const server = await DeliveryServer.start({ heartbeatMs: DELIVERY_TIMING.heartbeatMs, ...scenario.server });
  try {
    await scenario.run(host, server);
  } finally {
    await host.stop();
    await server.dispose();
  }
}
