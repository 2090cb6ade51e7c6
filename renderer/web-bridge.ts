// The bridge for the web app: the window served by the companion server at `/`, in a browser tab.
// It does in the page what the desktop app's main process does: holds the stream open (the
// browser's own EventSource, same origin), keeps the cursor, settings and a bounded history in
// localStorage, and shows Web Notifications (only once the user allowed them).

import type { AppStatus, HeraldBridge, SaveSettingsResult, Settings, SettingsPatch } from '../bridge/contract.ts';
import { applySettingsPatch, defaultSettings } from '../bridge/settings.ts';
import {
  GAP_TYPE,
  HEARTBEAT_TYPE,
  RESET_TYPE,
  compareEventIds,
  isEpoch,
  isEventId,
  isHeraldEvent,
  isNotice,
  isWebUrl,
} from '../events/event.ts';
import type { HeraldEvent } from '../events/event.ts';
import { isHistoryPage, pageEvents } from '../events/http.ts';
import type { FeedState } from '../events/feed-state.ts';
import { DEFAULT_AUTH_RETRY_MS, DEFAULT_MIN_BACKOFF_MS, DEFAULT_OFFLINE_AFTER, arrivalOf, retryPlan } from '../feed/delivery.ts';

export interface WebBridgeOptions {
  /** The server the page came from. Default: location.origin. The web app talks to no other. */
  origin?: string;
  /** Default: localStorage. */
  storage?: Storage;
  /** Events kept in the browser. Default 500. */
  historyLimit?: number;
  /** Events fetched from /history on the first load. Default 200. */
  firstLoad?: number;
  /** First reconnection delay; doubles per failed attempt (with jitter). Default DEFAULT_MIN_BACKOFF_MS (1000). */
  minBackoffMs?: number;
  /** Default 30000. */
  maxBackoffMs?: number;
  /** Retry interval after the server refused the token. Default DEFAULT_AUTH_RETRY_MS (300000, 5 min). */
  authRetryMs?: number;
  /** Failed attempts in a row before the state says offline. Default DEFAULT_OFFLINE_AFTER (3). */
  offlineAfter?: number;
  /** Heartbeat intervals without a byte after which the stream counts as dead and is replaced
   * (the server names its interval in each herald.heartbeat; 15 s until the first). Default 3. */
  silentBeats?: number;
}

/** How long a request for history may take before the attempt counts as failed. */
const FETCH_TIMEOUT_MS = 15_000;

/** The server's default heartbeat interval, assumed until its first herald.heartbeat says otherwise. */
const DEFAULT_HEARTBEAT_MS = 15_000;

const KEY = {
  settings: 'herald.settings',
  cursor: 'herald.cursor',
  epoch: 'herald.epoch',
  history: 'herald.history',
  readUpTo: 'herald.readUpTo',
  clearedThrough: 'herald.clearedThrough',
  deleted: 'herald.deleted',
} as const;

/**
 * The page reads GET /connect: the same stream as GET /events (ids, resume, topics, gap and reset
 * notices) with every frame a plain `message`. A browser EventSource only delivers the event names
 * it was told about, and publishers may name their own types, so /events would lose those.
 */
const STREAM_PATH = '/connect';

/** The stream stayed open and carried nothing, not even a heartbeat, for this long. */
class SilentStream extends Error {
  constructor(silentMs: number) {
    super(`no heartbeat for ${Math.round(silentMs / 1000)} s`);
  }
}

/** /history did not answer with a page: its status says why (401, 503), or it is not a Herald server. */
class HistoryRefused extends Error {
  readonly status: number;
  constructor(status: number, why = `the server answered HTTP ${status}`) {
    super(why);
    this.name = 'HistoryRefused';
    this.status = status;
  }
}

function maxId(a: string, b: string): string {
  return compareEventIds(a, b) >= 0 ? a : b;
}

export class WebBridge implements HeraldBridge {
  readonly host = 'web' as const;
  readonly #origin: string;
  readonly #storage: Storage;
  readonly #historyLimit: number;
  readonly #firstLoad: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #authRetryMs: number;
  readonly #offlineAfter: number;
  readonly #silentBeats: number;
  /** Fires when the stream has been silent for #silentBeats heartbeats: a connection that looks open and is dead. */
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #heartbeatMs = DEFAULT_HEARTBEAT_MS;

