// The tray icon: one image per state, a tooltip, and the menu built from the core's TrayView.

import { Menu, Tray, nativeImage, type NativeImage } from 'electron';
import path from 'node:path';
import type { TrayActions, TrayState, TrayView } from './platform.ts';
import { trayIconFile, trayMenu } from './tray-view.ts';

const STATES: TrayState[] = ['connected', 'reconnecting', 'offline', 'paused'];

export class HeraldTray {
  readonly #tray: Tray;
  readonly #icons: Record<TrayState, NativeImage>;
  readonly #actions: TrayActions;
  #state: TrayState | null = null;

  /** `iconDir` holds tray-<state>.png, tray-<state>Template.png and their @2x (build/make-icons.ts). */
  constructor(iconDir: string, actions: TrayActions) {
    this.#actions = actions;
    this.#icons = Object.fromEntries(
      STATES.map((s) => [s, nativeImage.createFromPath(path.join(iconDir, trayIconFile(s, process.platform)))]),
    ) as Record<TrayState, NativeImage>;
    this.#tray = new Tray(this.#icons.reconnecting);
    // Windows and Linux: a left click opens the history; macOS always shows the menu.
    if (process.platform !== 'darwin') this.#tray.on('click', () => actions.openHistory());
  }

  update(view: TrayView): void {
    if (view.state !== this.#state) {
      this.#state = view.state;
      this.#tray.setImage(this.#icons[view.state]);
    }
    this.#tray.setToolTip(view.tooltip);
    this.#tray.setContextMenu(Menu.buildFromTemplate(trayMenu(view, this.#actions, process.platform)));
  }

  destroy(): void {
    this.#tray.destroy();
  }
}
