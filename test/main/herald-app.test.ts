// The main process's core against a recording double of the Electron API it uses, with the real
// companion server (port 0, temp data dir), the real FeedClient and policy, and the store in a
// real file: an event on the stream becomes a notification, a tray state, a renderer push and a
// stored cursor; clicks open only http/https; a restart shows nothing twice.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PushChannel, TOKEN_KEPT } from '../../bridge/contract.ts';
import type { HeraldEvent } from '../../events/event.ts';
import type { FeedClientOptions } from '../../feed/client.ts';
import type { NotificationSpec } from '../../main/policy.ts';
import type { HeraldStore } from '../../main/herald-store.ts';
import { HeraldApp } from '../../main/herald-app.ts';
import { startServer, type RunningServer } from '../../server/serve.ts';
import { killServerProcesses, openTestStore, PlatformDouble, tempDir, until } from './platform-double.ts';

let dir: string;
let server: RunningServer;
let apps: HeraldApp[] = [];

beforeEach(async () => {
  dir = tempDir('herald-app-');
  server = await startServer({ port: 0, dataDir: path.join(dir, 'server'), webRoot: null, log: () => undefined });
});

afterEach(async () => {
  for (const app of apps) app.stop();
  apps = [];
  await server.close();
  await killServerProcesses();
  fs.rmSync(dir, { recursive: true, force: true });
});

function storeFor(serverUrl: string, extra: Record<string, unknown> = {}): HeraldStore {
  const store = openTestStore(path.join(dir, 'app'));
  store.settings = { ...store.settings, serverUrl, runLocalServer: false, ...extra };
  return store;
}

function startApp(store: HeraldStore, platform = new PlatformDouble()): { app: HeraldApp; platform: PlatformDouble } {
  const app = new HeraldApp({
    platform,
    store,
    feedOptions: { minBackoffMs: 50, maxBackoffMs: 200 },
    localServerOptions: { minBackoffMs: 50, maxBackoffMs: 200 },
  });
  apps.push(app);
  app.start();
  return { app, platform };
}

