// The IPC handlers' checks: only the app's own page may call, and every payload is validated
// before it reaches the core (real core, real store file, recording Platform double).

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvokeChannel } from '../../bridge/contract.ts';
import { ipcHandlers, IpcPayloadError, isAppSender, type IpcHandlers } from '../../main/ipc-handlers.ts';
import type { HeraldStore } from '../../main/herald-store.ts';
import { HeraldApp } from '../../main/herald-app.ts';
import { openTestStore, PlatformDouble, tempDir } from './platform-double.ts';

const PAGE = '/opt/Herald/resources/app.asar/dist/renderer/index.html';
const PAGE_URL = pathToFileURL(PAGE).href;

describe('isAppSender', () => {
  it("accepts the app's own page, with or without a hash or query", () => {
    expect(isAppSender(PAGE_URL, PAGE_URL)).toBe(true);
    expect(isAppSender(`${PAGE_URL}#settings`, PAGE_URL)).toBe(true);
    expect(isAppSender(`${PAGE_URL}?x=1`, PAGE_URL)).toBe(true);
  });

  it.each([
    ['a remote page', 'https://evil.example.test/index.html'],
    ['a loopback page (the web app)', 'http://127.0.0.1:5080/'],
    ['another local file', pathToFileURL('/tmp/evil/index.html').href],
    ['a sibling of the page', pathToFileURL('/opt/Herald/resources/app.asar/dist/renderer/other.html').href],
    ['a path that climbs out', 'file:///opt/Herald/resources/app.asar/dist/renderer/../../../../../tmp/index.html'],
    ['a file URL on another host', 'file://evil-host/opt/Herald/resources/app.asar/dist/renderer/index.html'],
    ['a data: URL', 'data:text/html,<script>1</script>'],
    ['about:blank', 'about:blank'],
    ['a frame with no URL', ''],
    ['a destroyed frame', null],
    ['no frame at all', undefined],
    ['garbage', 'not a url'],
  ])('refuses %s', (_what, url) => {
    expect(isAppSender(url, PAGE_URL)).toBe(false);
  });
});

