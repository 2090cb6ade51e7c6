// The one contract between Herald's window (renderer/) and the host it runs in: the desktop app's
// main process (over IPC, through the preload) or the companion server's web app (in the browser).
// Main, preload and renderer import the channel names and payload types from here; nobody types a
// channel name as a bare string. Pure: no Node, no DOM, no Electron.

import type { GapInfo, HeraldEvent } from '../events/event.ts';
import type { FeedState } from '../events/feed-state.ts';

export interface DoNotDisturb {
  /** Do-not-disturb is on. */
  enabled: boolean;
  /** When it ends by itself (epoch ms); null means "until turned off". */
  until: number | null;
  /** Urgent (priority 5) events still show while it is on. */
  allowUrgent: boolean;
}

export interface Settings {
  /** The companion server, e.g. http://127.0.0.1:5080 */
  serverUrl: string;
  /** Bearer token for a server started with --token; empty for none. */
  token: string;
  /** Topics to subscribe to; empty means all. */
  topics: string[];
  /** A PEM file with the CA that signed a private server's certificate (desktop and listen only). */
  caFile: string;
  doNotDisturb: DoNotDisturb;
  /** Events on these topics are kept in history but never notify. */
  mutedTopics: string[];
  /** Start Herald when the user logs in (desktop only). */
  launchAtLogin: boolean;
  /** Run the companion server inside the app (desktop only). */
  runLocalServer: boolean;
}

export type SettingsPatch = Partial<Settings>;

export type SettingsErrors = Partial<Record<keyof Settings | `doNotDisturb.${keyof DoNotDisturb}`, string>>;

export type SaveSettingsResult = { ok: true; settings: Settings } | { ok: false; errors: SettingsErrors };

export type LocalServerState =
  | { status: 'off' }
  | { status: 'starting' }
  | { status: 'running'; url: string }
  /** Crashed; restarted with backoff at nextAttemptAt. */
  | { status: 'crashed'; error: string; nextAttemptAt?: number }
  | { status: 'unavailable'; reason: string };

/**
 * How the desktop app keeps the server token on disk: `os`, encrypted by the system's keychain
 * (Keychain, DPAPI, libsecret or KWallet); `weak`, Linux with no keyring, where Electron's
 * basic_text fallback only obfuscates it; `plain`, no encryption available at all.
 */
export type TokenStorage = 'os' | 'weak' | 'plain';

/** What the desktop app's getSettings shows for a stored token (it never leaves the main
 * process); a patch that sends it back leaves the token as it is. */
export const TOKEN_KEPT = '\u2022'.repeat(8);

export interface AppStatus {
  /** Which host the window runs in: features marked "desktop only" are hidden on the web. */
  host: 'desktop' | 'web';
  feed: FeedState;
  /** Notifications paused from the tray (or the window); null when not paused. */
  paused: { until: number | null } | null;
  localServer: LocalServerState;
  /** Events not yet seen in the window. */
  unread: number;
  /** The last gap the server reported (events lost before the client came back), until dismissed. */
  gap: (GapInfo & { time: string }) | null;
  /** Desktop only: how the token is kept on disk (the settings view warns unless `os`). */
  tokenStorage?: TokenStorage;
}

/**
 * What the window may ask of its host. Each method is one invoke channel below. Every answer is
 * plain data (structured-clone safe).
 */
export interface HeraldBridge {
  readonly host: 'desktop' | 'web';
  getSettings(): Promise<Settings>;
  saveSettings(patch: SettingsPatch): Promise<SaveSettingsResult>;
  /** Recent events, oldest first, as the host keeps them (bounded). */
  getHistory(): Promise<HeraldEvent[]>;
  clearHistory(): Promise<void>;
  /** Removes these events from this history: the host's copy only, never the server's log. Unknown ids are ignored. */
  deleteEvents(ids: string[]): Promise<void>;
  /** The window has shown everything up to this id: unread goes to zero for those. */
  markRead(upToId: string): Promise<void>;
  getStatus(): Promise<AppStatus>;
  /** Pause notifications until a time (epoch ms), until resumed (null), or resume (false). */
  setPaused(until: number | null | false): Promise<void>;
  /** Turn the built-in companion server on or off (desktop only). */
  setLocalServer(on: boolean): Promise<void>;
  /** Open an http/https URL in the user's browser. Anything else is refused by the host. */
  openUrl(url: string): Promise<void>;
  dismissGap(): Promise<void>;
  /** Each event as it arrives, after the host has stored it. Returns an unsubscribe function. */
  onEvent(listener: (event: HeraldEvent) => void): () => void;
  onStatus(listener: (status: AppStatus) => void): () => void;
  onHistoryCleared(listener: () => void): () => void;
}

/** Renderer → main requests (ipcRenderer.invoke / ipcMain.handle). */
export const InvokeChannel = {
  GetSettings: 'herald:settings:get',
  SaveSettings: 'herald:settings:save',
  GetHistory: 'herald:history:get',
  ClearHistory: 'herald:history:clear',
  DeleteEvents: 'herald:history:delete',
  MarkRead: 'herald:history:mark-read',
  GetStatus: 'herald:status:get',
  SetPaused: 'herald:pause:set',
  SetLocalServer: 'herald:local-server:set',
  OpenUrl: 'herald:url:open',
  DismissGap: 'herald:gap:dismiss',
} as const;
export type InvokeChannel = (typeof InvokeChannel)[keyof typeof InvokeChannel];

/** Arguments and result of each invoke channel. */
export interface InvokeContract {
  [InvokeChannel.GetSettings]: { args: []; result: Settings };
  [InvokeChannel.SaveSettings]: { args: [patch: SettingsPatch]; result: SaveSettingsResult };
  [InvokeChannel.GetHistory]: { args: []; result: HeraldEvent[] };
  [InvokeChannel.ClearHistory]: { args: []; result: void };
  [InvokeChannel.DeleteEvents]: { args: [ids: string[]]; result: void };
  [InvokeChannel.MarkRead]: { args: [upToId: string]; result: void };
  [InvokeChannel.GetStatus]: { args: []; result: AppStatus };
  [InvokeChannel.SetPaused]: { args: [until: number | null | false]; result: void };
  [InvokeChannel.SetLocalServer]: { args: [on: boolean]; result: void };
  [InvokeChannel.OpenUrl]: { args: [url: string]; result: void };
  [InvokeChannel.DismissGap]: { args: []; result: void };
}

/** Main → renderer messages (webContents.send / ipcRenderer.on). */
export const PushChannel = {
  Event: 'herald:push:event',
  Status: 'herald:push:status',
  HistoryCleared: 'herald:push:history-cleared',
} as const;
export type PushChannel = (typeof PushChannel)[keyof typeof PushChannel];

export interface PushContract {
  [PushChannel.Event]: HeraldEvent;
  [PushChannel.Status]: AppStatus;
  [PushChannel.HistoryCleared]: null;
}

/** The name the preload exposes the bridge under: `window.herald`. */
export const BRIDGE_GLOBAL = 'herald';
