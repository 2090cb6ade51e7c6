// The feed client: one Server-Sent Events stream from a Herald server, kept alive through every
// kind of failure, delivering each event exactly once and in order. Imports nothing from Electron:
// the desktop app's main process and `herald listen` both run it under plain Node.

import type { HeraldEvent } from '../events/event.ts';
import type { FeedState } from './state.ts';

/** Where the client keeps its place. Sync on purpose: called after each event is handled. */
export interface CursorStore {
  /** The last handled event id, or undefined when nothing was ever handled. */
  load(): string | undefined;
  save(id: string): void;
}

export interface FeedClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:5080 (the stream is `${url}/events`). */
  url: string;
  /** Bearer token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Topics to subscribe to; empty or absent means all. */
  topics?: string[];
  /** Extra CA certificate(s) (PEM) to trust for an https server, on top of the system's. */
  ca?: string | Buffer;
  cursor: CursorStore;
  /** Called once per event, one at a time, in order. The cursor is saved after it resolves (or
   * throws: a handler bug must not replay the same event forever). */
  onEvent(event: HeraldEvent): void | Promise<void>;
  /** Every state change (status, reason, next attempt). */
  onState?(state: FeedState): void;
  /** Diagnostics (handler errors). Default: nothing. */
  log?(line: string): void;
  /** No byte (event or heartbeat) for this long means a dead connection: drop it and reconnect.
   * Default 45000 (three of the server's default 15 s heartbeats). */
  heartbeatTimeoutMs?: number;
  /** First backoff step; the server's `retry:` raises it. Default 1000. */
  minBackoffMs?: number;
  /** Backoff cap. Default 60000. */
  maxBackoffMs?: number;
  /** A connection open this long resets the backoff. Default 30000. */
  healthyAfterMs?: number;
  /** Failed attempts in a row before the state says offline rather than reconnecting. Default 3. */
  offlineAfter?: number;
  /** Retry interval after 401/403. Default 300000 (5 min). */
  authRetryMs?: number;
}

export declare class FeedClient {
  constructor(options: FeedClientOptions);
  /** Opens the stream. Calling it again while running does nothing. */
  start(): void;
  /** Closes everything: no timer, socket or pending callback is left. The state becomes stopped. */
  stop(): void;
  /** Reconnects now: cancels a pending backoff and drops a connection that is not open. Call it on
   * wake from sleep and when the network comes back. Does nothing while the stream is open. */
  resume(): void;
  readonly state: FeedState;
}
