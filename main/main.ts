// The Electron main process's entry (package.json "main": dist/main/main.js). Single instance,
// starts to the tray with no window (but opens it on first start, or when no tray can be shown,
// so the app is never invisible), wakes the feed on resume and network changes, and connects
// the Electron layer (tray, notifications, window, IPC, utility process) to the core (herald-app.ts).

import { app, dialog, Menu, net, powerMonitor, safeStorage, session, shell } from 'electron';
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
import { HeraldStore, historyOptions, openStore, storeOptions, type HistoryData, type SecretBox, type StoreData } from './herald-store.ts';
import { HeraldTray } from './tray.ts';
import { HistoryWindow } from './windows.ts';
import { HeraldApp } from './herald-app.ts';
import { describeError } from '../events/errors.ts';

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
// set before the single-instance lock, which is per data directory. Otherwise the folder keeps the
// name it had before the product was named "Herald" (Electron names it after productName): on
// Linux ~/.config/herald, not a new, empty ~/.config/Herald.
app.setPath(
  'userData',
  process.env.HERALD_USER_DATA_DIR ? path.resolve(process.env.HERALD_USER_DATA_DIR) : path.join(app.getPath('appData'), 'herald'),
);

// Windows shows a toast only for an app with an AppUserModelID (the installer's shortcut has it too).
app.setAppUserModelId(APP_ID);

if (!app.requestSingleInstanceLock()) {
  // Another Herald is running: it opens its window (second-instance below); this one leaves.
  app.quit();
} else {
  void start().catch((err: unknown) => {
    log(`could not start: ${describeError(err, { stack: true })}`);
    // A tray app that dies at start shows nothing at all: say so where the user looks.
    dialog.showErrorBox(
      'Herald could not start',
      `${describeError(err)}\n\nStart Herald again; if this repeats, start it from a terminal (herald-desktop on Linux) to see the details, and report them.`,
    );
    app.exit(1);
  });
}

/** The token sealed by the OS keychain (Keychain, DPAPI, libsecret/KWallet) through safeStorage. */
const secrets: SecretBox = {
  storage: () => {
    if (!safeStorage.isEncryptionAvailable()) return 'plain';
    // Linux with no keyring: Electron falls back to a fixed key (obfuscation only).
    return process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text' ? 'weak' : 'os';
  },
  seal: (text) => safeStorage.encryptString(text).toString('base64'),
  open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
};

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
  const firstStart = !fs.existsSync(path.join(userData, 'config.json'));
  const io = { rename: fs.renameSync, exists: fs.existsSync };
  const notices: string[] = [];
  const history = openStore(
    () => new ElectronStore<HistoryData>({ ...historyOptions(), name: 'history' }),
    () => path.join(userData, 'history.json'),
    io,
  );
  if (history.movedAside)
    notices.push(`The history file could not be read; it was moved to ${history.movedAside} and Herald started with an empty history`);
  const config = openStore(
    () => new ElectronStore<StoreData>({ ...storeOptions({ history: history.store }), name: 'config' }),
    () => path.join(userData, 'config.json'),
    io,
  );
  if (config.movedAside)
    notices.push(
      `The settings file could not be read (${config.error}); it was moved to ${config.movedAside} and Herald started with default settings`,
    );
  for (const notice of notices) log(notice);
  const store = new HeraldStore({ config: config.store, history: history.store }, { log, secrets });

  const historyWindow = new HistoryWindow({
    page: files.page,
    preload: files.preload,
    icon: path.join(files.icons, 'herald.png'),
    devTools: !app.isPackaged,
  });
  const notifications = new NativeNotifications({ icon: path.join(files.icons, 'herald.png') });
  let tray: HeraldTray | null = null;
  /** No tray: none could be shown, or it was taken down for quitting. */
  let trayGone = false;

  const platform: Platform = {
    notify: (spec, onClick) => notifications.show(spec, onClick),
    notificationsSupported: () => notifications.supported(),
    setTray: (view) => {
      if (trayGone) return;
      try {
        tray ??= new HeraldTray(files.icons, core);
        tray.update(view);
      } catch (err) {
        // No tray (a desktop without a status area): the window is then the only way in.
        trayGone = true;
        log(`no tray icon could be shown (${describeError(err)}); opening the window instead`);
        historyWindow.show('history');
      }
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

  const core = new HeraldApp({ platform, store, webRoot: path.join(dist, 'renderer'), log, notices });
  registerIpc(ipcHandlers(core), historyWindow.pageUrl, log);

  // Sleep and network changes: the stream looks alive but is dead; reconnect at once.
  powerMonitor.on('resume', () => core.resume());
  powerMonitor.on('unlock-screen', () => core.resume());
  const network = new NetworkWatch({
    snapshot: () => ({ online: net.isOnline(), addresses: addressFingerprint() }),
    onChange: () => core.resume(),
  });

  app.on('second-instance', () => core.openHistory());
  // macOS: opened again from the Finder, the Dock or Spotlight while running.
  app.on('activate', () => core.openHistory());
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    // Quit again once the local server has closed its streams and its log (at most 3 s).
    event.preventDefault();
    network.stop();
    tray?.destroy();
    tray = null;
    trayGone = true;
    // Flushes the store at once (the coalesced history write happens now, synchronously).
    void core.shutdown().finally(() => app.quit());
  });
  // A system shutdown may skip before-quit; Linux and macOS say so first. (Windows tells only
  // windows, via session-end: a tray app there may lose the last <250 ms of history, as in a crash.)
  app.on('will-quit', () => store.flush());
  powerMonitor.on('shutdown', () => store.flush());

  core.start();
  network.start();
  // Keep the autostart entry pointing at where the app is now (an AppImage may have moved).
  if (store.settings.launchAtLogin) platform.setLaunchAtLogin(true);
  // First start: the window shows what Herald is (and a GNOME without an AppIndicator extension
  // shows no tray at all).
  if (firstStart || process.argv.includes('--show')) core.openHistory();
}
