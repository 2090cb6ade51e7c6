// The store's schema, defaults, migrations and the history/unread/cursor logic, through `conf`
// (electron-store's own engine) against a real file in a temp dir.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { HeraldStore, openStore, STORE_VERSION, storeOptions, type StoreBackend, type StoreData } from '../../main/store-schema.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-store-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(): Conf<StoreData> & StoreBackend {
  return new Conf<StoreData>({ ...storeOptions(dir), configName: 'config' }) as Conf<StoreData> & StoreBackend;
}
function onDisk(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
}
function event(id: string, extra: Partial<HeraldEvent> = {}): HeraldEvent {
  return { id, type: 'notification', topic: 'default', time: new Date(0).toISOString(), title: `event ${id}`, priority: 3, ...extra };
}

describe('store schema and defaults', () => {
  it('starts from the defaults', () => {
    const store = new HeraldStore(open());
    expect(store.settings.serverUrl).toBe('http://127.0.0.1:5080');
    expect(store.settings.runLocalServer).toBe(true);
    expect(store.history()).toEqual([]);
    expect(store.unread).toBe(0);
    expect(store.cursor('http://127.0.0.1:5080').load()).toBeUndefined();
  });

  it('refuses a write that breaks the schema and leaves the file as it was', () => {
    const conf = open();
    const store = new HeraldStore(conf);
    store.settings = { ...store.settings, token: 'abc' };
    expect(() => conf.set({ unread: -1 } as Partial<StoreData>)).toThrow(/unread/);
    expect(() => conf.set({ cursors: { 'http://x': 'not-an-id' } })).toThrow(/cursors/);
    expect(onDisk()).toMatchObject({ unread: 0, cursors: {}, settings: { token: 'abc' } });
  });

  it('moves a broken file aside and starts afresh', () => {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ unread: 'many' }));
    const opened = openStore(open, () => path.join(dir, 'config.json'), { rename: fs.renameSync, exists: fs.existsSync, now: () => 42 });
    expect(opened.movedAside).toBe(path.join(dir, 'config.broken-42.json'));
    expect(opened.error).toMatch(/unread/);
    expect(JSON.parse(fs.readFileSync(opened.movedAside!, 'utf8'))).toEqual({ unread: 'many' });
    expect(new HeraldStore(opened.store).unread).toBe(0);
  });
});

describe('migrations', () => {
  it('migrates a v0 file (flat prototype layout) to the current layout', () => {
    const history = Array.from({ length: 600 }, (_, i) => event(String(i + 1)));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ server: 'https://herald.example.test/', token: 'tok', topics: ['ci', 'bad topic'], lastEventId: '600', history }),
    );
    const conf = open();
    const store = new HeraldStore(conf);
    expect(store.settings).toMatchObject({ serverUrl: 'https://herald.example.test', token: 'tok', topics: ['ci'], runLocalServer: true });
    expect(store.cursor('https://herald.example.test').load()).toBe('600');
    expect(store.history()).toHaveLength(500);
    expect(store.history()[0]!.id).toBe('101');
    const disk = onDisk();
    for (const old of ['server', 'token', 'topics', 'lastEventId', 'history']) expect(disk).not.toHaveProperty(old);
    expect(disk).toMatchObject({ __internal__: { migrations: { version: STORE_VERSION } } });
  });

  it('does not migrate a current file again', () => {
    const store = new HeraldStore(open());
    store.settings = { ...store.settings, token: 'kept' };
    const again = new HeraldStore(open());
    expect(again.settings.token).toBe('kept');
  });
});

describe('HeraldStore', () => {
  it('keeps a cursor per server and writes the event and its cursor in one write', () => {
    const conf = open();
    let writes = 0;
    const counting: StoreBackend = { get store() { return conf.store; }, path: conf.path, set: (v) => { writes++; conf.set(v); } };
    const store = new HeraldStore(counting);
    const a = store.cursor('http://127.0.0.1:5080');
    const b = store.cursor('https://team.example.test:8443');
    store.recordEvent(event('7'));
    a.save('7');
    expect(writes).toBe(1);
    b.save('3');
    const reopened = new HeraldStore(open());
    expect(reopened.cursor('http://127.0.0.1:5080').load()).toBe('7');
    expect(reopened.cursor('https://team.example.test:8443').load()).toBe('3');
    expect(reopened.history().map((e) => e.id)).toEqual(['7']);
    expect(reopened.unread).toBe(1);
  });

  it('flushes an event that moves no cursor on its own', async () => {
    const store = new HeraldStore(open());
    store.recordEvent(event('1'));
    await new Promise((r) => setImmediate(r));
    expect(new HeraldStore(open()).history()).toHaveLength(1);
  });

  it('bounds the history, never records an id twice, and counts unread', () => {
    const store = new HeraldStore(open(), { recentLimit: 3 });
    for (const id of ['1', '2', '3', '4', '5']) expect(store.recordEvent(event(id))).toBe(true);
    expect(store.recordEvent(event('5'))).toBe(false);
    store.flush();
    expect(store.history().map((e) => e.id)).toEqual(['3', '4', '5']);
    expect(store.unread).toBe(5);
    store.markRead('4');
    expect(store.unread).toBe(1);
    store.markRead('2'); // never raises the count back
    expect(store.unread).toBe(1);
    store.clearHistory();
    expect(store.history()).toEqual([]);
    expect(store.unread).toBe(0);
  });

  it('starts the history afresh when the server log was reset', () => {
    const store = new HeraldStore(open());
    store.recordEvent(event('10'));
    expect(store.recordEvent(event('0', { type: 'herald.reset', topic: 'herald' }))).toBe(false);
    store.flush();
    expect(store.history()).toEqual([]);
    expect(store.unread).toBe(0);
  });

  it('reads an expired pause as not paused', () => {
    const store = new HeraldStore(open());
    store.setPaused({ until: 1000 });
    expect(store.paused(999)).toEqual({ until: 1000 });
    expect(store.paused(1000)).toBeNull();
    store.setPaused({ until: null });
    expect(store.paused(Number.MAX_SAFE_INTEGER)).toEqual({ until: null });
  });
});
