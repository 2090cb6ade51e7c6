// The delivery rules both hosts share (feed/delivery.ts), and the delivery scenarios
// (test/delivery/scenarios.ts) against the desktop host: the FeedClient under Node, with its cursor
// in a file as the app keeps it. The web bridge runs the same scenarios in Chromium
// (test/browser/delivery.spec.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedClient } from '../../feed/client.ts';
import { arrivalOf, retryPlan } from '../../feed/delivery.ts';
import { FileCursorStore } from '../../feed/cursor-file.ts';
import { GAP_TYPE, RESET_TYPE, isNotice, type HeraldEvent } from '../../events/event.ts';
import type { FeedState } from '../../events/feed-state.ts';
import {
  DELIVERY_SCENARIOS,
  DELIVERY_TIMING,
  runScenario,
  type Delivered,
  type DeliveryHost,
  type HostStart,
} from '../delivery/scenarios.ts';
import { tempDir } from './support.ts';

/** The thin driver: a FeedClient and what it handed its onEvent. A new token is a new client on the same cursor file, as the app does. */
class FeedClientHost implements DeliveryHost {
  readonly #dir = tempDir('delivery');
  readonly #cursor = new FileCursorStore(path.join(this.#dir, 'cursor.json'));
  readonly #events: HeraldEvent[] = [];
  readonly #states: FeedState[] = [];
  #client: FeedClient | undefined;
  #start: HostStart | undefined;

  async start(options: HostStart): Promise<void> {
    if (options.cursor) this.#cursor.save(options.cursor);
    this.#start = options;
    this.#client = new FeedClient({
      url: options.url,
      ...(options.token ? { token: options.token } : {}),
      cursor: this.#cursor,
      onEvent: (event) => void this.#events.push(event),
      onState: (state) => void this.#states.push(state),
      heartbeatTimeoutMs: DELIVERY_TIMING.silentAfterMs,
      minBackoffMs: DELIVERY_TIMING.minBackoffMs,
      maxBackoffMs: DELIVERY_TIMING.maxBackoffMs,
      authRetryMs: DELIVERY_TIMING.authRetryMs,
    });
    this.#client.start();
  }

  async setToken(token: string): Promise<void> {
    this.#client?.stop();
    await this.start({ url: this.#start!.url, token });
  }

  async delivered(): Promise<Delivered> {
    return {
      titles: this.#events.filter((e) => !isNotice(e)).map((e) => e.title),
      gaps: this.#events
        .filter((e) => e.type === GAP_TYPE)
        .map((e) => ({ afterId: e.gap!.afterId, throughId: e.gap!.throughId, missed: e.gap!.missed })),
      resets: this.#events.filter((e) => e.type === RESET_TYPE).length,
      state: this.#client!.state,
      states: [...this.#states],
      cursor: this.#cursor.load(),
    };
  }

  async stop(): Promise<void> {
    this.#client?.stop();
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

describe('delivery, on the desktop host (FeedClient under Node)', () => {
  for (const scenario of DELIVERY_SCENARIOS) {
    it(scenario.name, () => runScenario(scenario, new FeedClientHost()), 60_000);
  }
});

describe('the delivery rules (feed/delivery.ts)', () => {
  it('drops an id at or below the cursor, takes a higher one, and starts again at a reset', () => {
    expect(arrivalOf({ id: '9', type: 'notification' }, '10')).toBe('seen');
    expect(arrivalOf({ id: '10', type: 'notification' }, '10')).toBe('seen');
    // Ids compare as numbers, not as strings.
    expect(arrivalOf({ id: '11', type: 'notification' }, '9')).toBe('next');
    expect(arrivalOf({ id: '1', type: 'notification' }, undefined)).toBe('next');
    expect(arrivalOf({ id: '0', type: 'herald.reset' }, '500')).toBe('reset');
  });

  it('waits authRetryMs after a refused token, backs off otherwise, and says offline once enough attempts reached no server', () => {
    const options = { minMs: 100, maxMs: 1000, authRetryMs: 300_000, offlineAfter: 3 };
    expect(retryPlan({ httpStatus: 401 }, { failures: 1, unreachable: 5 }, options)).toEqual({ status: 'auth-failed', delayMs: 300_000 });
    expect(retryPlan({ httpStatus: 403 }, { failures: 1, unreachable: 0 }, options)).toEqual({ status: 'auth-failed', delayMs: 300_000 });
    expect(retryPlan({ httpStatus: 503 }, { failures: 2, unreachable: 0 }, options, () => 1)).toEqual({
      status: 'reconnecting',
      delayMs: 400,
    });
    expect(retryPlan({}, { failures: 2, unreachable: 2 }, options, () => 0)).toEqual({ status: 'reconnecting', delayMs: 100 });
    expect(retryPlan({}, { failures: 9, unreachable: 3 }, options, () => 1)).toEqual({ status: 'offline', delayMs: 1000 });
  });
});