describe('ipcHandlers', () => {
  let dir: string;
  let store: HeraldStore;
  let platform: PlatformDouble;
  let handlers: IpcHandlers;
  const now = 1_700_000_000_000;

  beforeEach(() => {
    dir = tempDir('herald-ipc-');
    store = openTestStore(dir);
    platform = new PlatformDouble();
    // Not started: these checks need no feed.
    handlers = ipcHandlers(new HeraldApp({ platform, store, now: () => now }), () => now);
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const diskSettings = () => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).settings;

  it('saves a valid settings patch and reports it', async () => {
    const result = await handlers[InvokeChannel.SaveSettings]([
      { serverUrl: 'https://herald.example.test/', topics: ['ci', 'ci', 'deploy'] },
    ]);
    expect(result).toMatchObject({ ok: true, settings: { serverUrl: 'https://herald.example.test', topics: ['ci', 'deploy'] } });
    expect(diskSettings()).toMatchObject({ serverUrl: 'https://herald.example.test', topics: ['ci', 'deploy'] });
  });

  it('rejects bad settings with field errors and leaves the store unchanged', async () => {
    await handlers[InvokeChannel.SaveSettings]([{ token: 'good-token' }]);
    const before = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    const result = await handlers[InvokeChannel.SaveSettings]([
      { serverUrl: 'javascript:alert(1)', topics: ['ok', 'not ok'], token: 'has space', launchAtLogin: 'yes', __proto__x: 1 },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(['__proto__x', 'launchAtLogin', 'serverUrl', 'token', 'topics']);
    expect(result.errors.serverUrl).toMatch(/http/);
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(before);
    expect(store.settings.token).toBe('good-token');
    expect(platform.loginItem).toEqual([]);
    for (const bad of [null, 'settings', [1, 2], 42]) {
      expect((await handlers[InvokeChannel.SaveSettings]([bad])).ok).toBe(false);
    }
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe(before);
  });

  it('turns launch at login on through the platform', async () => {
    await handlers[InvokeChannel.SaveSettings]([{ launchAtLogin: true }]);
    expect(platform.loginItem).toEqual([true]);
  });

  it.each([
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,x',
    'herald://x',
    '//evil.example.test',
    `https://x.test/${'a'.repeat(2100)}`,
    42,
    null,
  ])('refuses to open %s', async (url) => {
    await expect(handlers[InvokeChannel.OpenUrl]([url])).rejects.toThrow(IpcPayloadError);
    expect(platform.opened).toEqual([]);
  });

  it('opens an https URL', async () => {
    await handlers[InvokeChannel.OpenUrl](['https://ci.example.test/runs/1']);
    expect(platform.opened).toEqual(['https://ci.example.test/runs/1']);
  });

  it('checks the number of arguments of every channel', async () => {
    await expect(handlers[InvokeChannel.GetSettings](['extra'])).rejects.toThrow(/takes 0 arguments/);
    await expect(handlers[InvokeChannel.OpenUrl]([])).rejects.toThrow(/takes 1 argument/);
    await expect(handlers[InvokeChannel.SaveSettings]([{}, {}])).rejects.toThrow(/takes 1 argument/);
  });

  it('validates pause times, local server switches and read marks', async () => {
    await expect(handlers[InvokeChannel.SetPaused](['soon'])).rejects.toThrow(IpcPayloadError);
    await expect(handlers[InvokeChannel.SetPaused]([now - 1])).rejects.toThrow(/future/);
    await expect(handlers[InvokeChannel.SetPaused]([now + 400 * 24 * 3600 * 1000])).rejects.toThrow(/within a year/);
    await expect(handlers[InvokeChannel.SetPaused]([Number.NaN])).rejects.toThrow(IpcPayloadError);
    expect(store.paused(now)).toBeNull();
    await handlers[InvokeChannel.SetPaused]([now + 3_600_000]);
    expect(store.paused(now)).toEqual({ until: now + 3_600_000 });
    await handlers[InvokeChannel.SetPaused]([false]);
    expect(store.paused(now)).toBeNull();

    await expect(handlers[InvokeChannel.SetLocalServer](['true'])).rejects.toThrow(IpcPayloadError);
    await handlers[InvokeChannel.SetLocalServer]([false]);
    expect(store.settings.runLocalServer).toBe(false);

    await expect(handlers[InvokeChannel.MarkRead](['12; DROP'])).rejects.toThrow(IpcPayloadError);
    await expect(handlers[InvokeChannel.MarkRead]([12])).rejects.toThrow(IpcPayloadError);
    await handlers[InvokeChannel.MarkRead](['12']);
  });

  it('deletes events from the history by id, and refuses anything but a list of ids', async () => {
    const app = new HeraldApp({ platform, store, now: () => now });
    const withApp = ipcHandlers(app, () => now);
    for (const id of ['1', '2', '3'])
      store.recordEvent({ id, type: 'notification', topic: 'default', time: new Date(now).toISOString(), title: `e${id}`, priority: 3 });
    for (const bad of [[], ['1; DROP'], [1], '1', null, [['1']], Array.from({ length: 1001 }, (_, i) => String(i))]) {
      await expect(withApp[InvokeChannel.DeleteEvents]([bad])).rejects.toThrow(IpcPayloadError);
    }
    await expect(withApp[InvokeChannel.DeleteEvents]([['1'], ['2']])).rejects.toThrow(/takes 1 argument/);
    expect((await withApp[InvokeChannel.GetHistory]([])).map((e) => e.id)).toEqual(['1', '2', '3']);
    await withApp[InvokeChannel.DeleteEvents]([['1', '3']]);
    expect((await withApp[InvokeChannel.GetHistory]([])).map((e) => e.id)).toEqual(['2']);
    expect(store.unread).toBe(1);
    // The tray is redrawn with what is left.
    expect(platform.trays.at(-1)?.unread).toBe(1);
  });

  it('answers status and history as plain data', async () => {
    const status = await handlers[InvokeChannel.GetStatus]([]);
    expect(status).toMatchObject({ host: 'desktop', unread: 0, paused: null, localServer: { status: 'off' }, gap: null });
    expect(structuredClone(status)).toEqual(status);
    expect(await handlers[InvokeChannel.GetHistory]([])).toEqual([]);
  });

  it('has a handler for every invoke channel of the contract', () => {
    expect(Object.keys(handlers).sort()).toEqual(Object.values(InvokeChannel).sort());
  });
});
