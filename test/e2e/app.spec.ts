// The real desktop app, end to end, with Playwright's Electron support: a real companion server,
// the app started with a temp data dir, an event published over HTTP and seen in the history
// window; the window's sandbox and IPC checks; a restart that resumes without repeating.
//
// Where no Electron binary is installed (node_modules/electron/dist missing: it could not be
// downloaded) the tests report themselves skipped. The check never requires 'electron': its
// index.js would try to download the binary.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import type { HeraldBridge } from '../../bridge/contract.ts';
import type { HeraldEvent } from '../../events/event.ts';
import { startServer, type RunningServer } from '../../server/serve.ts';
import { STORE_VERSION, storeDefaults } from '../../main/herald-store.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The Electron executable npm would run, found without loading the electron package. */
function electronBinary(): string | null {
  const pathFile = path.join(root, 'node_modules', 'electron', 'path.txt');
  if (!fs.existsSync(pathFile)) return null;
  const relative = fs.readFileSync(pathFile, 'utf8').trim();
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(root, 'node_modules', 'electron', 'dist');
  const executable = path.join(dist, relative);
  return relative && fs.existsSync(executable) ? executable : null;
}

const binary = electronBinary();
const SKIP_REASON =
  'No Electron binary is present (node_modules/electron/dist is empty: it cannot be downloaded on this machine); this end-to-end test runs wherever Electron can.';
// The list reporter does not print skip reasons: say it plainly, once, as the runner loads the file.
if (binary === null && process.env.TEST_WORKER_INDEX === undefined) console.log(`SKIPPED test/e2e/app.spec.ts: ${SKIP_REASON}`);
test.skip(binary === null, SKIP_REASON);

// One app at a time: they share the server and the app's data dir.
test.describe.configure({ mode: 'serial' });

let work: string;
let server: RunningServer;
let userData: string;

test.beforeAll(async () => {
  // The window UI is built by the Playwright global setup; the main process, preload and icons here.
  execFileSync(process.execPath, [path.join(root, 'main', 'build.ts')], { cwd: root, stdio: 'inherit' });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-e2e-'));
  server = await startServer({ port: 0, dataDir: path.join(work, 'server'), webRoot: null, log: () => undefined });
  userData = path.join(work, 'user-data');
  fs.mkdirSync(userData);
  // The app's store, as it would have written it: pointed at the test's server, no local server.
  const store = { ...storeDefaults(), __internal__: { migrations: { version: STORE_VERSION } } };
  store.settings = { ...store.settings, serverUrl: server.url, runLocalServer: false };
  fs.writeFileSync(path.join(userData, 'config.json'), JSON.stringify(store, null, '\t'));
});

test.afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function launch(args: string[] = []): Promise<ElectronApplication> {
  return electron.launch({
    args: [root, ...args],
    env: { ...process.env, HERALD_USER_DATA_DIR: userData, HERALD_DATA_DIR: path.join(work, 'local-server') } as Record<string, string>,
    timeout: 30_000,
  });
}

async function publish(body: Record<string, unknown>): Promise<HeraldEvent> {
  const res = await fetch(`${server.url}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as HeraldEvent;
}

/** The preload's bridge, called inside the window. */
function bridge<T>(page: Page, call: (herald: HeraldBridge) => Promise<T>): Promise<T> {
  return page.evaluate(`(${call.toString()})(globalThis.herald)`) as Promise<T>;
}

test('starts to the tray, opens the history window on demand, and shows a published event', async () => {
  const app = await launch();
  try {
    // No window at start: a tray app.
    await expect.poll(() => app.evaluate(({ app }) => app.isReady())).toBe(true);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(0);

    // What a second launch does: open the history window.
    const windowOpened = app.waitForEvent('window');
    await app.evaluate(({ app }) => {
      app.emit('second-instance', {}, [], '', {});
    });
    const page = await windowOpened;
    await page.waitForLoadState('domcontentloaded');
    expect(page.url()).toMatch(/^file:.*\/dist\/renderer\/index\.html#history$/);

    await expect.poll(() => bridge(page, (h) => h.getStatus().then((s) => s.feed.status)), { timeout: 15_000 }).toBe('open');
    const event = await publish({ title: 'e2e: build finished', body: 'all green', topic: 'ci' });
    await expect(page.getByText('e2e: build finished').first()).toBeVisible({ timeout: 15_000 });
    expect((await bridge(page, (h) => h.getHistory())).map((e) => e.id)).toContain(event.id);

    // The window has no Node, no raw IPC, only the bridge.
    expect(await page.evaluate('[typeof require, typeof process, typeof globalThis.herald.ipcRenderer]')).toEqual([
      'undefined',
      'undefined',
      'undefined',
    ]);
    // The host refuses what is not http/https.
    expect(
      await bridge(page, (h) =>
        h.openUrl('file:///etc/passwd').then(
          () => 'opened',
          (e: Error) => e.message,
        ),
      ),
    ).toMatch(/Only http/);
    // Navigation away is denied.
    await page.evaluate('location.href = "https://example.test/"').catch(() => undefined);
    await page.waitForTimeout(300);
    expect(page.url()).toMatch(/^file:/);

    // Closing the window leaves the app running in the tray.
    await page.close();
    await expect.poll(() => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(0);
    expect(await app.evaluate(({ app }) => app.isReady())).toBe(true);
  } finally {
    await app.close();
  }
});

test('after a restart, shows what was sent while it was closed, and nothing twice', async () => {
  const missed = await publish({ title: 'e2e: sent while the app was closed' });
  const app = await launch(['--show']);
  try {
    const page = await app.firstWindow();
    await expect(page.getByText('e2e: sent while the app was closed').first()).toBeVisible({ timeout: 15_000 });
    const ids = (await bridge(page, (h) => h.getHistory())).map((e) => e.id);
    expect(ids).toContain(missed.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id === missed.id)).toHaveLength(1);
  } finally {
    await app.close();
  }
});
