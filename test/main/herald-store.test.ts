// The two store files' schemas, defaults and migrations and the history/unread/cursor logic,
// through `conf` (electron-store's own engine) against real files in a temp dir: `config` (the
// cursor, written once per batch) and `history` (written coalesced, flushed on quit); the token
// sealed by a SecretBox (safeStorage in the app, a reversible double here).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../bridge/settings.ts';
import type { HeraldEvent } from '../../events/event.ts';
import {
  DEFAULT_HISTORY_WRITE_MS,
  HeraldStore,
  historyOptions,
  openStore,
  STORE_VERSION,
  storeOptions,
  type HeraldStoreOptions,
  type HistoryBackend,
  type HistoryData,
  type SecretBox,
  type StoreBackend,
  type StoreData,
} from '../../main/herald-store.ts';
import type { TokenStorage } from '../../bridge/contract.ts';

const SERVER = 'http://127.0.0.1:5080';
let dir: string;
let opened: HeraldStore[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-store-'));
});
afterEach(() => {
  // No coalesced write may land after the directory is gone.
  for (const store of opened) store.flush();
  opened = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

function openHistory(): Conf<HistoryData> & HistoryBackend {
  return new Conf<HistoryData>({ ...historyOptions(dir), configName: 'history' }) as Conf<HistoryData> & HistoryBackend;
}
function openConfig(history: HistoryBackend = openHistory()): Conf<StoreData> & StoreBackend {
  return new Conf<StoreData>({ ...storeOptions({ cwd: dir, history }), configName: 'config' }) as Conf<StoreData> & StoreBackend;
}
/** A HeraldStore over both files, as the app opens them (history first). */
function open(
  options: HeraldStoreOptions = {},
  wrap: { config?: (b: StoreBackend) => StoreBackend; history?: (b: HistoryBackend) => HistoryBackend } = {},
): HeraldStore {
  const history = openHistory();
  const config = openConfig(history);
  const store = new HeraldStore({ config: wrap.config?.(config) ?? config, history: wrap.history?.(history) ?? history }, options);
  opened.push(store);
  return store;
}
/** Counts the writes that reach a backend (each one rewrites its whole file). */
function counting<T extends object>(backend: StoreBackend<T>, fail = 0): StoreBackend<T> & { writes: number } {
  let failures = fail;
  return {
    writes: 0,
    get store() {
      return backend.store;
    },
    path: backend.path,
    set(values) {
      if (failures-- > 0) throw new Error('ENOSPC: no space left on device');
      this.writes++;
      backend.set(values);
    },
  };
}
function configOnDisk(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
}
function historyOnDisk(): HeraldEvent[] {
  const file = path.join(dir, 'history.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as HistoryData).recent : [];
}
function cursorOnDisk(server = SERVER): string | undefined {
  return (configOnDisk().cursors as Record<string, string>)[server];
}
function event(id: string, extra: Partial<HeraldEvent> = {}): HeraldEvent {
  return { id, type: 'notification', topic: 'default', time: new Date(0).toISOString(), title: `event ${id}`, priority: 3, ...extra };
}
/** What the FeedClient does per event: hand it to the app (history), then save the cursor. */
function handle(store: HeraldStore, e: HeraldEvent, server = SERVER): void {
  store.recordEvent(e);
  store.cursor(server).save({ lastEventId: e.id });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextTurn = () => new Promise((r) => setImmediate(r));
const ids = (events: HeraldEvent[]) => events.map((e) => e.id);

describe('store schema and defaults', () => {
  it('starts from the defaults', () => {
    const store = open();
    expect(store.settings.serverUrl).toBe(SERVER);
    expect(store.settings.runLocalServer).toBe(true);
    expect(store.history()).toEqual([]);
    expect(store.unread).toBe(0);
    expect(store.cursor(SERVER).load()).toBeUndefined();
  });

  it('refuses a write that breaks the schema and leaves the file as it was', () => {
    const history = openHistory();
    const conf = openConfig(history);
    const store = new HeraldStore({ config: conf, history });
    store.settings = { ...store.settings, token: 'abc' };
    expect(() => conf.set({ unread: -1 } as Partial<StoreData>)).toThrow(/unread/);
    expect(() => conf.set({ cursors: { 'http://x': 'not-an-id' } })).toThrow(/cursors/);
    expect(configOnDisk()).toMatchObject({ unread: 0, cursors: {}, settings: { token: 'abc' } });
    history.set({ recent: [event('1')] });
    expect(() => history.set({ recent: [{ title: 'no id' } as HeraldEvent] })).toThrow(/recent/);
    expect(ids(historyOnDisk())).toEqual(['1']);
  });

  it('moves a broken file aside and starts afresh (config and history alike)', () => {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ unread: 'many' }));
    fs.writeFileSync(path.join(dir, 'history.json'), '{"recent": [');
    const io = { rename: fs.renameSync, exists: fs.existsSync, now: () => 42 };
    const history = openStore(openHistory, () => path.join(dir, 'history.json'), io);
    expect(history.movedAside).toBe(path.join(dir, 'history.broken-42.json'));
    expect(fs.readFileSync(history.movedAside!, 'utf8')).toBe('{"recent": [');
    const config = openStore(
      () => openConfig(history.store),
      () => path.join(dir, 'config.json'),
      io,
    );
    expect(config.movedAside).toBe(path.join(dir, 'config.broken-42.json'));
    expect(config.error).toMatch(/unread/);
    expect(JSON.parse(fs.readFileSync(config.movedAside!, 'utf8'))).toEqual({ unread: 'many' });
    const store = new HeraldStore({ config: config.store, history: history.store });
    expect(store.unread).toBe(0);
    expect(store.history()).toEqual([]);
  });
});

describe('migrations', () => {
  it('migrates a v0 file (flat prototype layout): settings and cursor in config, the history in its own file', () => {
    const history = Array.from({ length: 600 }, (_, i) => event(String(i + 1)));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ server: 'https://herald.example.test/', token: 'tok', topics: ['ci', 'bad topic'], lastEventId: '600', history }),
    );
    const store = open();
    expect(store.settings).toMatchObject({ serverUrl: 'https://herald.example.test', token: 'tok', topics: ['ci'], runLocalServer: true });
    expect(store.cursor('https://herald.example.test').load()?.lastEventId).toBe('600');
    expect(store.history()).toHaveLength(500);
    expect(store.history()[0]!.id).toBe('101');
    const disk = configOnDisk();
    for (const old of ['server', 'token', 'topics', 'lastEventId', 'history', 'recent']) expect(disk).not.toHaveProperty(old);
    expect(disk).toMatchObject({ __internal__: { migrations: { version: STORE_VERSION } } });
    const moved = historyOnDisk();
    expect(moved).toHaveLength(500);
    expect([moved[0]!.id, moved.at(-1)!.id]).toEqual(['101', '600']);
  });

  it('moves the history out of a 1.0.0 config file (recent inside) and deletes the key', () => {
    const recent = [event('7'), event('8'), event('9')];
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        settings: { ...defaultSettings(), token: 'kept' },
        cursors: { [SERVER]: '9' },
        recent,
        unread: 2,
        paused: null,
        gap: null,
        __internal__: { migrations: { version: '1.0.0' } },
      }),
    );
    const store = open();
    expect(ids(store.history())).toEqual(['7', '8', '9']);
    expect(store.cursor(SERVER).load()?.lastEventId).toBe('9');
    expect(store.unread).toBe(2);
    expect(store.settings.token).toBe('kept');
    const disk = configOnDisk();
    expect(disk).not.toHaveProperty('recent');
    expect(disk).toMatchObject({ __internal__: { migrations: { version: STORE_VERSION } } });
    expect(historyOnDisk()).toEqual(recent);
  });

  it('opens a 1.1.0 file (cursors without epochs): its cursors load without one, and the next save keeps the epoch beside them', () => {
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        settings: defaultSettings(),
        cursors: { [SERVER]: '12' },
        unread: 0,
        paused: null,
        gap: null,
        __internal__: { migrations: { version: '1.1.0' } },
      }),
    );
    const store = open();
    expect(store.cursor(SERVER).load()).toEqual({ lastEventId: '12' });
    store.cursor(SERVER).save({ lastEventId: '13', epoch: '00112233aabbccdd' });
    store.flush();
    expect(configOnDisk()).toMatchObject({
      cursors: { [SERVER]: '13' },
      epochs: { [SERVER]: '00112233aabbccdd' },
      __internal__: { migrations: { version: STORE_VERSION } },
    });
    expect(open().cursor(SERVER).load()).toEqual({ lastEventId: '13', epoch: '00112233aabbccdd' });
    // A server that sends no epoch: the old one must not stay paired with the new cursor.
    store.cursor(SERVER).save({ lastEventId: '2' });
    store.flush();
    expect(open().cursor(SERVER).load()).toEqual({ lastEventId: '2' });
  });

  it('repeats an interrupted move without duplicates, and drops entries that are not events instead of the settings', () => {
    // A crash after the history file was written and before the key was deleted: config is still 1.0.0.
    fs.writeFileSync(path.join(dir, 'history.json'), JSON.stringify({ recent: [event('7'), event('8')] }));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        settings: { ...defaultSettings(), token: 'kept' },
        cursors: {},
        recent: [event('7'), event('8'), { title: 'no id' }, 'junk', event('9')],
        unread: 0,
        paused: null,
        gap: null,
        __internal__: { migrations: { version: '1.0.0' } },
      }),
    );
    const store = open();
    expect(ids(store.history())).toEqual(['7', '8', '9']);
    expect(ids(historyOnDisk())).toEqual(['7', '8', '9']);
    expect(store.settings.token).toBe('kept');
    expect(configOnDisk()).not.toHaveProperty('recent');
  });

  it('does not migrate a current file again', () => {
    const store = open();
    store.settings = { ...store.settings, token: 'kept' };
    handle(store, event('1'));
    store.flush();
    const again = open();
    expect(again.settings.token).toBe('kept');
    expect(ids(again.history())).toEqual(['1']);
  });
});