  #settings: Settings;
  #events: HeraldEvent[];
  #ids = new Set<string>();
  #cursor: string | undefined;
  /** The epoch of the server log #cursor is from (see LOG_EPOCH_HEADER in events/sse.ts). */
  #epoch: string | undefined;
  /** The server log's epoch as /history last said: the stream's own headers are out of a page's reach. */
  #serverEpoch: string | undefined;
  #readUpTo: string;
  #clearedThrough: string;
  /** Ids deleted from this history: a reload of /history must not bring them back. Only ids the history could still hold are kept. */
  #deleted: Set<string>;
  #status: AppStatus;
  #stream: EventSource | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every (re)connection so the answers of an abandoned attempt are ignored. */
  #generation = 0;
  #historyLoaded = false;
  #firstLoadDone: Promise<void>;
  #resolveFirstLoad!: () => void;
  #started = false;
  #pendingNotes: HeraldEvent[] = [];
  #noteTimer: ReturnType<typeof setTimeout> | undefined;

  #eventListeners = new Set<(event: HeraldEvent) => void>();
  #statusListeners = new Set<(status: AppStatus) => void>();
  #clearedListeners = new Set<() => void>();

  constructor(options: WebBridgeOptions = {}) {
    this.#origin = options.origin ?? location.origin;
    this.#storage = options.storage ?? localStorage;
    this.#historyLimit = options.historyLimit ?? 500;
    this.#firstLoad = options.firstLoad ?? 200;
    this.#minBackoffMs = options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#authRetryMs = options.authRetryMs ?? DEFAULT_AUTH_RETRY_MS;
    this.#offlineAfter = options.offlineAfter ?? DEFAULT_OFFLINE_AFTER;
    this.#silentBeats = options.silentBeats ?? 3;

    this.#settings = { ...defaultSettings(), ...this.#read<Partial<Settings>>(KEY.settings, {}), serverUrl: this.#origin };
    const stored = this.#read<unknown[]>(KEY.history, []);
    this.#events = Array.isArray(stored) ? stored.filter(isHeraldEvent) : [];
    for (const e of this.#events) this.#ids.add(e.id);
    const cursor = this.#storage.getItem(KEY.cursor);
    this.#cursor = cursor !== null && isEventId(cursor) ? cursor : undefined;
    const epoch = this.#storage.getItem(KEY.epoch);
    this.#epoch = this.#cursor !== undefined && isEpoch(epoch) ? epoch : undefined;
    this.#readUpTo = this.#idItem(KEY.readUpTo);
    this.#clearedThrough = this.#idItem(KEY.clearedThrough);
    const deleted = this.#read<unknown[]>(KEY.deleted, []);
    this.#deleted = new Set(Array.isArray(deleted) ? deleted.filter((id): id is string => typeof id === 'string' && isEventId(id)) : []);
    this.#status = {
      host: 'web',
      feed: { status: 'connecting', since: Date.now() },
      paused: null,
      localServer: { status: 'unavailable', reason: 'The local server is part of the desktop app.' },
      unread: 0,
      gap: null,
    };
    this.#status.unread = this.#countUnread();
    this.#firstLoadDone = new Promise((resolve) => (this.#resolveFirstLoad = resolve));
  }

