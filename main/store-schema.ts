// What the desktop app keeps on disk, and how: the electron-store schema, defaults and
// migrations, and HeraldStore, the typed view the rest of the app uses (cursor per server, a
// bounded history of recent events, the unread count). No Electron import: the tests open the
// same options with `conf`, electron-store's own engine, against a real file.

import { compareEventIds, RESET_TYPE, type GapInfo, type HeraldEvent } from '../events/event.ts';
import { defaultSettings } from '../bridge/settings.ts';
import type { Settings } from '../bridge/contract.ts';
import type { Options as ConfOptions, Schema } from 'conf';
import type { CursorStore } from '../feed/client.ts';

/** Everything in the store file. */
export interface StoreData {
  settings: Settings;
  /** The cursor: the last handled event id, per server URL. */
  cursors: Record<string, string>;
  /** Recent events, in the order they arrived (oldest first), at most `recentLimit`. */
  recent: HeraldEvent[];
  /** Events not yet seen in the window. */
  unread: number;
  /** Notifications paused from the tray or the window; null when not paused. */
  paused: { until: number | null } | null;
  /** The last gap the server reported, until the user dismisses it. */
  gap: (GapInfo & { time: string }) | null;
}

/**
 * The store's format version (semver, as conf wants it). Bump it and add a migration when the
 * layout of StoreData changes; a file written by an older app is migrated when it is opened.
 */
export const STORE_VERSION = '1.0.0';
export const DEFAULT_RECENT_LIMIT = 500;

export function storeDefaults(): StoreData {
  return { settings: defaultSettings(), cursors: {}, recent: [], unread: 0, paused: null, gap: null };
}

const topicList = { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } as const;
const epochOrNull = { anyOf: [{ type: 'number' }, { type: 'null' }] } as const;

/** JSON schema of each top-level key (conf's `schema` option); conf checks it on open and on every write. */
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
  recent: {
    type: 'array',
    items: { type: 'object', required: ['id', 'type', 'topic', 'time', 'title', 'priority'], properties: { id: { type: 'string' }, title: { type: 'string' } } },
  },
  unread: { type: 'integer', minimum: 0 },
  paused: { anyOf: [{ type: 'null' }, { type: 'object', required: ['until'], properties: { until: epochOrNull } }] },
  gap: {
    anyOf: [
      { type: 'null' },
      { type: 'object', required: ['afterId', 'throughId', 'missed', 'time'], properties: { afterId: { type: 'string' }, throughId: { type: 'string' }, missed: { type: 'number' }, time: { type: 'string' } } },
    ],
  },
} as const;

/** The minimal surface of a conf / electron-store instance that migrations use. */
export interface MigratingStore {
  readonly store: object;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/**
 * Migrations keyed by the store version that introduced the layout. A file with no recorded
 * version (written before migrations existed) runs all of them.
 */
export const storeMigrations: Record<string, (store: MigratingStore) => void> = {
  // v0, the prototype's flat layout: { server, token, topics, lastEventId, history }. One cursor
  // for one server becomes a cursor per server; the history becomes the bounded recent list.
  '1.0.0': (store) => {
    const old = store.store as Record<string, unknown>;
    const base = defaultSettings();
    const settings: Settings = { ...base, ...((old.settings as Partial<Settings> | undefined) ?? {}) };
    if (typeof old.server === 'string' && /^https?:\/\//.test(old.server)) settings.serverUrl = old.server.replace(/\/+$/, '');
    if (typeof old.token === 'string') settings.token = old.token;
    if (Array.isArray(old.topics)) settings.topics = old.topics.filter((t): t is string => typeof t === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(t));
    store.set('settings', settings);
    const cursors = { ...((old.cursors as Record<string, string> | undefined) ?? {}) };
    if (typeof old.lastEventId === 'string' && /^(0|[1-9]\d{0,17})$/.test(old.lastEventId)) cursors[settings.serverUrl] = old.lastEventId;
    store.set('cursors', cursors);
    if (Array.isArray(old.history)) store.set('recent', old.history.slice(-DEFAULT_RECENT_LIMIT));
    for (const key of ['server', 'token', 'topics', 'lastEventId', 'history']) {
      if (key in old) store.delete(key);
    }
  },
};

/**
 * The options to open the store with, for `new ElectronStore(...)` (the app) or `new Conf(...)`
 * (the tests). `cwd` is the directory of the file: the app's userData, or a test's temp dir.
 */
export function storeOptions(cwd?: string): Partial<ConfOptions<StoreData>> {
  return {
    ...(cwd ? { cwd } : {}),
    projectVersion: STORE_VERSION,
    schema: storeSchema as Schema<StoreData>,
    // conf's type for defaults also lists every dotted path; the plain object is what it needs.
    defaults: storeDefaults() as ConfOptions<StoreData>['defaults'],
    migrations: storeMigrations,
    // Cursor keys are URLs full of dots: never treat a key as a path.
    accessPropertiesByDotNotation: false,
    // A store that fails its schema is an error we report (see openStore), not a silent wipe.
    clearInvalidConfig: false,
  };
}

/** What HeraldStore needs of a conf / electron-store instance. */
export interface StoreBackend {
  readonly store: StoreData;
  readonly path: string;
  set(values: Partial<StoreData>): void;
}

/**
 * Opens the store; when the file cannot be read (corrupt JSON, fails the schema), moves it aside
 * as `<name>.broken-<time>.json` and starts from defaults, so the app still starts and the user
 * can recover the old file. `open` is `(options) => new ElectronStore(options)` or the Conf equivalent.
 */
export function openStore<B extends StoreBackend>(
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
    return { store: open(), movedAside: aside, error: (err as Error).message };
  }
}

/**
 * The app's typed view of the store. Writes are coalesced: an event's history entry and its
 * cursor go to disk in one write (electron-store rewrites the whole file on every set). Reads
 * come from memory: the main process is the file's only writer, and conf would otherwise read
 * and parse the whole file on every access.
 */
export class HeraldStore {
  readonly backend: StoreBackend;
  readonly recentLimit: number;
  #cache: StoreData;
  #pending: Partial<StoreData> = {};
  #flushScheduled = false;

