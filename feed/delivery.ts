// The delivery rules both hosts keep, so that each event reaches the user exactly once: where an
// arriving event stands against the cursor, and when a failed attempt is tried again. Pure: the
// feed client (Node, the desktop app and `herald listen`) and the web app's bridge (a browser) run it.

import { RESET_TYPE, compareEventIds } from '../events/event.ts';
import type { HeraldEvent } from '../events/event.ts';
import type { FeedStatus } from '../events/feed-state.ts';
import { reconnectDelay, type BackoffOptions } from './backoff.ts';

/** First reconnection delay; doubles per failed attempt (with jitter). */
export const DEFAULT_MIN_BACKOFF_MS = 1000;
/** Retry interval after the server refused the token: a wrong token is not fixed by asking again. */
export const DEFAULT_AUTH_RETRY_MS = 300_000;
/** Failed attempts in a row that reached no server before the state says offline. */
export const DEFAULT_OFFLINE_AFTER = 3;

/**
 * What an event that arrives on the stream does to the cursor:
 * - `reset`: the server's log was replaced. Ids start again, so the cursor goes back to 0 and the
 *   lower ids that follow are new events, not repeats;
 * - `seen`: at or below the cursor, a repeat (a replay that overlaps, a server that replays
 *   everything): dropped;
 * - `next`: delivered, and the cursor moves to its id.
 */
export type Arrival = 'reset' | 'seen' | 'next';

/** Where `event` stands against `cursor` (undefined: nothing handled yet, every event is new). */
export function arrivalOf(event: Pick<HeraldEvent, 'id' | 'type'>, cursor: string | undefined): Arrival {
  if (event.type === RESET_TYPE) return 'reset';
  // [PRODUCT] Ids increase within one log: an id at or below the cursor was handled already.
  if (cursor !== undefined && compareEventIds(event.id, cursor) <= 0) return 'seen';
  return 'next';
}

export interface RetryOptions extends BackoffOptions {
  /** Retry interval after 401/403. */
  authRetryMs: number;
  /** Unreachable attempts in a row before the state says offline. */
  offlineAfter: number;
}

/** What to do after a failed attempt: which state to show and when to try again. */
export interface RetryPlan {
  status: Extract<FeedStatus, 'auth-failed' | 'offline' | 'reconnecting'>;
  delayMs: number;
}

/**
 * The next attempt after a failure. A refused token (401, 403) waits authRetryMs: asking again
 * sooner only fills the server's log. Anything else backs off with jitter after `failures`
 * failures in a row, and says offline once `unreachable` attempts in a row reached no server.
 */
export function retryPlan(
  failure: { httpStatus?: number | undefined },
  counts: { failures: number; unreachable: number },
  options: RetryOptions,
  random: () => number = Math.random,
): RetryPlan {
  if (failure.httpStatus === 401 || failure.httpStatus === 403) return { status: 'auth-failed', delayMs: options.authRetryMs };
  return {
    status: counts.unreachable >= options.offlineAfter ? 'offline' : 'reconnecting',
    delayMs: reconnectDelay(counts.failures, options, random),
  };
}
