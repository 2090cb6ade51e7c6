// What the desktop app keeps on disk, and how: two electron-store files with their schemas,
// defaults and migrations, and HeraldStore, the typed view the rest of the app uses.
// - `config`: settings and the small per-event state (cursor per server, unread, pause, gap):
//   the cursor is on disk at the end of each batch of events handled in one turn of the event loop
//   (one write for a catch-up's chunk, not one per event). The server token is kept sealed by
//   the OS keychain (Electron's safeStorage, passed in as a SecretBox), never as plain text.
// - `history`: the bounded list of recent events (~300 KB when full), written coalesced, since
//   electron-store rewrites the whole file on every set.
// No Electron import: the tests open the same options with `conf`, electron-store's own engine,
// against real files.

import { compareEventIds, entryKey, isHeraldEvent, RESET_TYPE, type GapInfo, type HeraldEvent } from '../events/event.ts';
import { defaultSettings } from '../bridge/settings.ts';
import type { Settings, TokenStorage } from '../bridge/contract.ts';
import type { Options as ConfOptions, Schema } from 'conf';
import type { Cursor, CursorStore } from '../feed/client.ts';
import { describeError } from '../events/errors.ts';

/** Everything in the `config` file. */
export interface StoreData {
  settings: Settings;
  /** The cursor: the last handled event id, per server URL. */
  cursors: Record<string, string>;
  /** The epoch of the server log each cursor is from, per server URL (servers that send one). */
  epochs: Record<string, string>;
  /** Events not yet seen in the window. */
  unread: number;
  /** Notifications paused from the tray or the window; null when not paused. */
  paused: { until: number | null } | null;
  /** The last gap the server reported, until the user dismisses it. */
  gap: (GapInfo & { time: string }) | null;
  /** The server token sealed by the SecretBox (base64); `settings.token` is then empty on disk. */
  sealedToken: string;
}

/** Everything in the `history` file. */
export interface HistoryData {
  /** Recent events, in the order they arrived (oldest first), at most the store's `recentLimit`. */
  recent: HeraldEvent[];
}

/**
 * The `config` file's format version (semver, as conf wants it). Bump it and add a migration when
 * the layout of StoreData changes; a file written by an older app is migrated when it is opened.
 * 1.1.0: the recent history moved out to the `history` file.
 * 1.2.0: `epochs`, the server log's epoch beside each cursor.
 * 1.3.0: `sealedToken`, the token sealed by the OS keychain (HeraldStore moves a plain one there).
 */
export const STORE_VERSION = '1.3.0';
/** The `history` file's format version. */
export const HISTORY_VERSION = '1.0.0';
export const DEFAULT_RECENT_LIMIT = 500;
/** At most one write of the history file per this many ms while events flow. */
export const DEFAULT_HISTORY_WRITE_MS = 250;

export function storeDefaults(): StoreData {
  return { settings: defaultSettings(), cursors: {}, epochs: {}, unread: 0, paused: null, gap: null, sealedToken: '' };
}

export function historyDefaults(): HistoryData {
  return { recent: [] };
}

const topicList = { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } as const;
const epochOrNull = { anyOf: [{ type: 'number' }, { type: 'null' }] } as const;

/** JSON schema of each top-level key of `config` (conf's `schema` option); conf checks it on open and on every write. */
export const storeSchema = {
  settings: {
    type: 'object',
    additionalProperties: false,
    required: ['serverUrl', 'token', 'topics', 'caFile', 'doNotDisturb', 'mutedTopics', 'launchAtLogin', 'runLocalServer'],
    properties: {
      serverUrl: { type: 'string', pattern: '^https?://', maxLength: 2048 },
      token: { type: 'string', maxLength: 512 },
      topics: topicList,
      caFile: { type: 'string', maxLength: 4096 },
      doNotDisturb: {
        type: 'object',
        additionalProperties: false,
        required: ['enabled', 'until', 'allowUrgent'],
        properties: { enabled: { type: 'boolean' }, until: epochOrNull, allowUrgent: { type: 'boolean' } },
      },
      mutedTopics: topicList,
      launchAtLogin: { type: 'boolean' },
      runLocalServer: { type: 'boolean' },
    },
  },
  cursors: { type: 'object', additionalProperties: { type: 'string', pattern: '^(0|[1-9][0-9]{0,17})$' } },
  epochs: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9a-f]{16}$' } },
  unread: { type: 'integer', minimum: 0 },
  paused: { anyOf: [{ type: 'null' }, { type: 'object', required: ['until'], properties: { until: epochOrNull } }] },
  gap: {
    anyOf: [
      { type: 'null' },
      {
        type: 'object',
        required: ['afterId', 'throughId', 'missed', 'time'],
        properties: { afterId: { type: 'string' }, throughId: { type: 'string' }, missed: { type: 'number' }, time: { type: 'string' } },
      },
    ],
  },
  sealedToken: { type: 'string', maxLength: 8192, pattern: '^[A-Za-z0-9+/=]*$' },
} as const;

