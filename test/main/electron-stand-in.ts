// A recording stand-in for the `electron` module, for running the packed main process under plain
// Node (test/main/packed-app.test.ts; registered by electron-stand-in-hooks.ts). It implements
// just what Herald's shell files call, records every call to the test over the fork IPC channel,
// and lets the test act as the user and the OS: click a notification or a tray item, invoke an
// IPC channel from any frame, ask the session about a request, quit.
//   STANDIN_NO_NOTIFICATIONS=1  Notification.isSupported() is false
//   STANDIN_NO_TRAY=1           new Tray() throws (a desktop without a status area)
//   STANDIN_KEYRING=basic_text  safeStorage's Linux backend (default gnome_libsecret)
//   STANDIN_APP_DATA=DIR        app.getPath('appData'); userData defaults to DIR/Herald, as Electron
//                               names it after productName

import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function record(kind: string, data: unknown = null): void {
  process.send?.({ type: 'record', kind, data: JSON.parse(JSON.stringify(data ?? null)) as Json });
}

// ---- app -----------------------------------------------------------------------------------

class App extends EventEmitter {
  // STANDIN_APP_DATA: the per-user application data folder (~/.config on Linux).
  #paths: Record<string, string> = {
    appData: process.env.STANDIN_APP_DATA ?? path.join(os.tmpdir(), 'herald-standin-appdata'),
    userData: path.join(process.env.STANDIN_APP_DATA ?? path.join(os.tmpdir(), 'herald-standin-appdata'), 'Herald'),
    home: os.homedir(),
  };
  #ready = false;
  readonly isPackaged = true;
  readonly dock = { hide: () => record('dock-hide') };

  constructor() {
    super();
    setImmediate(() => {
      this.#ready = true;
      this.emit('ready');
    });
  }
  setPath(name: string, value: string): void {
    this.#paths[name] = value;
  }
  getPath(name: string): string {
    return this.#paths[name] ?? os.tmpdir();
  }
  getAppPath(): string {
    return process.cwd();
  }
  getName(): string {
    return 'Herald';
  }
  getVersion(): string {
    return '0.0.0-standin';
  }
  setAppUserModelId(id: string): void {
    record('app-user-model-id', id);
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  isReady(): boolean {
    return this.#ready;
  }
  whenReady(): Promise<void> {
    return this.#ready ? Promise.resolve() : new Promise((resolve) => this.once('ready', () => resolve()));
  }
  setLoginItemSettings(settings: unknown): void {
    record('login-item', settings);
  }
  /** As Electron: before-quit (cancellable), will-quit (cancellable), quit, then the process ends. */
  quit(): void {
    const before = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    record('before-quit');
    this.emit('before-quit', before);
    if (before.defaultPrevented) return record('quit-deferred');
    const will = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    this.emit('will-quit', will);
    if (will.defaultPrevented) return;
    this.emit('quit', {}, 0);
    record('quit');
    setImmediate(() => process.exit(0));
  }
  exit(code = 0): void {
    record('exit', code);
    setImmediate(() => process.exit(code));
  }
}
export const app = new App();

// ---- menus, tray, images -------------------------------------------------------------------

interface Template {
  label?: string;
  type?: string;
  enabled?: boolean;
  checked?: boolean;
  click?: (item: { checked: boolean }) => void;
  submenu?: Template[];
}
let lastTrayMenu: Template[] = [];
const labels = (items: Template[]): string[] =>
  items.flatMap((i) => [i.label ?? `(${i.type ?? ''})`, ...(i.submenu ? labels(i.submenu).map((l) => `  ${l}`) : [])]);

export const Menu = {
  setApplicationMenu: (menu: unknown) => record('application-menu', menu === null ? null : 'menu'),
  buildFromTemplate: (template: Template[]) => ({ template }),
};

export const nativeImage = {
  createFromPath: (file: string) => {
    const exists = fs.existsSync(file);
    record('image', { file: path.basename(file), exists });
    return { file, isEmpty: () => !exists, setTemplateImage: () => undefined };
  },
};