async function publish(body: Record<string, unknown>, url = server.url): Promise<HeraldEvent> {
  const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as HeraldEvent;
}

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('the core, wired to a real server and feed client', () => {
  it('turns an event into a notification, a tray state, a renderer push and a stored cursor', async () => {
    const store = storeFor(server.url);
    const { platform } = startApp(store);
    await until(() => platform.trays.at(-1)?.state === 'connected', 10_000, 'connected');
    expect(platform.trayStates).toEqual(['reconnecting', 'connected']);
    const statuses = platform.pushed(PushChannel.Status).map((s) => s.feed.status);
    expect(statuses).toContain('connecting');
    expect(statuses.at(-1)).toBe('open');

    const sent = await publish({
      title: 'Deploy <prod> & friends',
      body: 'rolled out 3 services',
      priority: 5,
      topic: 'deploy',
      url: 'https://ci.example.test/runs/7',
    });
    const shown = await until(() => platform.notifications[0], 10_000, 'a notification');
    expect(shown.spec).toMatchObject({
      title: 'Deploy <prod> & friends',
      body: 'rolled out 3 services',
      urgency: 'critical',
      url: 'https://ci.example.test/runs/7',
      eventIds: [sent.id],
    });
    expect(platform.pushed(PushChannel.Event)).toEqual([sent]);
    await until(() => store.cursor(server.url).load()?.lastEventId === sent.id, 5000, 'the cursor');
    await nextTurn(); // the cursor is written once per batch, at the end of the turn
    // On disk, not only in memory: a fresh store over the same file sees it.
    expect(openTestStore(path.join(dir, 'app')).cursor(server.url).load()?.lastEventId).toBe(sent.id);
    await nextTurn(); // the tray follows events once per setImmediate turn
    const tray = platform.trays.at(-1)!;
    expect(tray).toMatchObject({ unread: 1, latest: [{ id: sent.id, label: 'Deploy <prod> & friends' }] });
    expect(tray.tooltip).toMatch(/1 unread/);
  });

  it("replaces a job's started notification with its completed one (same tag), and counts the job as one unread entry", async () => {
    const { platform } = startApp(storeFor(server.url));
    await until(() => platform.trays.at(-1)?.state === 'connected');
    await publish({ type: 'job.started', job: { id: 'build-42', name: 'make all', status: 'running' } });
    await until(() => platform.notifications.length === 1);
    await publish({
      type: 'job.completed',
      job: {
        id: 'build-42',
        name: 'make all',
        status: 'succeeded',
        exitCode: 0,
        durationMs: 185_000,
        outputTail: 'compiling\nall 212 tests passed\n',
      },
    });
    await until(() => platform.notifications.length === 2);
    expect(platform.notifications.map((n) => n.spec.tag)).toEqual(['job:build-42', 'job:build-42']);
    expect(platform.visible).toHaveLength(1);
    expect(platform.visible[0]).toMatchObject({
      title: '✓ make all succeeded in 3 min 5 s',
      body: 'all 212 tests passed',
      urgency: 'normal',
    });
    // The window lists the job as one entry: so do the tray and its tooltip (the status keeps
    // the event count, from which the window finds its read marker).
    await until(() => platform.pushed(PushChannel.Status).at(-1)?.unread === 2);
    await until(() => platform.trays.at(-1)?.unread === 1);
    expect(platform.trays.at(-1)!.tooltip).toMatch(/1 unread/);
  });

  it('stopping the app (quit) writes the coalesced history to disk at once, after the cursor', () => {
    const store = storeFor(server.url);
    const { app } = startApp(store);
    store.recordEvent({
      id: '41',
      type: 'notification',
      topic: 'default',
      time: new Date().toISOString(),
      title: 'just before quit',
      priority: 3,
    });
    store.cursor(server.url).save({ lastEventId: '41' });
    const historyFile = path.join(dir, 'app', 'history.json');
    const onDisk = () => (JSON.parse(fs.readFileSync(historyFile, 'utf8')) as { recent: HeraldEvent[] }).recent.map((e) => e.title);
    expect(onDisk()).toEqual([]); // coalesced: not yet
    app.stop();
    expect(onDisk()).toEqual(['just before quit']);
    expect(openTestStore(path.join(dir, 'app')).cursor(server.url).load()?.lastEventId).toBe('41');
  });

  it('opens only http/https on click; anything else shows the window instead', async () => {
    const { app, platform } = startApp(storeFor(server.url));
    const spec = (url?: string): NotificationSpec => ({
      tag: 't',
      title: 't',
      body: '',
      urgency: 'normal',
      eventIds: ['1'],
      silent: false,
      ...(url ? { url } : {}),
    });
    app.notificationClicked(spec('javascript:alert(1)'));
    app.notificationClicked(spec('file:///etc/passwd'));
    app.notificationClicked(spec());
    expect(platform.opened).toEqual([]);
    expect(platform.windows).toEqual(['history', 'history', 'history']);
    app.notificationClicked(spec('https://ci.example.test/runs/7'));
    expect(platform.opened).toEqual(['https://ci.example.test/runs/7']);
    // The browser gets the URL as parsed and checked (new URL(u).href), not the raw string.
    await app.openUrl('HTTPS://CI.example.test/a b/../runs?q=<x>');
    expect(platform.opened.at(-1)).toBe('https://ci.example.test/runs?q=%3Cx%3E');

    // And a real notification's click: the event's https url.
    await until(() => platform.trays.at(-1)?.state === 'connected');
    await publish({ title: 'report ready', url: 'https://reports.example.test/q3' });
    const shown = await until(() => platform.notifications[0]);
    shown.click();
    expect(platform.opened.at(-1)).toBe('https://reports.example.test/q3');
  });

  it('after a restart with the same store, shows nothing twice and resumes where it stopped', async () => {
    const store = storeFor(server.url);
    const first = startApp(store);
    await until(() => first.platform.trays.at(-1)?.state === 'connected');
    const a = await publish({ title: 'first' });
    await until(() => first.platform.notifications.length === 1);
    await until(() => store.cursor(server.url).load()?.lastEventId === a.id);
    first.app.stop();

    const b = await publish({ title: 'while the app was closed' });
    const reopened = openTestStore(path.join(dir, 'app'));
    const second = startApp(reopened);
    await until(() => second.platform.notifications.length === 1, 10_000, 'the missed event');
    const c = await publish({ title: 'after the restart' });
    await until(() => second.platform.notifications.length === 2);
    // Give a duplicate every chance to show up before asserting it did not.
    await publish({ title: 'marker' });
    await until(() => second.platform.notifications.length === 3);
    expect(second.platform.notifications.map((n) => n.spec.eventIds[0])).toEqual([b.id, c.id, String(Number(c.id) + 1)]);
    expect(second.platform.pushed(PushChannel.Event).map((e) => e.id)).not.toContain(a.id);
    expect(reopened.history().map((e) => e.title)).toEqual(['first', 'while the app was closed', 'after the restart', 'marker']);
  });

  it('restarts the feed when the server address changes, keeping a cursor per server', async () => {
    const other = await startServer({ port: 0, dataDir: path.join(dir, 'other'), webRoot: null, log: () => undefined });
    try {
      const store = storeFor(server.url);
      const { app, platform } = startApp(store);
      await until(() => platform.trays.at(-1)?.state === 'connected');
      const a = await publish({ title: 'on the first server' });
      await until(() => store.cursor(server.url).load()?.lastEventId === a.id);

      expect(app.saveSettings({ serverUrl: other.url })).toMatchObject({ ok: true });
      await until(() => platform.trays.at(-1)?.status === `Connected to ${new URL(other.url).host}`, 10_000, 'the new server');
      const b = await publish({ title: 'on the second server' }, other.url);
      await until(() => store.cursor(other.url).load()?.lastEventId === b.id);
      expect(store.cursor(server.url).load()?.lastEventId).toBe(a.id);
      expect(platform.notifications.map((n) => n.spec.title)).toEqual(['on the first server', 'on the second server']);
    } finally {
      await other.close();
    }
  });

  it('tells the user about events the server no longer had (gap), and keeps the notice until dismissed', async () => {
    await server.close();
    server = await startServer({
      port: 0,
      dataDir: path.join(dir, 'server-small'),
      retention: { maxEvents: 2 },
      webRoot: null,
      log: () => undefined,
    });
    const sent: HeraldEvent[] = [];
    for (let i = 1; i <= 5; i++) sent.push(await publish({ title: `event ${i}` }));
    const store = storeFor(server.url);
    store.cursor(server.url).save({ lastEventId: sent[0]!.id }); // the app last saw event 1; 2 and 3 are gone
    const { app, platform } = startApp(store);
    await until(() => platform.notifications.length >= 3, 10_000, 'the gap notice and the retained events');
    const gap = platform.notifications.find((n) => n.spec.tag === 'herald:gap');
    expect(gap?.spec.title).toBe('2 events were lost while you were away');
    expect(app.status().gap).toMatchObject({ afterId: sent[0]!.id, throughId: sent[2]!.id, missed: 2 });
    expect(platform.notifications.filter((n) => n.spec.tag !== 'herald:gap').map((n) => n.spec.title)).toEqual(['event 4', 'event 5']);
    app.dismissGap();
    expect(app.status().gap).toBeNull();
    expect(platform.pushed(PushChannel.Status).at(-1)!.gap).toBeNull();
  });

  it("starts the history afresh when the server's log was replaced (reset), and shows its events", async () => {
    const store = storeFor(server.url);
    store.recordEvent({
      id: '900',
      type: 'notification',
      topic: 'default',
      time: new Date().toISOString(),
      title: 'from the old log',
      priority: 3,
    });
    store.cursor(server.url).save({ lastEventId: '900' }); // newer than anything this server has: its log was wiped
    const fresh = await publish({ title: 'first in the new log' });
    const { platform } = startApp(store);
    await until(() => platform.notifications.some((n) => n.spec.title === 'first in the new log'), 10_000, 'the new log');
    expect(platform.notifications.map((n) => n.spec.tag)).toContain('herald:reset');
    expect(platform.pushed(PushChannel.HistoryCleared)).toHaveLength(1);
    expect(store.history().map((e) => e.title)).toEqual(['first in the new log']);
    await until(() => store.cursor(server.url).load()?.lastEventId === fresh.id);
  });

  it('stays offline with a clear reason when the CA file cannot be read (never ignores certificates)', async () => {
    const { platform } = startApp(storeFor('https://127.0.0.1:9', { caFile: path.join(dir, 'missing-ca.pem') }));
    const tray = platform.trays.at(-1)!;
    expect(tray.state).toBe('offline');
    expect(tray.status).toMatch(/cannot read the CA file .*missing-ca\.pem \(ENOENT\): choose it again in the settings/);
  });

  it('a burst of 200 events (a replay) rebuilds the tray far fewer times, and ends with the right count and latest events', async () => {
    const feeds: FeedClientOptions[] = [];
    const platform = new PlatformDouble();
    const store = storeFor(server.url);
    const app = new HeraldApp({
      platform,
      store,
      createFeed: (options) => {
        feeds.push(options);
        return { start() {}, stop() {}, resume() {}, state: { status: 'open', since: 0 } };
      },
    });
    apps.push(app);
    app.start();
    const before = platform.trays.length;
    const statusesBefore = platform.pushed(PushChannel.Status).length;
    const time = new Date().toISOString();
    for (let i = 1; i <= 200; i++)
      feeds[0]!.onEvent({ id: String(i), type: 'notification', topic: 'default', time, title: `event ${i}`, priority: 3 });
    await nextTurn();
    const updates = platform.trays.length - before;
    expect(updates).toBeGreaterThanOrEqual(1);
    expect(updates).toBeLessThanOrEqual(5);
    expect(platform.pushed(PushChannel.Status).length - statusesBefore).toBe(updates);
    expect(platform.pushed(PushChannel.Event)).toHaveLength(200);
    const tray = platform.trays.at(-1)!;
    expect(tray.unread).toBe(200);
    expect(tray.latest.map((e) => e.id)).toEqual(['200', '199', '198', '197', '196']);
    expect(tray.tooltip).toMatch(/200 unread/);
    expect(platform.pushed(PushChannel.Status).at(-1)!.unread).toBe(200);
  });

  it('runs the local server in its own process and follows it there by default', async () => {
    // The settings point at a loopback port the local server will take.
    const probe = await startServer({ port: 0, dataDir: path.join(dir, 'probe'), webRoot: null, log: () => undefined });
    const port = probe.port;
    await probe.close();
    const store = storeFor(`http://127.0.0.1:${port}`, { runLocalServer: true });
    const { app, platform } = startApp(store, new PlatformDouble({ serverDataDir: path.join(dir, 'local-server') }));
    await until(() => app.status().localServer.status === 'running', 15_000, 'the local server');
    expect(platform.spawned[0]).toMatchObject({ host: '127.0.0.1', port });
    await until(() => platform.trays.at(-1)?.state === 'connected', 10_000, 'connected to the local server');
    await publish({ title: 'from the local server' }, `http://127.0.0.1:${port}`);
    await until(() => platform.notifications.length === 1);
    expect(platform.trays.at(-1)!.localServer).toMatchObject({ on: true, label: `Local server: on (127.0.0.1:${port})` });
    expect(fs.readdirSync(path.join(dir, 'local-server')).length).toBeGreaterThan(0);

    app.setLocalServer(false);
    expect(app.status().localServer).toEqual({ status: 'off' });
    expect(store.settings.runLocalServer).toBe(false);
  });

  it('shows a stored token to the window only as TOKEN_KEPT; sending that back keeps the token, a new one replaces it', () => {
    const store = storeFor(server.url, { token: 'tok-123' });
    const { app } = startApp(store);
    expect(app.getSettings().token).toBe(TOKEN_KEPT);
    expect(JSON.stringify(app.getSettings())).not.toContain('tok-123');
    expect(app.saveSettings({ ...app.getSettings(), topics: ['ci'] })).toMatchObject({ ok: true });
    expect(store.settings).toMatchObject({ token: 'tok-123', topics: ['ci'] });
    expect(app.saveSettings({ token: 'tok-456' })).toMatchObject({ ok: true });
    expect(store.settings.token).toBe('tok-456');
    expect(app.saveSettings({ token: '' })).toMatchObject({ ok: true });
    expect(app.getSettings().token).toBe('');
    expect(app.status().tokenStorage).toBe('plain');
  });

  it("pauses from the tray from the moment of the click, not the menu's, with the checks IPC applies", () => {
    let now = new Date(2025, 0, 15, 9, 0).getTime();
    const platform = new PlatformDouble();
    const app = new HeraldApp({ platform, store: storeFor(server.url), now: () => now });
    apps.push(app);
    app.start();
    // The menu is built now; the user clicks three hours later.
    const menuBuiltAt = now;
    now += 3 * 3_600_000;
    app.pauseFor('hour');
    expect(app.status().paused).toEqual({ until: now + 3_600_000 });
    expect(app.status().paused!.until).toBeGreaterThan(menuBuiltAt + 3_600_000);
    app.pauseFor('tomorrow');
    expect(app.status().paused).toEqual({ until: new Date(2025, 0, 16, 8, 0).getTime() });
    app.pauseFor('resumed');
    expect(app.status().paused).toEqual({ until: null });
    app.resumeNotifications();
    expect(app.status().paused).toBeNull();
  });

  it('says in the tray when this desktop cannot show notifications, and what it was told at start', async () => {
    const platform = new PlatformDouble();
    platform.canNotify = false;
    const app = new HeraldApp({
      platform,
      store: storeFor(server.url),
      notices: ['The settings file could not be read; it was moved to /x/config.broken-1.json and Herald started with default settings'],
    });
    apps.push(app);
    app.start();
    const notices = platform.trays.at(-1)!.notices;
    expect(notices[0]).toMatch(/^The settings file could not be read; it was moved to/);
    expect(notices[1]).toMatch(/^This desktop cannot show notifications/);
    expect(platform.trays.at(-1)!.tooltip).toMatch(/⚠ The settings file could not be read/);
  });

  it('quitting waits for the local server process to exit (it closes its streams and log first), at most the wait given', async () => {
    const probe = await startServer({ port: 0, dataDir: path.join(dir, 'probe'), webRoot: null, log: () => undefined });
    const port = probe.port;
    await probe.close();
    const store = storeFor(`http://127.0.0.1:${port}`, { runLocalServer: true });
    const platform = new PlatformDouble({ serverDataDir: path.join(dir, 'local-server') });
    let child: import('node:child_process').ChildProcess | undefined;
    const spawnReal = platform.spawnImpl;
    platform.spawnImpl = (o, events) => {
      const p = spawnReal(o, events) as ReturnType<typeof spawnReal> & { child?: import('node:child_process').ChildProcess };
      child = p.child;
      return p;
    };
    const { app } = startApp(store, platform);
    await until(() => app.status().localServer.status === 'running', 15_000, 'the local server');
    await app.shutdown(3000);
    // Exited by itself (its stop message), not killed, and its port is free again.
    expect(child!.exitCode).toBe(0);
    const again = await startServer({ port, dataDir: path.join(dir, 'again'), webRoot: null, log: () => undefined });
    await again.close();

    // A server that does not exit does not hold quitting up for longer than the wait.
    const stuck = new PlatformDouble();
    stuck.spawnImpl = (_o, events) => {
      setImmediate(() => events.ready('http://127.0.0.1:1'));
      return { stop: () => undefined };
    };
    const app2 = new HeraldApp({ platform: stuck, store: storeFor(server.url, { runLocalServer: true }) });
    apps.push(app2);
    app2.start();
    await until(() => app2.status().localServer.status === 'running');
    const t0 = Date.now();
    await app2.shutdown(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