  constructor(backend: StoreBackend, options: { recentLimit?: number } = {}) {
    this.backend = backend;
    this.recentLimit = options.recentLimit ?? DEFAULT_RECENT_LIMIT;
    this.#cache = structuredClone(backend.store);
  }

  #read<K extends keyof StoreData>(key: K): StoreData[K] {
    return (key in this.#pending ? this.#pending[key] : this.#cache[key]) as StoreData[K];
  }

  #write(values: Partial<StoreData>, now: boolean): void {
    Object.assign(this.#pending, values);
    if (now) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Whatever the cursor save does not carry (an event that moves no cursor) still reaches disk.
      setImmediate(() => this.flush());
    }
  }

  /** Writes pending changes in one write. */
  flush(): void {
    this.#flushScheduled = false;
    if (Object.keys(this.#pending).length === 0) return;
    const values = this.#pending;
    this.#pending = {};
    this.backend.set(values);
    Object.assign(this.#cache, values);
  }

  get settings(): Settings {
    return structuredClone(this.#read('settings'));
  }

  set settings(value: Settings) {
    this.#write({ settings: structuredClone(value) }, true);
  }

  /** The FeedClient's cursor for one server: the last handled id, written with the history. */
  cursor(serverUrl: string): CursorStore {
    return {
      load: () => this.#read('cursors')[serverUrl],
      save: (id: string) => this.#write({ cursors: { ...this.#read('cursors'), [serverUrl]: id } }, true),
    };
  }

  /** Adds an event to the recent history; false when it is already there (never counted twice). */
  recordEvent(event: HeraldEvent): boolean {
    if (event.type === RESET_TYPE) {
      // The server's log was replaced: its ids start again, so the old entries cannot be ordered
      // against the new ones. Start the history afresh.
      this.#write({ recent: [], unread: 0 }, false);
      return false;
    }
    const recent = this.#read('recent');
    // The same event delivered twice (same id and server time). Ids alone are not enough: after
    // a switch to another server, ids start again.
    if (recent.some((e) => e.id === event.id && e.time === event.time)) return false;
    const next = recent.length >= this.recentLimit ? recent.slice(recent.length - this.recentLimit + 1) : recent.slice();
    next.push(event);
    this.#write({ recent: next, unread: this.#read('unread') + 1 }, false);
    return true;
  }

  history(): HeraldEvent[] {
    return structuredClone(this.#read('recent'));
  }

  clearHistory(): void {
    this.#write({ recent: [], unread: 0 }, true);
  }

  get unread(): number {
    return this.#read('unread');
  }

  /** The window has shown everything up to `upToId`: only later events stay unread. */
  markRead(upToId: string): void {
    const recent = this.#read('recent');
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
