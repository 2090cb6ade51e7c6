// The Electron main process's entry (package.json "main": dist/main/app.js). Single instance,
// starts to the tray with no window, wakes the feed on resume and network changes, and connects
// the Electron layer (tray, notifications, window, IPC, utility process) to the core (wiring.ts).

import { app, Menu, net, powerMonitor, session, shell } from 'electron';
import ElectronStore from 'electron-store';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipcHandlers } from './ipc-handlers.ts';
import { registerIpc } from './ipc.ts';
import { spawnServerProcess } from './local-server.ts';
import { setLaunchAtLogin } from './login-item.ts';
import { addressFingerprint, NetworkWatch } from './network-watch.ts';
import { NativeNotifications } from './notifications.ts';
import type { Platform } from './platform.ts';
import { guardWebContents, secureSession } from './security.ts';
import { HeraldStore, historyOptions, openStore, storeOptions, type HistoryData, type StoreData } from './store-schema.ts';
import { HeraldTray } from './tray.ts';
import { HistoryWindow } from './windows.ts';
import { HeraldApp } from './wiring.ts';

const APP_ID = 'dev.herald.app';
// dist/main → dist: everything the app loads at run time is under dist/ (packed into the asar).
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = {
  page: path.join(dist, 'renderer', 'index.html'),
  preload: path.join(dist, 'preload', 'preload.cjs'),
  icons: path.join(dist, 'icons'),
  serverEntry: path.join(dist, 'main', 'local-server-process.js'),
};

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} herald: ${line}\n`);

// Tests and side-by-side profiles: a separate data directory (settings, cursor, history). Must be
// set before the single-instance lock, which is per data directory.
if (process.env.HERALD_USER_DATA_DIR) app.setPath('userData', path.resolve(process.env.HERALD_USER_DATA_DIR));

// Windows shows a toast only for an app with an AppUserModelID (the installer's shortcut has it too).
app.setAppUserModelId(APP_ID);

if (!app.requestSingleInstanceLock()) {
  // Another Herald is running: it opens its window (second-instance below); this one leaves.
  app.quit();
} else {
  void start().catch((err: unknown) => {
    log(`could not start: ${(err as Error).stack ?? String(err)}`);
    app.exit(1);
  });
}

async function start(): Promise<void> {
  // A tray app: closing the last window must not quit (the default would).
  app.on('window-all-closed', () => undefined);
  guardWebContents();
  await app.whenReady();
  if (process.platform === 'darwin') app.dock?.hide();
  else Menu.setApplicationMenu(null);
  secureSession(session.defaultSession);

  // Two files: config (settings, cursors; small, written per event) and history (recent events,
  // written coalesced). History first: opening config may migrate an old file's events into it.
  const userData = app.getPath('userData');
  const io = { rename: fs.renameSync, exists: fs.existsSync };
  const history = openStore(() => new ElectronStore<HistoryData>({ ...historyOptions(), name: 'history' }), () => path.join(userData, 'history.json'), io);
  if (history.movedAside) log(`the history file could not be read (${history.error}); it was moved to ${history.movedAside} and Herald started with an empty history`);
  const config = openStore(() => new ElectronStore<StoreData>({ ...storeOptions({ history: history.store }), name: 'config' }), () => path.join(userData, 'config.json'), io);
  if (config.movedAside) log(`the settings file could not be read (${config.error}); it was moved to ${config.movedAside} and Herald started with defaults`);
  const store = new HeraldStore({ config: config.store, history: history.store }, { log });

  const historyWindow = new HistoryWindow({
    page: files.page,
    preload: files.preload,
    icon: path.join(files.icons, 'herald.png'),
    devTools: !app.isPackaged,
  });
  const notifications = new NativeNotifications({ icon: path.join(files.icons, 'herald.png') });
  let tray: HeraldTray | null = null;

  const platform: Platform = {
    notify: (spec, onClick) => notifications.show(spec, onClick),
    setTray: (view) => {
      tray ??= new HeraldTray(files.icons, core);
      tray.update(view);
    },
    sendToRenderer: (channel, payload) => historyWindow.send(channel, payload),
    openExternal: (url) => shell.openExternal(url),
    showWindow: (section) => historyWindow.show(section),
    setLaunchAtLogin: (on) => {
      const where = setLaunchAtLogin(on, {
        platform: process.platform,
        // An AppImage moves with the user; APPIMAGE is its path. `electron .` in development needs the app path.
        exec: process.env.APPIMAGE ?? process.execPath,
        args: app.isPackaged ? [] : [app.getAppPath()],
        configHome: process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'),
        setLoginItemSettings: (s) => app.setLoginItemSettings(s),
      });
      log(`launch at login ${on ? 'on' : 'off'} (${where})`);
    },
    spawnServer: (options, events) => spawnServerProcess(files.serverEntry, options, events, log),
    quit: () => app.quit(),
  };

  const core = new HeraldApp({ platform, store, webRoot: path.join(dist, 'renderer'), log });
  registerIpc(ipcHandlers(core), historyWindow.pageUrl, log);

  // Sleep and network changes: the stream looks alive but is dead; reconnect at once.
  powerMonitor.on('resume', () => core.resume());
  powerMonitor.on('unlock-screen', () => core.resume());
  const network = new NetworkWatch({ snapshot: () => ({ online: net.isOnline(), addresses: addressFingerprint() }), onChange: () => core.resume() });

  app.on('second-instance', () => core.openHistory());
  let quitting = false;
  app.on('before-quit', () => {
    if (quitting) return;
    quitting = true;
    network.stop();
    core.stop(); // flushes the store: the coalesced history write happens now, synchronously
    tray?.destroy();
  });
  // A system shutdown may skip before-quit; Linux and macOS say so first. (Windows tells only
  // windows, via session-end: a tray app there may lose the last <250 ms of history, as in a crash.)
  app.on('will-quit', () => store.flush());
  powerMonitor.on('shutdown', () => store.flush());

  core.start();
  network.start();
  // Keep the autostart entry pointing at where the app is now (an AppImage may have moved).
  if (store.settings.launchAtLogin) platform.setLaunchAtLogin(true);
  if (process.argv.includes('--show')) core.openHistory();
}
