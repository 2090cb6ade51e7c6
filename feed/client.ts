// The feed client: one Server-Sent Events stream from a Herald server, kept alive through every
// kind of failure, delivering each event exactly once and in order. Imports nothing from Electron:
// the desktop app's main process and `herald listen` both run it under plain Node.
//
// `eventsource` parses the stream; everything around it is ours. It gives up for good on a non-200
// status or a wrong content type, has no backoff and no read timeout, and its reconnect timer does
// not keep Node alive, so each connection attempt gets a fresh EventSource that is closed on its
// first error, and this client decides when to try again.

import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { EventSource } from 'eventsource';
import type { FetchLike, FetchLikeResponse } from 'eventsource';
import { isEpoch, isEventId, isHeraldEvent } from '../events/event.ts';
import type { HeraldEvent } from '../events/event.ts';
import type { FeedState, FeedStatus } from '../events/feed-state.ts';
import { DEFAULT_AUTH_RETRY_MS, DEFAULT_MIN_BACKOFF_MS, DEFAULT_OFFLINE_AFTER, arrivalOf, retryPlan } from './delivery.ts';
import { LAST_EVENT_ID_HEADER, LOG_EPOCH_HEADER } from '../events/sse.ts';
import { describeNetworkCode, isCertificateError, networkErrorCode } from '../events/net.ts';
import { describeError } from '../events/errors.ts';

/** The client's place in one server's event log. */
export interface Cursor {
  /** The last handled event id. */
  lastEventId: string;
  /** The epoch of the log that id is from (LOG_EPOCH_HEADER); absent for a server that sends none. */
  epoch?: string;
}

/** Where the client keeps its place. Sync on purpose: called after each event is handled. */
export interface CursorStore {
  /** The cursor, or undefined when nothing was ever handled. */
  load(): Cursor | undefined;
  save(cursor: Cursor): void;
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
  /** Diagnostics (a handler that threw, a cursor that could not be saved). Default: nothing. */
  log?(line: string): void;
  /** No byte (event or heartbeat) for this long means a dead connection: drop it and reconnect.
   * Default 45000 (three of the server's default 15 s heartbeats). */
  heartbeatTimeoutMs?: number;
  /** First backoff step; the server's `retry:` raises it. Default DEFAULT_MIN_BACKOFF_MS (1000). */
  minBackoffMs?: number;
  /** Backoff cap. Default 60000. */
  maxBackoffMs?: number;
  /** A connection open this long resets the backoff. Default 30000. */
  healthyAfterMs?: number;
  /** Failed attempts in a row (network errors) before the state says offline. Default DEFAULT_OFFLINE_AFTER (3). */
  offlineAfter?: number;
  /** Retry interval after 401/403. Default DEFAULT_AUTH_RETRY_MS (300000, 5 min). */
  authRetryMs?: number;
}

/** What went wrong with one connection attempt, as this client saw it. */
interface Failure {
  reason: string;
  /** The server could not be reached at all (counts towards offline). */
  network?: boolean;
  httpStatus?: number;
}

/** One connection attempt: its EventSource and what happened to it. */
interface Connection {
  source: EventSource | undefined;
  open: boolean;
  closed: boolean;
  failure: Failure | undefined;
  lastByteAt: number;
  /** An event has arrived on it: the `retry:` that servers send first is behind us. */
  sawEvent: boolean;
  /** The epoch of the log this connection streams, from its response headers. */
  epoch: string | undefined;
}

/** An event waiting for the handler, with the epoch of the log it came from (saved with it). */
interface Queued {
  event: HeraldEvent;
  epoch: string | undefined;
}