describe('HeraldStore', () => {
  it('keeps a cursor per server, on disk with the unread count at the end of the turn (one write per batch); the history follows later', async () => {
    const config = { wrap: null as (StoreBackend & { writes: number }) | null };
    const history = { wrap: null as (HistoryBackend & { writes: number }) | null };
    const store = open({}, { config: (b) => (config.wrap = counting(b)), history: (b) => (history.wrap = counting(b)) });
    const a = store.cursor(SERVER);
    const b = store.cursor('https://team.example.test:8443');
    store.recordEvent(event('6'));
    a.save({ lastEventId: '6' });
    store.recordEvent(event('7'));
    a.save({ lastEventId: '7' });
    expect(config.wrap!.writes).toBe(0);
    await nextTurn();
    // One write of the small file for the two events of this turn; none of the history yet.
    expect(config.wrap!.writes).toBe(1);
    expect(history.wrap!.writes).toBe(0);
    expect(configOnDisk()).toMatchObject({ cursors: { [SERVER]: '7' }, unread: 2 });
    b.save({ lastEventId: '3' });
    await nextTurn();
    const reopened = open();
    expect(reopened.cursor(SERVER).load()?.lastEventId).toBe('7');
    expect(reopened.cursor('https://team.example.test:8443').load()?.lastEventId).toBe('3');
    expect(reopened.unread).toBe(2);
    store.flush();
    expect(ids(open().history())).toEqual(['6', '7']);
  });

  it('a burst of 50 events: the cursor is on disk once, after the batch, and the history file is written once or twice', async () => {
    const config = { wrap: null as (StoreBackend & { writes: number }) | null };
    const history = { wrap: null as (HistoryBackend & { writes: number }) | null };
    const store = open({}, { config: (b) => (config.wrap = counting(b)), history: (b) => (history.wrap = counting(b)) });
    handle(store, event('1'));
    store.flush();
    expect(history.wrap!.writes).toBe(1);
    const configWrites = config.wrap!.writes;
    const before = fs.statSync(path.join(dir, 'history.json')).mtimeMs;
    // As a catch-up delivers them: one chunk, handled in one turn of the event loop.
    for (let i = 2; i <= 51; i++) handle(store, event(String(i)));
    expect(cursorOnDisk()).toBe('1');
    await nextTurn();
    expect(cursorOnDisk()).toBe('51');
    expect(config.wrap!.writes - configWrites).toBe(1);
    // The window and the tray read from memory: everything is there already.
    expect(store.history()).toHaveLength(51);
    expect(history.wrap!.writes).toBe(1);
    expect(ids(historyOnDisk())).toEqual(['1']);
    await sleep(DEFAULT_HISTORY_WRITE_MS + 150);
    expect(history.wrap!.writes - 1).toBeGreaterThanOrEqual(1);
    expect(history.wrap!.writes - 1).toBeLessThanOrEqual(2);
    expect(fs.statSync(path.join(dir, 'history.json')).mtimeMs).toBeGreaterThanOrEqual(before);
    expect(historyOnDisk()).toHaveLength(51);
    expect(historyOnDisk().at(-1)!.id).toBe('51');
  });

  it('flush (on quit) writes the pending history synchronously, once, and cancels the coalesced write', async () => {
    const history = { wrap: null as (HistoryBackend & { writes: number }) | null };
    const store = open({ historyWriteMs: 100 }, { history: (b) => (history.wrap = counting(b)) });
    for (const id of ['1', '2', '3']) handle(store, event(id));
    expect(historyOnDisk()).toEqual([]);
    store.flush();
    expect(ids(historyOnDisk())).toEqual(['1', '2', '3']);
    expect(history.wrap!.writes).toBe(1);
    await sleep(200);
    expect(history.wrap!.writes).toBe(1);
  });

  it('after a restart (a new store over the same files) the history and the cursor agree', () => {
    const store = open();
    for (let i = 1; i <= 20; i++) handle(store, event(String(i)));
    store.markRead('15');
    store.flush();
    const reopened = open();
    expect(reopened.cursor(SERVER).load()?.lastEventId).toBe('20');
    expect(reopened.history().at(-1)!.id).toBe(reopened.cursor(SERVER).load()?.lastEventId);
    expect(ids(reopened.history())).toEqual(ids(store.history()));
    expect(reopened.unread).toBe(5);
  });

  it('after a crash before the coalesced write, the cursor is ahead of the history file, never behind; inside a batch, behind what was handled (repeats, never losses)', async () => {
    const store = open({ historyWriteMs: 60_000 });
    for (const id of ['1', '2', '3']) handle(store, event(id));
    store.flush();
    for (const id of ['4', '5']) handle(store, event(id));
    // Dying inside the batch: the server sends 4 and 5 again after the restart.
    expect(open().cursor(SERVER).load()?.lastEventId).toBe('3');
    await nextTurn();
    // The process dies here: a new store reads what is on disk.
    const reopened = open();
    expect(reopened.cursor(SERVER).load()?.lastEventId).toBe('5');
    expect(ids(reopened.history())).toEqual(['1', '2', '3']);
    expect(reopened.unread).toBe(5);
  });

  it('writes an event that moves no cursor on its own', async () => {
    const store = open({ historyWriteMs: 20 });
    store.recordEvent(event('1'));
    await new Promise((r) => setImmediate(r));
    expect(configOnDisk()).toMatchObject({ unread: 1 });
    await sleep(120);
    expect(ids(historyOnDisk())).toEqual(['1']);
    expect(open().history()).toHaveLength(1);
  });

  it('reports a failed coalesced history write and retries it with the next change', async () => {
    const lines: string[] = [];
    const history = { wrap: null as (HistoryBackend & { writes: number }) | null };
    const store = open({ historyWriteMs: 20, log: (l) => lines.push(l) }, { history: (b) => (history.wrap = counting(b, 1)) });
    handle(store, event('1'));
    await sleep(120);
    expect(lines.join('\n')).toMatch(/could not write the history file .*history\.json: ENOSPC.*retried/);
    expect(historyOnDisk()).toEqual([]);
    handle(store, event('2'));
    await sleep(120);
    expect(ids(historyOnDisk())).toEqual(['1', '2']);
  });

  it('reports a failed deferred config write instead of crashing, keeps the unread count and retries it with the next write', async () => {
    const lines: string[] = [];
    const store = open({ log: (l) => lines.push(l) }, { config: (b) => counting(b, 1) });
    store.recordEvent(event('1'));
    await new Promise((r) => setImmediate(r));
    expect(lines.join('\n')).toMatch(/could not write the config file .*config\.json: ENOSPC.*retried/);
    expect(configOnDisk()).toMatchObject({ unread: 0 });
    expect(store.unread).toBe(1);
    store.recordEvent(event('2'));
    await new Promise((r) => setImmediate(r));
    expect(configOnDisk()).toMatchObject({ unread: 2 });
    expect(lines).toHaveLength(1);
  });

  it('a failed immediate write throws to its caller and its values are written with the next one', async () => {
    const store = open({}, { config: (b) => counting(b, 1) });
    const gap: StoreData['gap'] = { afterId: '3', throughId: '7', missed: 4, time: new Date(0).toISOString() };
    expect(() => store.setGap(gap)).toThrow(/ENOSPC/);
    store.cursor(SERVER).save({ lastEventId: '8' });
    await nextTurn();
    expect(cursorOnDisk()).toBe('8');
    expect(configOnDisk().gap).toEqual(gap);
  });

  it('counts unread entries as the window lists them: a job is one, a notice none', () => {
    const store = open();
    const job = (id: string, type: string, status: 'running' | 'succeeded') => ({
      ...event(id),
      type,
      job: { id: 'j1', name: 'make', status },
    });
    for (const e of [
      event('1'),
      job('2', 'job.started', 'running'),
      event('3'),
      job('4', 'job.completed', 'succeeded'),
      { ...event('5'), type: 'herald.gap' },
    ])
      store.recordEvent(e);
    expect(store.unread).toBe(5);
    expect(store.unreadEntries).toBe(3); // 1, the job (2 and 4), 3
    store.markRead('3');
    expect(store.unread).toBe(2);
    expect(store.unreadEntries).toBe(1); // the job again (4); the gap notice is no entry
    store.markRead('5');
    expect(store.unreadEntries).toBe(0);
  });

  it('bounds the history, never records an id twice, and counts unread', () => {
    const store = open({ recentLimit: 3 });
    for (const id of ['1', '2', '3', '4', '5']) expect(store.recordEvent(event(id))).toBe(true);
    expect(store.recordEvent(event('5'))).toBe(false);
    store.flush();
    expect(ids(store.history())).toEqual(['3', '4', '5']);
    expect(ids(store.history(2))).toEqual(['4', '5']); // the tray's latest
    expect(store.history(0)).toEqual([]);
    expect(ids(historyOnDisk())).toEqual(['3', '4', '5']);
    expect(store.unread).toBe(5);
    store.markRead('4');
    expect(store.unread).toBe(1);
    store.markRead('2'); // never raises the count back
    expect(store.unread).toBe(1);
    store.clearHistory();
    expect(store.history()).toEqual([]);
    expect(store.unread).toBe(0);
    // A user's clear is on disk at once.
    expect(historyOnDisk()).toEqual([]);
    expect(configOnDisk()).toMatchObject({ unread: 0 });
  });

  it('deletes events from the history at once, on disk, and they no longer count as unread', () => {
    const store = open();
    for (const id of ['1', '2', '3', '4', '5']) store.recordEvent(event(id));
    store.markRead('2'); // 3, 4, 5 unread
    store.deleteEvents(['1', '4', '99']); // one read, one unread, one unknown
    expect(ids(store.history())).toEqual(['2', '3', '5']);
    expect(ids(historyOnDisk())).toEqual(['2', '3', '5']);
    expect(store.unread).toBe(2);
    expect(configOnDisk()).toMatchObject({ unread: 2 });
    // After a restart (a new store over the same files) they stay deleted.
    const again = open();
    expect(ids(again.history())).toEqual(['2', '3', '5']);
    expect(again.unread).toBe(2);
    store.deleteEvents(['77']); // nothing to delete: nothing changes
    expect(store.unread).toBe(2);
  });

  it('starts the history afresh when the server log was reset', async () => {
    const store = open();
    handle(store, event('10'));
    store.flush();
    expect(store.recordEvent(event('0', { type: 'herald.reset', topic: 'herald' }))).toBe(false);
    // The old log's entries are gone from the file at once: they must not come back after a crash.
    expect(historyOnDisk()).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(store.history()).toEqual([]);
    expect(store.unread).toBe(0);
    expect(configOnDisk()).toMatchObject({ unread: 0 });
  });

  it('reads an expired pause as not paused', () => {
    const store = open();
    store.setPaused({ until: 1000 });
    expect(store.paused(999)).toEqual({ until: 1000 });
    expect(store.paused(1000)).toBeNull();
    store.setPaused({ until: null });
    expect(store.paused(Number.MAX_SAFE_INTEGER)).toEqual({ until: null });
  });
});