export class Tray extends EventEmitter {
  constructor(image: { file: string }) {
    super();
    if (process.env.STANDIN_NO_TRAY) throw new Error('no status notifier host on this desktop');
    record('tray', path.basename(image.file));
  }
  setImage(image: { file: string }): void {
    record('tray-image', path.basename(image.file));
  }
  setToolTip(text: string): void {
    record('tray-tooltip', text);
  }
  setContextMenu(menu: { template: Template[] }): void {
    lastTrayMenu = menu.template;
    record('tray-menu', labels(menu.template));
  }
  destroy(): void {
    record('tray-destroy');
  }
}

// ---- notifications -------------------------------------------------------------------------

const notifications: Notification[] = [];
export class Notification extends EventEmitter {
  static isSupported(): boolean {
    return !process.env.STANDIN_NO_NOTIFICATIONS;
  }
  readonly index: number;
  #options: Record<string, unknown>;
  constructor(options: Record<string, unknown>) {
    super();
    this.#options = { ...options };
    this.index = notifications.push(this) - 1;
  }
  get title(): string {
    return String(this.#options.title ?? '');
  }
  set title(value: string) {
    this.#options.title = value;
    record('notification-update', { index: this.index, title: value });
  }
  get body(): string {
    return String(this.#options.body ?? '');
  }
  set body(value: string) {
    this.#options.body = value;
    record('notification-update', { index: this.index, body: value });
  }
  show(): void {
    record('notification', { index: this.index, ...this.#options });
  }
  close(): void {
    record('notification-close', { index: this.index });
    this.emit('close');
  }
}

// ---- shell, dialog, net, power, safeStorage ------------------------------------------------

export const shell = {
  openExternal: async (url: string) => record('open-external', url),
};
export const dialog = {
  showErrorBox: (title: string, content: string) => record('dialog', { title, content }),
};
export const net = { isOnline: () => true };
export const powerMonitor = new EventEmitter();

/** Reversible, so the test can check what was sealed; never the plain text on disk. */
export const safeStorage = {
  isEncryptionAvailable: () => true,
  getSelectedStorageBackend: () => process.env.STANDIN_KEYRING ?? 'gnome_libsecret',
  encryptString: (text: string) => Buffer.from(`standin-sealed:${Buffer.from(text).toString('hex')}`),
  decryptString: (sealed: Buffer) => {
    const text = sealed.toString();
    if (!text.startsWith('standin-sealed:'))
      throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    return Buffer.from(text.slice('standin-sealed:'.length), 'hex').toString();
  },
};

// ---- session -------------------------------------------------------------------------------

type Handler = (...args: never[]) => void;
const sessionHandlers: Record<string, Handler> = {};
export const session = {
  defaultSession: {
    setPermissionRequestHandler: (h: Handler) => (sessionHandlers.permissionRequest = h),
    setPermissionCheckHandler: (h: Handler) => (sessionHandlers.permissionCheck = h),
    webRequest: {
      onBeforeRequest: (h: Handler) => (sessionHandlers.beforeRequest = h),
      onHeadersReceived: (h: Handler) => (sessionHandlers.headersReceived = h),
    },
  },
};

// ---- windows -------------------------------------------------------------------------------

class WebContents extends EventEmitter {
  url = '';
  windowOpenHandler: ((details: unknown) => { action: string }) | null = null;
  setWindowOpenHandler(handler: (details: unknown) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.url;
  }
  send(channel: string): void {
    record('window-send', channel);
  }
}

export class BrowserWindow extends EventEmitter {
  static #all: BrowserWindow[] = [];
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.#all;
  }
  readonly webContents = new WebContents();
  #destroyed = false;
  constructor(options: Record<string, unknown>) {
    super();
    BrowserWindow.#all.push(this);
    record('window', options);
    app.emit('web-contents-created', {}, this.webContents);
  }
  async loadFile(file: string, options: { hash?: string } = {}): Promise<void> {
    this.webContents.url = `file://${file}${options.hash ? `#${options.hash}` : ''}`;
    record('window-load', { file: path.relative(process.cwd(), file), hash: options.hash ?? null, exists: fs.existsSync(file) });
    setImmediate(() => this.emit('ready-to-show'));
  }
  show(): void {
    record('window-show');
  }
  focus(): void {}
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  isDestroyed(): boolean {
    return this.#destroyed;
  }
  destroy(): void {
    this.#destroyed = true;
    this.emit('closed');
  }
}

// ---- IPC -----------------------------------------------------------------------------------

const ipcHandlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
export const ipcMain = {
  handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => unknown) => {
    ipcHandlers.set(channel, handler);
    record('ipc-handle', channel);
  },
  removeHandler: (channel: string) => ipcHandlers.delete(channel),
  on: () => undefined,
};

// ---- utility process: child_process.fork underneath ----------------------------------------

class UtilityProcess extends EventEmitter {
  readonly #child: ChildProcess;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  constructor(entry: string, args: string[]) {
    super();
    this.#child = fork(entry, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    this.stdout = this.#child.stdout;
    this.stderr = this.#child.stderr;
    this.#child.on('spawn', () => {
      record('utility-spawn', { entry: path.relative(process.cwd(), entry), pid: this.#child.pid! });
      this.emit('spawn');
    });
    this.#child.on('message', (m) => this.emit('message', m));
    this.#child.on('exit', (code, signal) => {
      record('utility-exit', { pid: this.#child.pid!, code, signal });
      this.emit('exit', code ?? 1);
    });
  }
  get pid(): number | undefined {
    return this.#child.pid;
  }
  postMessage(message: unknown): void {
    if (this.#child.connected) this.#child.send(message as object);
  }
  kill(): boolean {
    record('utility-kill', { pid: this.#child.pid! });
    return this.#child.kill('SIGKILL');
  }
}
export const utilityProcess = {
  fork: (entry: string, args: string[] = []) => new UtilityProcess(entry, args),
};

export const contextBridge = { exposeInMainWorld: () => undefined };
export const ipcRenderer = { invoke: () => undefined, on: () => undefined, removeListener: () => undefined };

export default {
  app,
  BrowserWindow,
  contextBridge,
  dialog,
  ipcMain,
  ipcRenderer,
  Menu,
  nativeImage,
  net,
  Notification,
  powerMonitor,
  safeStorage,
  session,
  shell,
  Tray,
  utilityProcess,
};

// ---- the test's commands -------------------------------------------------------------------

interface Command {
  id: number;
  cmd: string;
  [key: string]: unknown;
}

function find(items: Template[], label: string): Template | undefined {
  for (const item of items) {
    if (item.label === label) return item;
    const inner = item.submenu ? find(item.submenu, label) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

async function run(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'click-notification':
      notifications[command.index as number]!.emit('click');
      return null;
    case 'click-tray':
      find(lastTrayMenu, command.label as string)!.click!({ checked: Boolean(command.checked) });
      return null;
    case 'channels':
      return [...ipcHandlers.keys()];
    case 'invoke': {
      // The event as Electron builds it: the frame that sent the message, and its parent.
      const frame = command.senderUrl === null ? null : { url: command.senderUrl, parent: command.subframe ? {} : null };
      const handler = ipcHandlers.get(command.channel as string);
      if (!handler) throw new Error(`No handler registered for '${String(command.channel)}'`);
      return await handler({ senderFrame: frame }, ...((command.args as unknown[]) ?? []));
    }
    case 'request': {
      const decision = await new Promise((resolve) =>
        (sessionHandlers.beforeRequest as unknown as (d: unknown, cb: (r: unknown) => void) => void)({ url: command.url }, resolve),
      );
      return decision;
    }
    case 'headers': {
      const result = await new Promise((resolve) =>
        (sessionHandlers.headersReceived as unknown as (d: unknown, cb: (r: unknown) => void) => void)(
          { url: command.url, responseHeaders: {} },
          resolve,
        ),
      );
      return result;
    }
    case 'emit-app':
      app.emit(command.event as string, {}, ...((command.args as unknown[]) ?? []));
      return null;
    case 'quit':
      app.quit();
      return null;
    default:
      throw new Error(`unknown command ${command.cmd}`);
  }
}

process.on('message', (message: Command) => {
  if (!message || typeof message.cmd !== 'string') return;
  run(message).then(
    (value) => process.send?.({ type: 'reply', id: message.id, ok: true, value: (value ?? null) as Json }),
    (err: Error) => process.send?.({ type: 'reply', id: message.id, ok: false, error: err.message }),
  );
});