/** JSON schema of the `history` file. */
export const historySchema = {
  recent: {
    type: 'array',
    items: {
      type: 'object',
      required: ['id', 'type', 'topic', 'time', 'title', 'priority'],
      properties: { id: { type: 'string' }, title: { type: 'string' } },
    },
  },
} as const;

/** One delivery of an event: its id and server time (ids start again on another server). */
function deliveryKey(event: HeraldEvent): string {
  return `${event.id}\n${event.time}`;
}

/** The minimal surface of a conf / electron-store instance that migrations use. */
export interface MigratingStore {
  readonly store: object;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** What HeraldStore needs of a conf / electron-store instance: `config` by default, or `history`. */
export interface StoreBackend<T extends object = StoreData> {
  readonly store: T;
  readonly path: string;
  set(values: Partial<T>): void;
}

export type HistoryBackend = StoreBackend<HistoryData>;

/**
 * Puts events taken out of an older `config` file into the history file, after what it may
 * already hold from an interrupted earlier move (same id and time: kept once), bounded.
 */
function adoptHistory(history: HistoryBackend, events: unknown[], limit: number): void {
  const moved = events.filter(isHeraldEvent);
  const kept = history.store.recent.filter((e) => !moved.some((m) => m.id === e.id && m.time === e.time));
  history.set({ recent: [...moved, ...kept].slice(-limit) });
}

/**
 * Migrations of `config`, keyed by the store version that introduced the layout. A file with no
 * recorded version (written before migrations existed) runs all of them. `history` is the opened
 * history file, where 1.1.0 moves the recent events.
 */
export function storeMigrations(history: HistoryBackend): Record<string, (store: MigratingStore) => void> {
  return {
    // v0, the prototype's flat layout: { server, token, topics, lastEventId, history }. One cursor
    // for one server becomes a cursor per server; the history becomes the bounded recent list
    // (which 1.1.0 then moves to the history file).
    '1.0.0': (store) => {
      const old = store.store as Record<string, unknown>;
      const base = defaultSettings();
      const settings: Settings = { ...base, ...((old.settings as Partial<Settings> | undefined) ?? {}) };
      if (typeof old.server === 'string' && /^https?:\/\//.test(old.server)) settings.serverUrl = old.server.replace(/\/+$/, '');
      if (typeof old.token === 'string') settings.token = old.token;
      if (Array.isArray(old.topics))
        settings.topics = old.topics.filter((t): t is string => typeof t === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(t));
      store.set('settings', settings);
      const cursors = { ...((old.cursors as Record<string, string> | undefined) ?? {}) };
      if (typeof old.lastEventId === 'string' && /^(0|[1-9]\d{0,17})$/.test(old.lastEventId)) cursors[settings.serverUrl] = old.lastEventId;
      store.set('cursors', cursors);
      if (Array.isArray(old.history)) store.set('recent', old.history.slice(-DEFAULT_RECENT_LIMIT));
      for (const key of ['server', 'token', 'topics', 'lastEventId', 'history']) {
        if (key in old) store.delete(key);
      }
    },
    // 1.0.0 kept `recent` in config, so every cursor write rewrote the whole history.
    '1.1.0': (store) => {
      const old = store.store as Record<string, unknown>;
      // History file first, then the key goes: a crash between the two repeats the move, never loses it.
      if (Array.isArray(old.recent)) adoptHistory(history, old.recent, DEFAULT_RECENT_LIMIT);
      if ('recent' in old) store.delete('recent');
    },
    // Cursors written before 1.2.0 have no epoch: the server checks them by id alone until the
    // next event stores the epoch beside them.
    '1.2.0': (store) => {
      const old = store.store as Record<string, unknown>;
      if (typeof old.epochs !== 'object' || old.epochs === null) store.set('epochs', {});
    },
    // The sealing itself needs the keychain, which migrations do not have: HeraldStore moves a
    // plain token into `sealedToken` when it opens the file.
    '1.3.0': (store) => {
      const old = store.store as Record<string, unknown>;
      if (typeof old.sealedToken !== 'string') store.set('sealedToken', '');
    },
  };
}

/**
 * The options to open `config` with, for `new ElectronStore({ ...storeOptions(...), name: 'config' })`
 * (the app) or `new Conf({ ..., configName: 'config' })` (the tests). `cwd` is the directory of
 * the file: the app's userData (default for electron-store), or a test's temp dir. `history` is
 * the history file, opened first (a migration may move events into it).
 */
export function storeOptions(options: { cwd?: string; history: HistoryBackend }): Partial<ConfOptions<StoreData>> {
  return {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    projectVersion: STORE_VERSION,
    schema: storeSchema as Schema<StoreData>,
    // conf's type for defaults also lists every dotted path; the plain object is what it needs.
    defaults: storeDefaults() as ConfOptions<StoreData>['defaults'],
    migrations: storeMigrations(options.history),
    // Cursor keys are URLs full of dots: never treat a key as a path.
    accessPropertiesByDotNotation: false,
    // A store that fails its schema is an error we report (see openStore), not a silent wipe.
    clearInvalidConfig: false,
  };
}

/** The options to open `history` with (name `history`), as storeOptions. */
export function historyOptions(cwd?: string): Partial<ConfOptions<HistoryData>> {
  return {
    ...(cwd ? { cwd } : {}),
    projectVersion: HISTORY_VERSION,
    schema: historySchema as Schema<HistoryData>,
    defaults: historyDefaults() as ConfOptions<HistoryData>['defaults'],
    migrations: {},
    accessPropertiesByDotNotation: false,
    clearInvalidConfig: false,
  };
}

/**
 * Opens a store file; when it cannot be read (corrupt JSON, fails the schema), moves it aside
 * as `<name>.broken-<time>.json` and starts from defaults, so the app still starts and the user
 * can recover the old file. `open` is `() => new ElectronStore(options)` or the Conf equivalent.
 */
export function openStore<B>(
  open: () => B,
  fileOf: () => string,
  io: { rename(from: string, to: string): void; exists(path: string): boolean; now?: () => number },
): { store: B; movedAside?: string; error?: string } {
  try {
    return { store: open() };
  } catch (err) {
    const file = fileOf();
    if (!io.exists(file)) throw err;
    const aside = file.replace(/\.json$/, '') + `.broken-${(io.now ?? Date.now)()}.json`;
    io.rename(file, aside);
    return { store: open(), movedAside: aside, error: describeError(err) };
  }
}

/**
 * Seals the server token for the disk: Electron's safeStorage in the app (main.ts), a reversible
 * double in tests. `storage` says how well (the settings view warns unless `os`).
 */
export interface SecretBox {
  storage(): TokenStorage;
  /** Text → sealed bytes, base64. */
  seal(text: string): string;
  /** Throws when the bytes cannot be opened (another machine's keychain, a changed keyring). */
  open(sealed: string): string;
}

export interface HeraldStoreOptions {
  /** How many recent events the history keeps. Default DEFAULT_RECENT_LIMIT (500). */
  recentLimit?: number;
  /** At most one history-file write per this many ms. Default DEFAULT_HISTORY_WRITE_MS (250). */
  historyWriteMs?: number;
  /** Where a failed coalesced history write is reported (it is retried later). Default: stderr. */
  log?: (line: string) => void;
  /** Seals the token on disk. Default: none (kept as plain text, storage 'plain'). */
  secrets?: SecretBox;
  /** When a saved cursor reaches the disk: at the end of the turn, once for all the events
   * handled in it (`batch`), or at once, a write per event (`event`: how it was until store 1.3.0,
   * kept as bench/store.ts's baseline). Default 'batch'. */
  cursorWrites?: 'batch' | 'event';
}

/**
 * The app's typed view of the two files. Reads come from memory: the main process is the files'
 * only writer, and conf would otherwise read and parse the whole file on every access.
 *
 * Writes: `config` once per turn of the event loop for what events change (the cursor, with
 * the unread count riding along: a catch-up of thousands of events arrives in chunks that are
 * handled in one turn each, so a 10k backlog costs tens of writes, not 10k), at once for what the
 * user changes; `history` coalesced, at most one write per `historyWriteMs`. flush() (quit)
 * writes both synchronously, cursor first: the history file only ever lags the cursor.
 *
 * The token: in memory as the user typed it; on disk sealed (`sealedToken`), with
 * `settings.token` empty, whenever the SecretBox can seal.
 */
export class HeraldStore {
  readonly config: StoreBackend;
  readonly historyBackend: HistoryBackend;
  readonly recentLimit: number;
  readonly #historyWriteMs: number;
  readonly #log: (line: string) => void;
  #cache: StoreData;
  #pending: Partial<StoreData> = {};
  #flushScheduled = false;
  /** The history as the app sees it; the file catches up within historyWriteMs. */
  #recent: HeraldEvent[];
  /** The `#recent` events' identities (deliveryKey), to find a repeat without a scan per event. */
  #seen = new Set<string>();
  #historyDirty = false;
  #historyTimer: NodeJS.Timeout | null = null;
  readonly #secrets: SecretBox | undefined;
  readonly #cursorAtOnce: boolean;
  /** The token, opened once (the file holds it sealed). */
  #token: string;

  constructor(backends: { config: StoreBackend; history: HistoryBackend }, options: HeraldStoreOptions = {}) {
    this.config = backends.config;
    this.historyBackend = backends.history;
    this.recentLimit = options.recentLimit ?? DEFAULT_RECENT_LIMIT;
    this.#historyWriteMs = options.historyWriteMs ?? DEFAULT_HISTORY_WRITE_MS;
    this.#log = options.log ?? ((line) => process.stderr.write(`herald: ${line}\n`));
    this.#secrets = options.secrets;
    this.#cursorAtOnce = options.cursorWrites === 'event';
    this.#cache = structuredClone(backends.config.store);
    this.#recent = structuredClone(backends.history.store.recent).slice(-this.recentLimit);
    for (const event of this.#recent) this.#seen.add(deliveryKey(event));
    this.#token = this.#openToken();
    // A token written as plain text (before 1.3.0, or while the keychain could not seal) is sealed
    // now and removed from the file.
    if (this.#cache.settings.token !== '' && this.tokenStorage !== 'plain') this.settings = this.settings;
  }

  /** How the token is kept on disk. */
  get tokenStorage(): TokenStorage {
    return this.#secrets?.storage() ?? 'plain';
  }

  #openToken(): string {
    const sealed = this.#cache.sealedToken ?? '';
    if (sealed === '' || !this.#secrets) return this.#cache.settings.token;
    try {
      return this.#secrets.open(sealed);
    } catch (err) {
      // The feed then meets a 401 and says to check the token in the settings.
      this.#log(`could not open the stored server token (${describeError(err)}); enter it again in the settings`);
      return this.#cache.settings.token;
    }
  }

  #read<K extends keyof StoreData>(key: K): StoreData[K] {
    return (key in this.#pending ? this.#pending[key] : this.#cache[key]) as StoreData[K];
  }

  #write(values: Partial<StoreData>, now: boolean): void {
    Object.assign(this.#pending, values);
    if (now) this.#flushConfig();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Whatever the cursor save does not carry (an event that moves no cursor) still reaches disk.
      setImmediate(() => {
        try {
          this.#flushConfig();
        } catch (err) {
          // No caller to throw to (it would kill the main process); the values stay pending and the next write retries.
          this.#log(
            `could not write the config file ${this.config.path}: ${describeError(err)}; it will be retried (check the disk space and permissions)`,
          );
        }
      });
    }
  }

  /** Writes the pending values; when `set` throws they stay pending (read from memory, retried with the next write). */
  #flushConfig(): void {
    this.#flushScheduled = false;
    if (Object.keys(this.#pending).length === 0) return;
    const values = this.#pending;
    this.config.set(values);
    // Only what was written leaves #pending (set is synchronous: nothing else arrived meanwhile).
    this.#pending = {};
    Object.assign(this.#cache, values);
  }

  /** The history changed: write it now (rare, small: a cleared list) or within historyWriteMs. */
  #historyChanged(now: boolean): void {
    this.#historyDirty = true;
    if (now) this.#flushHistory();
    else if (!this.#historyTimer) {
      this.#historyTimer = setTimeout(() => {
        try {
          this.#flushHistory();
        } catch (err) {
          // A timer has no caller to throw to; the data stays in memory and the next change retries.
          this.#log(
            `could not write the history file ${this.historyBackend.path}: ${describeError(err)}; it will be retried (check the disk space and permissions)`,
          );
        }
      }, this.#historyWriteMs);
      // Never keeps a process alive by itself: quitting flushes (flush()).
      this.#historyTimer.unref();
    }
  }

  #flushHistory(): void {
    if (this.#historyTimer) clearTimeout(this.#historyTimer);
    this.#historyTimer = null;
    if (!this.#historyDirty) return;
    this.historyBackend.set({ recent: this.#recent });
    this.#historyDirty = false;
  }

  /**
   * Writes everything pending, synchronously (on quit). Cursor first, then history: the history
   * file is never ahead of the cursor.
   */
  flush(): void {
    this.#flushConfig();
    this.#flushHistory();
  }

  get settings(): Settings {
    return { ...structuredClone(this.#read('settings')), token: this.#token };
  }

  /** What the notification policy reads for every event: the stored values, not a copy. */
  notificationSettings(): { readonly doNotDisturb: Readonly<Settings['doNotDisturb']>; readonly mutedTopics: readonly string[] } {
    const settings = this.#read('settings');
    return { doNotDisturb: settings.doNotDisturb, mutedTopics: settings.mutedTopics };
  }

  set settings(value: Settings) {
    const settings = structuredClone(value);
    this.#token = settings.token;
    if (settings.token !== '' && this.tokenStorage !== 'plain') {
      this.#write({ settings: { ...settings, token: '' }, sealedToken: this.#secrets!.seal(settings.token) }, true);
    } else {
      this.#write({ settings, sealedToken: '' }, true);
    }
  }

  /** The FeedClient's cursor for one server: the last handled id and its log's epoch, on disk
   * (both in one write) at the end of this turn of the event loop, or at flush(). */
  cursor(serverUrl: string): CursorStore {
    return {
      load: () => {
        const lastEventId = this.#read('cursors')[serverUrl];
        if (lastEventId === undefined) return undefined;
        const epoch = this.#read('epochs')[serverUrl];
        return epoch === undefined ? { lastEventId } : { lastEventId, epoch };
      },
      save: (cursor: Cursor) => {
        const epochs = { ...this.#read('epochs') };
        if (cursor.epoch) epochs[serverUrl] = cursor.epoch;
        else delete epochs[serverUrl];
        // [PRODUCT] The cursor is written after each event is handled. One write per batch: every
        // event of a chunk is handled in this turn, and a crash inside it can only repeat events
        // of that turn (never lose one: the cursor never gets ahead of what was handled).
        this.#write({ cursors: { ...this.#read('cursors'), [serverUrl]: cursor.lastEventId }, epochs }, this.#cursorAtOnce);
      },
    };
  }

  /**
   * Adds an event to the recent history; false when it is already there (never counted twice).
   * Crash semantics: the cursor may be ahead of the history file by the events of the last
   * historyWriteMs; they were already notified and the server still has them.
   */
  recordEvent(event: HeraldEvent): boolean {
    if (event.type === RESET_TYPE) {
      // The server's log was replaced: its ids start again, so the old entries cannot be ordered
      // against the new ones. Start the history afresh, written now so old-log entries never come
      // back; ahead of the cursor here is harmless: after a crash the server sends the reset again.
      this.#recent = [];
      this.#seen.clear();
      this.#historyChanged(true);
      this.#write({ unread: 0 }, false);
      return false;
    }
    const recent = this.#recent;
    // The same event delivered twice (same id and server time). Ids alone are not enough: after
    // a switch to another server, ids start again.
    const key = deliveryKey(event);
    if (this.#seen.has(key)) return false;
    // Kept as handed in, not copied (a copy per event was ~10% of a catch-up): the feed client
    // parses every event afresh and nothing changes it; history() hands out copies.
    recent.push(event);
    this.#seen.add(key);
    if (recent.length > this.recentLimit) {
      for (const dropped of recent.splice(0, recent.length - this.recentLimit)) this.#seen.delete(deliveryKey(dropped));
    }
    this.#historyChanged(false);
    this.#write({ unread: this.#read('unread') + 1 }, false);
    return true;
  }

  /**
   * The recent history, from memory (what the window shows), or its last `latest` events (what
   * the tray shows after each event: a copy of all 500 costs about 1 ms).
   */
  history(latest?: number): HeraldEvent[] {
    return structuredClone(latest === undefined ? this.#recent : this.#recent.slice(Math.max(0, this.#recent.length - latest)));
  }

  clearHistory(): void {
    this.#recent = [];
    this.#seen.clear();
    this.#write({ unread: 0 }, true);
    this.#historyChanged(true);
  }

  /**
   * Removes events from the recent history, written at once so they do not come back after a
   * restart; unread ones no longer count. The feed's cursor is past them: they are not re-sent.
   */
  deleteEvents(ids: readonly string[]): void {
    const doomed = new Set(ids);
    const recent = this.#recent;
    const unread = this.#read('unread');
    // The unread events are the newest `unread` of the history (see unreadEntries).
    const unreadFrom = Math.max(0, recent.length - unread);
    const lostUnread = recent.slice(unreadFrom).filter((e) => doomed.has(e.id)).length;
    const kept = recent.filter((e) => !doomed.has(e.id));
    if (kept.length === recent.length) return;
    for (const event of recent) if (doomed.has(event.id)) this.#seen.delete(deliveryKey(event));
    this.#recent = kept;
    this.#historyChanged(true);
    if (lostUnread > 0) this.#write({ unread: unread - lostUnread }, true);
  }

  /** Unread events (the window turns this into its read marker). */
  get unread(): number {
    return this.#read('unread');
  }

  /**
   * Unread entries as the window lists them, for the tray: a job's unread events are one entry,
   * notices none. The unread events are the newest `unread` of the history; any the bounded
   * history no longer holds count one each.
   */
  get unreadEntries(): number {
    const unread = this.#read('unread');
    const recent = this.#recent;
    const tail = recent.slice(Math.max(0, recent.length - unread));
    const keys = new Set<string>();
    for (const event of tail) {
      const key = entryKey(event);
      if (key !== undefined) keys.add(key);
    }
    return keys.size + Math.max(0, unread - tail.length);
  }

  /** The window has shown everything up to `upToId`: only later events stay unread. */
  markRead(upToId: string): void {
    const recent = this.#recent;
    // By arrival order when the event is in the history (ids of different servers do not compare).
    const at = recent.findLastIndex((e) => e.id === upToId);
    const later = at >= 0 ? recent.length - at - 1 : recent.filter((e) => compareEventIds(e.id, upToId) > 0).length;
    // Never raise the count: unread may include events older than the bounded history holds.
    this.#write({ unread: Math.min(this.#read('unread'), later) }, true);
  }

  /** Paused now? An expired pause reads as not paused. */
  paused(now = Date.now()): { until: number | null } | null {
    const p = this.#read('paused');
    if (p && p.until !== null && p.until <= now) return null;
    return p ? { ...p } : null;
  }

  setPaused(value: { until: number | null } | null): void {
    this.#write({ paused: value }, true);
  }

  get gap(): StoreData['gap'] {
    const g = this.#read('gap');
    return g ? { ...g } : null;
  }

  setGap(value: StoreData['gap']): void {
    this.#write({ gap: value }, true);
  }
}
