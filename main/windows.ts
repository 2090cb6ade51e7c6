// The history window: created when the user asks for it (tray, notification click, second
// launch), destroyed when closed. It loads the built renderer from disk, sandboxed, with the
// preload as its only way to the app.

import { BrowserWindow } from 'electron';
import { pathToFileURL } from 'node:url';
import type { PushChannel, PushContract } from '../bridge/contract.ts';

export type WindowSection = 'history' | 'settings';

export interface HistoryWindowOptions {
  /** dist/renderer/index.html */
  page: string;
  /** dist/preload/preload.cjs */
  preload: string;
  icon?: string;
  /** Allow devtools (development builds only). */
  devTools: boolean;
}

export class HistoryWindow {
  readonly #options: HistoryWindowOptions;
  #window: BrowserWindow | null = null;

  constructor(options: HistoryWindowOptions) {
    this.#options = options;
  }

  /** The page's URL, as IPC senders must present it (ipc.ts). */
  get pageUrl(): string {
    return pathToFileURL(this.#options.page).href;
  }

  show(section: WindowSection = 'history'): void {
    const open = this.#window;
    if (open && !open.isDestroyed()) {
      // The page keeps its fragment in step with the view the user chose, so ask it, not our memory.
      if (!open.webContents.getURL().endsWith(`#${section}`)) {
        // Only the fragment changes: the page switches view without reloading.
        void open.loadFile(this.#options.page, { hash: section });
      }
      if (open.isMinimized()) open.restore();
      open.show();
      open.focus();
      return;
    }
    const window = new BrowserWindow({
      width: 960,
      height: 680,
      minWidth: 420,
      minHeight: 360,
      show: false,
      title: 'Herald',
      autoHideMenuBar: true,
      ...(this.#options.icon ? { icon: this.#options.icon } : {}),
      webPreferences: {
        preload: this.#options.preload,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        experimentalFeatures: false,
        navigateOnDragDrop: false,
        spellcheck: false,
        // A middle click on a link would open a new window; those are denied anyway, this stops the attempt.
        disableBlinkFeatures: 'Auxclick',
        devTools: this.#options.devTools,
      },
    });
    window.webContents.on('will-navigate', (event) => event.preventDefault());
    window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
    window.once('ready-to-show', () => window.show());
    window.on('closed', () => {
      if (this.#window === window) this.#window = null;
    });
    this.#window = window;
    void window.loadFile(this.#options.page, { hash: section });
  }

  send<C extends PushChannel>(channel: C, payload: PushContract[C]): void {
    const window = this.#window;
    if (window && !window.isDestroyed()) window.webContents.send(channel, payload);
  }

  destroy(): void {
    this.#window?.destroy();
    this.#window = null;
  }
}