  /** Opens the stream; called once by the page. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    // Back on a network: an "open" stream from before may be a dead socket (a browser EventSource
    // has no read timeout), so start a fresh one from the cursor.
    addEventListener('online', () => {
      if (this.#started) void this.#connect();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.#reconnectSoon();
    });
    addEventListener('pagehide', () => this.#saveHistoryNow());
    void this.#connect();
  }

  /** Closes the stream and every timer (tests, page teardown). */
  stop(): void {
    this.#generation++;
    this.#closeStream();
    clearTimeout(this.#timer);
    this.#saveHistoryNow();
    this.#setFeed({ status: 'stopped', since: Date.now() });
  }

  // --- HeraldBridge -------------------------------------------------------------------------

  async getSettings(): Promise<Settings> {
    return structuredClone(this.#settings);
  }

  async saveSettings(patch: SettingsPatch): Promise<SaveSettingsResult> {
    // The web app always talks to the server that served it; desktop-only settings stay as they are.
    const { serverUrl: _ignored, ...rest } = patch;
    void _ignored;
    const result = applySettingsPatch(this.#settings, rest);
    if (!result.ok) return result;
    const before = this.#settings;
    this.#settings = { ...result.settings, serverUrl: this.#origin };
    this.#storage.setItem(KEY.settings, JSON.stringify(this.#settings));
    const topicsChanged = before.topics.join(',') !== this.#settings.topics.join(',');
    if (topicsChanged) this.#historyLoaded = false;
    if (topicsChanged || before.token !== this.#settings.token) {
      clearTimeout(this.#timer);
      this.#status.feed = { ...this.#status.feed, attempt: 0 };
      void this.#connect();
    }
    return { ok: true, settings: structuredClone(this.#settings) };
  }

  async getHistory(): Promise<HeraldEvent[]> {
    // The first answer waits for the first /history load (or its failure) so the window does not
    // flash an empty state on a cold start.
    await Promise.race([this.#firstLoadDone, new Promise((r) => setTimeout(r, 3000))]);
    return structuredClone(this.#events);
  }

  async clearHistory(): Promise<void> {
    const newest = this.#events.at(-1)?.id;
    if (newest) this.#clearedThrough = maxId(this.#clearedThrough, newest);
    if (this.#cursor) this.#clearedThrough = maxId(this.#clearedThrough, this.#cursor);
    this.#storage.setItem(KEY.clearedThrough, this.#clearedThrough);
    this.#events = [];
    this.#ids.clear();
    this.#saveHistoryNow();
    this.#saveDeleted();
    this.#status.unread = 0;
    for (const l of this.#clearedListeners) l();
    this.#emitStatus();
  }

  async deleteEvents(ids: string[]): Promise<void> {
    const doomed = new Set(ids.filter((id) => isEventId(id)));
    const before = this.#events.length;
    this.#events = this.#events.filter((e) => !doomed.has(e.id));
    if (this.#events.length === before) return;
    for (const id of doomed) {
      this.#ids.delete(id);
      this.#deleted.add(id);
    }
    this.#saveDeleted();
    this.#saveHistoryNow();
    const unread = this.#countUnread();
    if (unread !== this.#status.unread) {
      this.#status.unread = unread;
      this.#emitStatus();
    }
  }

  async markRead(upToId: string): Promise<void> {
    if (!isEventId(upToId)) return;
    this.#readUpTo = maxId(this.#readUpTo, upToId);
    this.#storage.setItem(KEY.readUpTo, this.#readUpTo);
    const unread = this.#countUnread();
    if (unread !== this.#status.unread) {
      this.#status.unread = unread;
      this.#emitStatus();
    }
  }

  async getStatus(): Promise<AppStatus> {
    return structuredClone(this.#status);
  }

  async setPaused(until: number | null | false): Promise<void> {
    this.#status.paused = until === false ? null : { until };
    this.#emitStatus();
  }

  async setLocalServer(): Promise<void> {
    throw new Error(
      'The local server is part of the desktop app; in a browser, start one with `herald serve` (`npm run herald -- serve` in the repository).',
    );
  }

  async openUrl(url: string): Promise<void> {
    if (!isWebUrl(url)) throw new Error('Only http:// and https:// links are opened.');
    window.open(url, '_blank', 'noopener,noreferrer');
  }

  async dismissGap(): Promise<void> {
    this.#status.gap = null;
    this.#emitStatus();
  }

  onEvent(listener: (event: HeraldEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  onStatus(listener: (status: AppStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  onHistoryCleared(listener: () => void): () => void {
    this.#clearedListeners.add(listener);
    return () => this.#clearedListeners.delete(listener);
  }

  // --- the stream ---------------------------------------------------------------------------

  async #connect(): Promise<void> {
    this.#closeStream();
    clearTimeout(this.#timer);
    const generation = ++this.#generation;
    const attempt = this.#status.feed.attempt ?? 0;
    if (this.#status.feed.status !== 'open' && attempt === 0) this.#setFeed({ status: 'connecting', since: Date.now() });
    if (!this.#historyLoaded) {
      try {
        await this.#loadHistory();
      } catch (err) {
        if (generation === this.#generation) await this.#failed(generation, err);
        return;
      } finally {
        this.#resolveFirstLoad();
      }
      if (generation !== this.#generation) return;
    }
    const url = new URL(STREAM_PATH, this.#origin);
    // Only the first request of an EventSource carries the cursor in the query; after that the
    // browser resumes with the Last-Event-ID header, which the server prefers.
    url.searchParams.set('lastEventId', this.#cursor ?? '0');
    // The log the cursor is from: if the server's log was replaced since, the stream starts with herald.reset.
    if (this.#cursor !== undefined && this.#epoch !== undefined) url.searchParams.set('epoch', this.#epoch);
    if (this.#settings.token) url.searchParams.set('token', this.#settings.token);
    if (this.#settings.topics.length > 0) url.searchParams.set('topic', this.#settings.topics.join(','));
    // The page cannot see the server's heartbeat comments: it asks for them as events, so that a
    // connection that stays open and carries nothing (sleep, a dropped network, half-open TCP) is
    // known as dead and replaced, as the desktop app's feed client does.
    url.searchParams.set('heartbeat', 'event');
    const stream = new EventSource(url);
    this.#stream = stream;
    this.#armWatchdog(stream, generation);
    stream.addEventListener('open', () => {
      if (this.#stream !== stream) return;
      this.#armWatchdog(stream, generation);
      this.#setFeed({ status: 'open', since: Date.now(), attempt: 0, ...(this.#cursor ? { lastEventId: this.#cursor } : {}) });
    });
    stream.addEventListener('message', (m) => {
      if (this.#stream !== stream) return;
      this.#armWatchdog(stream, generation);
      this.#receive(m);
    });
    stream.addEventListener(HEARTBEAT_TYPE, (m) => {
      if (this.#stream !== stream) return;
      try {
        const intervalMs = (JSON.parse((m as MessageEvent<string>).data) as { intervalMs?: unknown }).intervalMs;
        if (typeof intervalMs === 'number' && intervalMs > 0 && intervalMs <= 600_000) this.#heartbeatMs = intervalMs;
      } catch {
        // a heartbeat is a heartbeat, whatever it carries
      }
      this.#armWatchdog(stream, generation);
    });
    stream.addEventListener('error', () => {
      if (this.#stream !== stream) return;
      // We take over reconnection: the browser's own retry has no backoff, and never says why or
      // when; and after a non-200 answer (401, 503) it gives up for good anyway.
      this.#closeStream();
      void this.#failed(generation, undefined);
    });
  }

  async #loadHistory(): Promise<void> {
    const url = new URL('/history', this.#origin);
    url.searchParams.set('last', String(this.#firstLoad));
    if (this.#settings.topics.length > 0) url.searchParams.set('topic', this.#settings.topics.join(','));
    const res = await fetch(url, { headers: this.#authHeaders(), cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new HistoryRefused(res.status);
    const page: unknown = await res.json();
    if (!isHistoryPage(page)) throw new HistoryRefused(res.status, 'the server did not answer with a Herald history page');
    const events = pageEvents(page);
    const lastId = page.lastId;
    this.#serverEpoch = isEpoch(page.epoch) ? page.epoch : undefined;
    const replaced =
      this.#cursor !== undefined &&
      ((this.#epoch !== undefined && this.#serverEpoch !== undefined && this.#epoch !== this.#serverEpoch) ||
        compareEventIds(this.#cursor, lastId) > 0);
    if (replaced) {
      // The server's log is not the one our cursor is from: it was replaced. The stream will say
      // so with herald.reset; until then, history from the old log is not mixed with the new one.
    } else {
      for (const event of events) this.#add(event, false);
    }
    if (this.#cursor === undefined) {
      this.#setCursor(lastId);
      this.#setEpoch(this.#serverEpoch);
    }
    this.#historyLoaded = true;
    this.#saveHistorySoon();
    this.#emitStatus();
  }

  #receive(message: MessageEvent<string>): void {
    let event: unknown;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!isHeraldEvent(event)) return;
    // The same dedup as the feed client's (feed/delivery.ts): a repeat at or below the cursor is
    // dropped even when the history no longer holds its id.
    const arrival = arrivalOf(event, this.#cursor);
    if (arrival === 'seen') return;
    if (arrival === 'reset') {
      // The server's log was replaced: ids start again, so the old history and cursor mean nothing.
      this.#cursor = '0';
      this.#storage.setItem(KEY.cursor, '0');
      this.#setEpoch(isEpoch(event.reset?.epoch) ? event.reset.epoch : this.#serverEpoch);
      this.#readUpTo = '0';
      this.#clearedThrough = '0';
      this.#storage.setItem(KEY.readUpTo, '0');
      this.#storage.setItem(KEY.clearedThrough, '0');
      this.#events = [];
      this.#ids.clear();
      // The new log's ids start again: an old deletion must not hide a new event.
      this.#deleted.clear();
      this.#saveDeleted();
      for (const l of this.#clearedListeners) l();
      this.#add(event, true);
      return;
    }
    if (event.type === GAP_TYPE) {
      if (event.gap) this.#status.gap = { ...event.gap, time: event.time };
      this.#setCursor(message.lastEventId || event.id);
      this.#notify(event);
      this.#emitStatus();
      return;
    }
    this.#add(event, true);
    this.#setCursor(message.lastEventId || event.id);
    // A cursor from before epochs: the server checked it by id, and this event is from its log now.
    if (this.#epoch === undefined) this.#setEpoch(this.#serverEpoch);
    if (this.#status.feed.lastEventId !== this.#cursor)
      this.#status.feed = { ...this.#status.feed, ...(this.#cursor ? { lastEventId: this.#cursor } : {}) };
  }

  /** Stores an event once; `live` ones are passed on to the window and may notify. */
  #add(event: HeraldEvent, live: boolean): void {
    if (this.#ids.has(event.id)) return;
    if (!isNotice(event) && (compareEventIds(event.id, this.#clearedThrough) <= 0 || this.#deleted.has(event.id))) return;
    this.#ids.add(event.id);
    const last = this.#events.at(-1);
    this.#events.push(event);
    if (last && compareEventIds(last.id, event.id) > 0) this.#events.sort((a, b) => compareEventIds(a.id, b.id));
    while (this.#events.length > this.#historyLimit) this.#ids.delete(this.#events.shift()!.id);
    this.#saveHistorySoon();
    const unread = this.#countUnread();
    const statusChanged = unread !== this.#status.unread;
    this.#status.unread = unread;
    for (const l of this.#eventListeners) l(structuredClone(event));
    if (statusChanged) this.#emitStatus();
    if (live) this.#notify(event);
  }

  async #failed(generation: number, err: unknown): Promise<void> {
    // Ask the server directly what went wrong: EventSource never tells the status code.
    let status: number | undefined = err instanceof HistoryRefused && err.status !== 200 ? err.status : undefined;
    let reason =
      err instanceof HistoryRefused
        ? err.message
        : err instanceof SilentStream
          ? `the stream went silent (${err.message})`
          : 'the server cannot be reached';
    if (err === undefined) {
      try {
        // Bounded: on a network that swallows packets this would otherwise wait for minutes.
        const res = await fetch(new URL(`/history?last=1`, this.#origin), {
          headers: this.#authHeaders(),
          cache: 'no-store',
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        });
        status = res.ok ? undefined : res.status;
        reason = res.ok ? 'the stream was interrupted' : `the server answered HTTP ${res.status}`;
      } catch {
        reason = 'the server cannot be reached';
      }
    }
    if (generation !== this.#generation) return;
    const now = Date.now();
    const attempt = (this.#status.feed.attempt ?? 0) + 1;
    // A page cannot tell "no server" from "no answer": every failure counts as unreachable, and a
    // browser that knows it is offline says so at once.
    const plan = retryPlan(
      { httpStatus: status },
      { failures: attempt - 1, unreachable: navigator.onLine ? attempt : this.#offlineAfter },
      { minMs: this.#minBackoffMs, maxMs: this.#maxBackoffMs, authRetryMs: this.#authRetryMs, offlineAfter: this.#offlineAfter },
    );
    this.#timer = setTimeout(() => void this.#connect(), plan.delayMs);
    const nextAttemptAt = now + plan.delayMs;
    if (plan.status === 'auth-failed') {
      this.#setFeed({
        status: 'auth-failed',
        since: now,
        attempt,
        httpStatus: status,
        nextAttemptAt,
        reason: status === 401 ? 'the server refused the token' : 'the server refused this page',
      });
      return;
    }
    const since = this.#status.feed.status === plan.status ? this.#status.feed.since : now;
    this.#setFeed({ status: plan.status, since, attempt, nextAttemptAt, reason, ...(status !== undefined ? { httpStatus: status } : {}) });
  }

  /** Retry now instead of waiting out the backoff (the tab came back, the network returned). */
  #reconnectSoon(): void {
    const s = this.#status.feed.status;
    if (s === 'reconnecting' || s === 'offline') void this.#connect();
  }

  #closeStream(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    this.#stream?.close();
    this.#stream = null;
  }

  /** (Re)starts the silence timer of this stream: no byte for #silentBeats heartbeats means it is dead. */
  #armWatchdog(stream: EventSource, generation: number): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (this.#stream !== stream || generation !== this.#generation) return;
      this.#closeStream();
      void this.#failed(generation, new SilentStream(this.#heartbeatMs * this.#silentBeats));
    }, this.#heartbeatMs * this.#silentBeats);
  }

  #setFeed(state: FeedState): void {
    if (this.#cursor !== undefined && state.lastEventId === undefined) state.lastEventId = this.#cursor;
    this.#status.feed = state;
    this.#emitStatus();
  }

  #emitStatus(): void {
    for (const l of this.#statusListeners) l(structuredClone(this.#status));
  }

  #setEpoch(epoch: string | undefined): void {
    this.#epoch = epoch;
    if (epoch === undefined) this.#storage.removeItem(KEY.epoch);
    else this.#storage.setItem(KEY.epoch, epoch);
  }

  #setCursor(id: string): void {
    if (!isEventId(id)) return;
    this.#cursor = id;
    this.#storage.setItem(KEY.cursor, id);
  }

  #countUnread(): number {
    let n = 0;
    for (const e of this.#events) if (!isNotice(e) && compareEventIds(e.id, this.#readUpTo) > 0) n++;
    return n;
  }

  #authHeaders(): Record<string, string> {
    return this.#settings.token ? { Authorization: `Bearer ${this.#settings.token}` } : {};
  }

  #read<T>(key: string, fallback: T): T {
    try {
      const raw = this.#storage.getItem(key);
      return raw === null ? fallback : (JSON.parse(raw) as T);
    } catch {
      return fallback;
    }
  }

  #idItem(key: string): string {
    const v = this.#storage.getItem(key);
    return v !== null && isEventId(v) ? v : '0';
  }

  /**
   * Keeps the deleted ids a reload could bring back, and no more: above the clear mark, and the
   * newest ones only (a reload asks for the last `firstLoad` events: an id with that many deleted
   * ids newer than it is out of its reach).
   */
  #saveDeleted(): void {
    const keep = [...this.#deleted]
      .filter((id) => compareEventIds(id, this.#clearedThrough) > 0)
      .sort((a, b) => compareEventIds(b, a))
      .slice(0, Math.max(this.#historyLimit, this.#firstLoad));
    this.#deleted = new Set(keep);
    this.#storage.setItem(KEY.deleted, JSON.stringify(keep));
  }

  #saveHistorySoon(): void {
    // A burst of events is written once; the cursor itself is saved at once (see #setCursor).
    if (this.#saveTimer === undefined) this.#saveTimer = setTimeout(() => this.#saveHistoryNow(), 300);
  }

  #saveHistoryNow(): void {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    try {
      this.#storage.setItem(KEY.history, JSON.stringify(this.#events));
    } catch {
      // Storage full: keep the newer half; the server still has everything.
      this.#events = this.#events.slice(Math.floor(this.#events.length / 2));
      try {
        this.#storage.setItem(KEY.history, JSON.stringify(this.#events));
      } catch {
        /* nothing more to do: the history reloads from the server */
      }
    }
  }

  // --- Web Notifications --------------------------------------------------------------------

  #notify(event: HeraldEvent): void {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (event.type === 'job.progress' || event.type === RESET_TYPE) return;
    // The user is looking at the window: the list itself is the notification.
    if (document.visibilityState === 'visible' && document.hasFocus()) return;
    const { doNotDisturb: dnd, mutedTopics } = this.#settings;
    if (mutedTopics.includes(event.topic)) return;
    const paused = this.#status.paused;
    if (paused && (paused.until === null || paused.until > Date.now())) return;
    const dndOn = dnd.enabled && (dnd.until === null || dnd.until > Date.now());
    if (dndOn && !(dnd.allowUrgent && event.priority === 5)) return;
    // A burst (a replay after being away) becomes one summary instead of a pile of popups.
    this.#pendingNotes.push(event);
    if (this.#noteTimer === undefined) this.#noteTimer = setTimeout(() => this.#flushNotes(), 400);
  }

  #flushNotes(): void {
    const notes = this.#pendingNotes;
    this.#pendingNotes = [];
    this.#noteTimer = undefined;
    if (notes.length === 0) return;
    const show = (title: string, options: NotificationOptions, url?: string) => {
      const n = new Notification(title, options);
      n.addEventListener('click', () => {
        window.focus();
        if (url && isWebUrl(url)) window.open(url, '_blank', 'noopener,noreferrer');
        n.close();
      });
    };
    if (notes.length > 3) {
      show(`${notes.length} new events`, {
        body: notes
          .slice(-3)
          .map((e) => e.title)
          .join('\n'),
        tag: 'herald:summary',
      });
      return;
    }
    for (const e of notes) {
      show(e.title, { body: e.body ?? '', tag: e.job ? `job:${e.job.id}` : `event:${e.id}`, requireInteraction: e.priority === 5 }, e.url);
    }
  }
}