/** Describes a request error for people; certificate problems say what to do. */
export function describeNetworkError(err: unknown): Failure {
  const code = networkErrorCode(err);
  if (isCertificateError(code)) {
    return { reason: `the server's certificate is not trusted (${code}): give Herald the CA file that signed it` };
  }
  // An https:// address that answers in plain HTTP: OpenSSL reads "HTTP/1.1 400" as a TLS record of an unknown version.
  if (code === 'EPROTO' && /wrong version number/i.test(String((err as Error | undefined)?.message))) {
    return { reason: 'the server does not speak TLS: try http:// instead of https://' };
  }
  const words = describeNetworkCode(code);
  if (words !== undefined) return { reason: words, network: true };
  return { reason: describeError(err), network: code !== '' };
}

/** eventsource dispatches each frame as a DOM event named by its `event:` field and has no
 * catch-all listener; overriding dispatchEvent sees every type, publishers' own ones included. */
class FeedEventSource extends EventSource {
  onDispatch: ((event: Event) => void) | undefined;
  override dispatchEvent(event: Event): boolean {
    this.onDispatch?.(event);
    return super.dispatchEvent(event);
  }
}

const NO_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export class FeedClient {
  readonly #options: FeedClientOptions;
  readonly #streamUrl: URL;
  readonly #heartbeatTimeoutMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #healthyAfterMs: number;
  readonly #offlineAfter: number;
  readonly #authRetryMs: number;
  readonly #caList: string[] | undefined;

  #state: FeedState;
  #running = false;
  #conn: Connection | undefined;
  #attemptTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #healthyTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  /** Attempts in a row that reached no server at all (offline after offlineAfter of them). */
  #unreachable = 0;
  /** The server's `retry:`: no reconnection comes sooner. */
  #retryFloorMs = 0;
  /** The highest id accepted into the queue (dedup) — at or above the saved cursor. */
  #lastSeen: string | undefined;
  /** The epoch of the log #lastSeen is from: sent with it, so a replaced log is known as such. */
  #epoch: string | undefined;
  #queue: Queued[] = [];
  #draining = false;

  constructor(options: FeedClientOptions) {
    this.#options = options;
    const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.#streamUrl = new URL('events', base);
    if (this.#streamUrl.protocol !== 'http:' && this.#streamUrl.protocol !== 'https:') {
      throw new TypeError(`The server URL must start with http:// or https:// (got ${options.url})`);
    }
    if (options.topics && options.topics.length > 0) this.#streamUrl.searchParams.set('topic', options.topics.join(','));
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 45_000;
    this.#minBackoffMs = options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#healthyAfterMs = options.healthyAfterMs ?? 30_000;
    this.#offlineAfter = options.offlineAfter ?? DEFAULT_OFFLINE_AFTER;
    this.#authRetryMs = options.authRetryMs ?? DEFAULT_AUTH_RETRY_MS;
    // Node's `ca` option replaces the trusted roots; the server's CA is trusted on top of them.
    this.#caList = options.ca === undefined ? undefined : [...tls.getCACertificates('default'), options.ca.toString()];
    this.#state = { status: 'stopped', since: Date.now() };
  }

  get state(): FeedState {
    return { ...this.#state };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    this.#unreachable = 0;
    const saved = this.#options.cursor.load();
    this.#lastSeen = saved !== undefined && isEventId(saved.lastEventId) ? saved.lastEventId : undefined;
    this.#epoch = this.#lastSeen !== undefined && isEpoch(saved?.epoch) ? saved.epoch : undefined;
    this.#setState({ status: 'connecting', lastEventId: this.#lastSeen });
    this.#connect();
  }

  stop(): void {
    this.#running = false;
    this.#drop();
    this.#clearTimer('attempt');
    this.#queue = [];
    if (this.#state.status !== 'stopped')
      this.#setState({ status: 'stopped', reason: undefined, httpStatus: undefined, nextAttemptAt: undefined, attempt: undefined });
  }

  resume(): void {
    if (!this.#running) return;
    const conn = this.#conn;
    // Timers stand still while a laptop sleeps, so the watchdog may not have fired yet: an open
    // connection that has been silent for a heartbeat interval (by the wall clock) is dropped too.
    if (conn?.open && Date.now() - conn.lastByteAt < this.#heartbeatTimeoutMs / 3) return;
    this.#drop();
    this.#clearTimer('attempt');
    this.#connect();
  }

  // ---- connections ----

  #connect(): void {
    if (!this.#running) return;
    this.#drop();
    const conn: Connection = {
      source: undefined,
      open: false,
      closed: false,
      failure: undefined,
      lastByteAt: Date.now(),
      sawEvent: false,
      epoch: undefined,
    };
    this.#conn = conn;
    this.#armWatchdog(conn);
    const fetch: FetchLike = (url, init) => this.#fetch(conn, url, init);
    const source = new FeedEventSource(this.#streamUrl, { fetch });
    source.onDispatch = (event) => this.#onSourceEvent(conn, event);
    conn.source = source;
  }

  #fetch(conn: Connection, url: string | URL, init: { signal?: AbortSignal; headers: Record<string, string> }): Promise<FetchLikeResponse> {
    const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
    if (this.#options.token) headers.Authorization = `Bearer ${this.#options.token}`;
    // The cursor, not eventsource's memory, says where to resume: it survives restarts.
    if (this.#lastSeen !== undefined) headers['Last-Event-ID'] = this.#lastSeen;
    // ...and from which log: if the server's log was replaced since, it says so with a reset.
    if (this.#lastSeen !== undefined && this.#epoch !== undefined) headers[LOG_EPOCH_HEADER] = this.#epoch;
    const target = new URL(url);
    const request = target.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(target, {
        method: 'GET',
        headers,
        // A fresh socket per attempt: nothing pooled outlives stop().
        agent: false,
        ...(this.#caList ? { ca: this.#caList } : {}),
        signal: init.signal,
      });
      req.on('error', (err) => {
        if ((err as Error).name === 'AbortError') return reject(err);
        if (!conn.failure) conn.failure = describeNetworkError(err);
        reject(new Error(conn.failure.reason));
      });
      req.on('response', (res) => {
        this.#sawBytes(conn);
        this.#unreachable = 0;
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        if (status !== 200) {
          res.resume();
          conn.failure = { reason: `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, httpStatus: status };
          resolve(nullBodyResponse(status, responseHeaders));
          return;
        }
        const start = res.headers[LAST_EVENT_ID_HEADER.toLowerCase()];
        const epoch = res.headers[LOG_EPOCH_HEADER.toLowerCase()];
        conn.epoch = isEpoch(epoch) ? epoch : undefined;
        if (this.#lastSeen === undefined && typeof start === 'string' && isEventId(start)) {
          // First run: "from now" becomes a cursor at once, so a drop before the first event
          // resumes from here instead of skipping what was published meanwhile.
          this.#lastSeen = start;
          this.#epoch = conn.epoch;
          this.#saveCursor({ lastEventId: start, ...(conn.epoch ? { epoch: conn.epoch } : {}) });
        }
        let done = false;
        let retryLine = '';
        const decoder = new TextDecoder();
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => {
            res.on('data', (chunk: Buffer) => {
              if (done) return;
              this.#sawBytes(conn);
              // `retry:` comes before the first event: a replay of megabytes need not be decoded twice.
              if (!conn.sawEvent) retryLine = this.#tapRetry(retryLine + decoder.decode(chunk, { stream: true }));
              controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            });
            res.on('end', () => {
              if (done) return;
              done = true;
              controller.close();
            });
            const broken = (err?: Error) => {
              if (done) return;
              done = true;
              if (init.signal?.aborted) return controller.close();
              // The server was reached: a broken stream alone does not make the client offline.
              if (!conn.failure) conn.failure = { ...(err ? describeNetworkError(err) : { reason: 'connection lost' }), network: false };
              controller.error(new Error(conn.failure.reason));
            };
            res.on('error', broken);
            res.on('close', () => broken());
          },
          cancel: () => {
            done = true;
            res.destroy();
          },
        });
        resolve(new Response(body, { status, headers: responseHeaders }));
      });
      req.end();
    });
  }

  /** Reads `retry:` lines from the raw stream (eventsource keeps them to itself). Returns the
   * unfinished last line, capped: only its start matters. */
  #tapRetry(text: string): string {
    const lines = text.split(/\r\n|\r|\n/);
    const rest = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^retry: ?(\d{1,9})$/.exec(line);
      if (m) this.#retryFloorMs = Number(m[1]);
    }
    return rest.length > 32 ? rest.slice(0, 32) : rest;
  }

  #onSourceEvent(conn: Connection, event: Event): void {
    if (conn.closed || conn !== this.#conn) return;
    // A frame is a MessageEvent whatever its name, even one called "open" or "error": only the
    // source's own open and error events speak for the connection.
    if (event instanceof MessageEvent) {
      conn.sawEvent = true;
      this.#onMessage(conn, event);
      return;
    }
    if (event.type === 'open') {
      conn.open = true;
      this.#clearTimer('healthy');
      this.#healthyTimer = setTimeout(() => {
        this.#healthyTimer = undefined;
        this.#failures = 0;
      }, this.#healthyAfterMs);
      // Last: the listener may call stop().
      this.#setState({ status: 'open', reason: undefined, httpStatus: undefined, nextAttemptAt: undefined, attempt: undefined });
      return;
    }
    if (event.type === 'error') {
      const code = (event as Event & { code?: number }).code;
      const message = (event as Event & { message?: string }).message;
      let failure = conn.failure;
      if (!failure) {
        if (code === 200) failure = { reason: 'the server did not answer with an event stream (wrong content type): check the server URL' };
        else if (code !== undefined) failure = { reason: `HTTP ${code}`, httpStatus: code };
        else failure = { reason: message || 'the server closed the stream' };
      }
      this.#fail(conn, failure);
    }
  }

  #onMessage(conn: Connection, message: MessageEvent): void {
    let event: unknown;
    try {
      event = JSON.parse(String(message.data));
    } catch {
      this.#options.log?.(`ignored a frame that is not JSON (id ${message.lastEventId || 'none'})`);
      return;
    }
    if (!isHeraldEvent(event)) {
      this.#options.log?.(`ignored a frame that is not a Herald event (id ${message.lastEventId || 'none'})`);
      return;
    }
    // The dedup: a reset starts the new log's ids at 0, a repeat is dropped (feed/delivery.ts).
    const arrival = arrivalOf(event, this.#lastSeen);
    if (arrival === 'seen') return;
    this.#lastSeen = arrival === 'reset' ? '0' : event.id;
    // Only now: the server has answered our cursor (with a reset if it was from another log), so
    // #lastSeen is an id of this connection's log. Taken at the response, a connection dropped
    // before its reset arrived would pair the old log's id with the new log's epoch.
    this.#epoch = conn.epoch;
    this.#queue.push({ event, epoch: conn.epoch });
    void this.#drain();
  }

  #saveCursor(cursor: Cursor): void {
    try {
      this.#options.cursor.save(cursor);
    } catch (err) {
      this.#options.log?.(`could not save the cursor (${cursor.lastEventId}): ${describeError(err)}`);
    }
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        const { event, epoch } = next;
        try {
          await this.#options.onEvent(event);
        } catch (err) {
          // Still advance: a handler bug must not replay the same event forever.
          this.#options.log?.(`the event handler failed on event ${event.id}: ${describeError(err, { stack: true })}`);
        }
        this.#saveCursor({ lastEventId: event.id, ...(epoch ? { epoch } : {}) });
        this.#state = { ...this.#state, lastEventId: event.id };
      }
    } finally {
      this.#draining = false;
    }
  }

  // ---- failures and backoff ----

  #fail(conn: Connection, failure: Failure): void {
    if (conn.closed) return;
    this.#close(conn);
    if (!this.#running) return;
    this.#failures++;
    const status = failure.httpStatus;
    if (status === 204) {
      this.#running = false; // events already queued are still handled
      this.#setState({
        status: 'stopped',
        reason: 'the server answered 204: it asks clients to stop',
        httpStatus: 204,
        nextAttemptAt: undefined,
        attempt: undefined,
      });
      return;
    }
    const refused = status === 401 || status === 403;
    if (!refused) this.#unreachable = failure.network ? this.#unreachable + 1 : 0;
    const plan = retryPlan(
      failure,
      { failures: this.#failures, unreachable: this.#unreachable },
      {
        minMs: this.#minBackoffMs,
        maxMs: this.#maxBackoffMs,
        floorMs: this.#retryFloorMs,
        authRetryMs: this.#authRetryMs,
        offlineAfter: this.#offlineAfter,
      },
    );
    if (plan.status === 'auth-failed')
      failure = { ...failure, reason: `${failure.reason}: the server refused the token; check the token setting` };
    this.#schedule(plan.delayMs, plan.status, failure);
  }

  #schedule(delay: number, status: FeedStatus, failure: Failure): void {
    this.#clearTimer('attempt');
    // One clock reading for both: `since` and `nextAttemptAt` a tick apart would say the wait is shorter than it is.
    const now = Date.now();
    const nextAttemptAt = now + delay;
    // A ref'd timer: a process with nothing else to do stays alive while it waits.
    this.#attemptTimer = setTimeout(() => {
      this.#attemptTimer = undefined;
      this.#connect();
    }, delay);
    this.#setState({ status, nextAttemptAt, attempt: this.#failures, reason: failure.reason, httpStatus: failure.httpStatus }, now);
  }

  #armWatchdog(conn: Connection): void {
    this.#clearTimer('watchdog');
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      const silentS = Math.round(this.#heartbeatTimeoutMs / 1000);
      this.#fail(conn, { reason: `no data for ${silentS} s: the connection looks dead`, network: true });
    }, this.#heartbeatTimeoutMs);
  }

  #sawBytes(conn: Connection): void {
    if (conn.closed) return;
    conn.lastByteAt = Date.now();
    this.#watchdog?.refresh();
  }

  /** Closes one connection for good; its EventSource never reconnects by itself. */
  #close(conn: Connection): void {
    conn.closed = true;
    if (this.#conn === conn) {
      this.#conn = undefined;
      this.#clearTimer('watchdog');
      this.#clearTimer('healthy');
    }
    const source = conn.source;
    // eventsource sets its own reconnect timer right after dispatching an error; closing on the
    // next microtask clears it.
    if (source) queueMicrotask(() => source.close());
  }

  #drop(): void {
    if (this.#conn) this.#close(this.#conn);
  }

  #clearTimer(which: 'attempt' | 'watchdog' | 'healthy'): void {
    if (which === 'attempt' && this.#attemptTimer) {
      clearTimeout(this.#attemptTimer);
      this.#attemptTimer = undefined;
    } else if (which === 'watchdog' && this.#watchdog) {
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    } else if (which === 'healthy' && this.#healthyTimer) {
      clearTimeout(this.#healthyTimer);
      this.#healthyTimer = undefined;
    }
  }

  #setState(patch: Partial<FeedState>, now = Date.now()): void {
    const status = patch.status ?? this.#state.status;
    const next: FeedState = { ...this.#state, ...patch, status, since: status !== this.#state.status ? now : this.#state.since };
    for (const key of Object.keys(next) as (keyof FeedState)[]) if (next[key] === undefined) delete next[key];
    this.#state = next;
    this.#options.onState?.({ ...next });
  }
}

function nullBodyResponse(status: number, headers: Headers): FetchLikeResponse {
  // A WHATWG Response refuses a body on 204/304 and statuses outside 200-599; eventsource only
  // reads status and headers when the status is not 200.
  if (status >= 200 && status <= 599 && !NO_BODY_STATUSES.has(status)) return new Response(null, { status, headers });
  return { status, headers, body: null, url: '', redirected: false };
}
