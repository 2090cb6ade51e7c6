// Exactly what the app's core (herald-app.ts) needs of Electron, as one small interface. The Electron
// layer (main.ts with tray.ts, notifications.ts, windows.ts, local-server.ts) implements it; tests
// implement it with a recording double. No Electron import here.

import type { PushChannel, PushContract } from '../bridge/contract.ts';
import type { NotificationSpec } from './policy.ts';
import type { LocalServerOptions, ServerProcess, ServerProcessEvents } from './local-server-supervisor.ts';

/** The tray icon shown: one per state. */
export type TrayState = 'connected' | 'reconnecting' | 'offline' | 'paused';

/** Everything the tray shows, computed by the core (tray-view.ts); the tray only draws it. */
export interface TrayView {
  state: TrayState;
  tooltip: string;
  /** One line on the feed ("Connected to 127.0.0.1:5080", "Offline: connection refused"). */
  status: string;
  unread: number;
  /** The latest events, newest first. */
  latest: { id: string; label: string }[];
  paused: { until: number | null } | null;
  /** "Paused until 14:30", "Paused until resumed"; empty when not paused. */
  pausedLabel: string;
  localServer: { on: boolean; label: string };
  /** Problems the user must hear about (notifications unsupported, settings file moved aside),
   * shown first in the menu and in the tooltip. */
  notices: string[];
}

/** The tray's pause choices; the time is computed when the item is clicked. */
export type PauseChoice = 'hour' | 'tomorrow' | 'resumed';

/** What the tray menu can ask of the core. */
export interface TrayActions {
  openEvent(id: string): void;
  openHistory(): void;
  openSettings(): void;
  /** Pause for an hour, until tomorrow 08:00 or until resumed, from the moment of the click. */
  pauseFor(choice: PauseChoice): void;
  resumeNotifications(): void;
  setLocalServer(on: boolean): void;
  quit(): void;
}

export interface Platform {
  /** A native notification. One with the same tag replaces the earlier one. `onClick` runs when it is clicked. */
  notify(spec: NotificationSpec, onClick: () => void): void;
  /** False where the desktop cannot show notifications at all (the tray then says so). */
  notificationsSupported(): boolean;
  setTray(view: TrayView): void;
  /** To the history window, if one is open (dropped otherwise: the window loads state when it opens). */
  sendToRenderer<C extends PushChannel>(channel: C, payload: PushContract[C]): void;
  /** Opens an http/https URL in the user's browser (the core has checked it). */
  openExternal(url: string): Promise<void>;
  /** Creates or focuses the history window. */
  showWindow(section?: 'history' | 'settings'): void;
  setLaunchAtLogin(on: boolean): void;
  /** Starts one companion server process (utilityProcess in the app). */
  spawnServer(options: LocalServerOptions, events: ServerProcessEvents): ServerProcess;
  quit(): void;
}