/** A SecretBox double: reversible, so a test can see what was sealed, and never the plain text. */
function box(storage: TokenStorage = 'os', options: { failOpen?: boolean } = {}): SecretBox & { sealed: string[] } {
  const sealed: string[] = [];
  return {
    sealed,
    storage: () => storage,
    seal: (text) => {
      sealed.push(text);
      return Buffer.from(`sealed:${[...text].reverse().join('')}`).toString('base64');
    },
    open: (b64) => {
      if (options.failOpen) throw new Error('the keychain has no key for this');
      const text = Buffer.from(b64, 'base64').toString();
      if (!text.startsWith('sealed:')) throw new Error('not sealed here');
      return [...text.slice('sealed:'.length)].reverse().join('');
    },
  };
}

describe('the server token', () => {
  const rawConfig = () => fs.readFileSync(path.join(dir, 'config.json'), 'utf8');

  it('is sealed on disk (never plain text in config.json) and given back in full only in memory', () => {
    const store = open({ secrets: box() });
    store.settings = { ...store.settings, token: 's3cret-token-42' };
    expect(rawConfig()).not.toContain('s3cret-token-42');
    expect(configOnDisk()).toMatchObject({ settings: { token: '' }, sealedToken: expect.stringMatching(/^[A-Za-z0-9+/=]{8,}$/) });
    expect(store.settings.token).toBe('s3cret-token-42');
    expect(open({ secrets: box() }).settings.token).toBe('s3cret-token-42');
    expect(store.tokenStorage).toBe('os');
    // Cleared: nothing sealed is left behind.
    store.settings = { ...store.settings, token: '' };
    expect(configOnDisk()).toMatchObject({ settings: { token: '' }, sealedToken: '' });
  });

  it('moves a plain token written by an older Herald into the sealed field and removes it from the file', () => {
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        settings: { ...defaultSettings(), token: 'old-plain-token' },
        cursors: {},
        epochs: {},
        unread: 0,
        paused: null,
        gap: null,
        __internal__: { migrations: { version: '1.2.0' } },
      }),
    );
    expect(rawConfig()).toContain('old-plain-token');
    const secrets = box();
    const store = open({ secrets });
    expect(secrets.sealed).toEqual(['old-plain-token']);
    expect(rawConfig()).not.toContain('old-plain-token');
    expect(configOnDisk()).toMatchObject({ __internal__: { migrations: { version: STORE_VERSION } } });
    expect(store.settings.token).toBe('old-plain-token');
    expect(open({ secrets: box() }).settings.token).toBe('old-plain-token');
  });

  it('stays plain text only where nothing can seal it, and the store says so (the settings view warns)', () => {
    const store = open({ secrets: box('plain') });
    store.settings = { ...store.settings, token: 'no-keychain-here' };
    expect(configOnDisk()).toMatchObject({ settings: { token: 'no-keychain-here' }, sealedToken: '' });
    expect(store.tokenStorage).toBe('plain');
    expect(open().tokenStorage).toBe('plain');
    // Linux without a keyring: sealed, but only obfuscated; still off the plain file, and reported.
    const weak = open({ secrets: box('weak') });
    expect(rawConfig()).not.toContain('no-keychain-here');
    expect(weak.tokenStorage).toBe('weak');
  });

  it('a sealed token this keychain cannot open is dropped with a message saying to enter it again', () => {
    open({ secrets: box() }).settings = { ...defaultSettings(), token: 'from-another-machine' };
    const lines: string[] = [];
    const store = open({ secrets: box('os', { failOpen: true }), log: (l) => lines.push(l) });
    expect(store.settings.token).toBe('');
    expect(lines.join('\n')).toMatch(/could not open the stored server token .*enter it again in the settings/);
  });
});
