// The desktop app's core: the feed client, the notification policy, the store and the local
// server supervisor, wired to the Electron API through the small Platform interface. No Electron
// import: tests drive it with a recording Platform double, a real server and the real FeedClient.
//
// One event's path: FeedClient → onEvent → history + unread (store) → renderer push → policy →
// notification (maybe later, as part of a summary) → FeedClient saves the cursor (on disk at
// once, with the unread count); the history file follows within ~250 ms (herald-store.ts).

import fs from 'node:fs';
import { applySettingsPatch, pauseUntilError, tomorrowMorning } from '../bridge/settings.ts';
import {
  PushChannel,
  TOKEN_KEPT,
  type AppStatus,
  type LocalServerState,
  type SaveSettingsResult,
  type Settings,
} from '../bridge/contract.ts';
import { GAP_TYPE, RESET_TYPE, isWebUrl, type HeraldEvent } from '../events/event.ts';
import { isLoopbackUrl } from '../events/net.ts';
import { FeedClient, type FeedClientOptions } from '../feed/client.ts';
import type { FeedState } from '../events/feed-state.ts';
import { NotificationPolicy, type NotificationPolicyOptions, type NotificationSpec } from './policy.ts';
import {
  LocalServerSupervisor,
  localServerAddress,
  type LocalServerOptions,
  type LocalServerSupervisorOptions,
} from './local-server-supervisor.ts';
import type { PauseChoice, Platform, TrayActions } from './platform.ts';
import type { HeraldStore } from './herald-store.ts';
import { TRAY_LATEST, trayView } from './tray-view.ts';
import { describeError } from '../events/errors.ts';

/** The part of FeedClient the core uses (tests may pass their own). */
export interface Feed {
  start(): void;
  stop(): void;
  resume(): void;
  readonly state: FeedState;
}

/** The part of NotificationPolicy the core uses. */
export interface Policy {
  handle(event: HeraldEvent): void;
  dispose(): void;
}

export interface HeraldAppOptions {
  platform: Platform;
  store: HeraldStore;
  /** Default: the real FeedClient. */
  createFeed?: (options: FeedClientOptions) => Feed;
  /** Default: the real NotificationPolicy. */
  createPolicy?: (options: NotificationPolicyOptions) => Policy;
  /** Extra FeedClient options (timeouts in tests). */
  feedOptions?: Partial<FeedClientOptions>;
  /** Extra policy options (burst window in tests). */
  policyOptions?: Partial<NotificationPolicyOptions>;
  /** Extra supervisor options (backoff in tests). */
  localServerOptions?: Partial<Omit<LocalServerSupervisorOptions, 'spawn' | 'onState'>>;
  /** The built window UI, served by the local server too. Default null (none). */
  webRoot?: string | null;
  /** Reads the CA file named in the settings. Default fs.readFileSync. */
  readFile?: (path: string) => Buffer;
  /** Problems found while starting (a settings file moved aside…), shown in the tray. Default none. */
  notices?: string[];
  now?: () => number;
  log?: (line: string) => void;
}

/** How long quitting waits for the local server to close its streams and its log. */
export const DEFAULT_SHUTDOWN_WAIT_MS = 3000;

/** Settings whose change needs a new feed client. */
const FEED_KEYS = ['serverUrl', 'token', 'topics', 'caFile'] as const;

export class HeraldApp implements TrayActions {
  readonly #options: HeraldAppOptions;
  readonly #platform: Platform;
  readonly #store: HeraldStore;
  readonly #now: () => number;
  readonly #policy: Policy;
  readonly #supervisor: LocalServerSupervisor;
  #feed: Feed | null = null;
  #feedState: FeedState;
  #localServer: LocalServerState = { status: 'off' };
  #localServerKey = '';
  #pauseTimer: NodeJS.Timeout | null = null;
  #started = false;
  /** A refresh is scheduled for the next setImmediate turn (events coalesce into it). */
  #refreshPending = false;
  readonly #notices: string[];

  constructor(options: HeraldAppOptions) {
    this.#options = options;
    this.#platform = options.platform;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#feedState = { status: 'stopped', since: this.#now() };
    this.#notices = [...(options.notices ?? [])];
    const createPolicy = options.createPolicy ?? ((o) => new NotificationPolicy(o));
    this.#policy = createPolicy({
      ...options.policyOptions,
      now: this.#now,
      // Read per event: the stored values, not a copy of all the settings.
      settings: () => ({ ...this.#store.notificationSettings(), paused: this.#store.paused(this.#now()) }),
      onNotify: (spec) => this.#platform.notify(spec, () => this.notificationClicked(spec)),
    });
    this.#supervisor = new LocalServerSupervisor({
      ...options.localServerOptions,
      now: this.#now,
      spawn: (events) => this.#platform.spawnServer(this.#localServerOptions(), events),
      onState: (state) => this.#localServerChanged(state),
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (!this.#platform.notificationsSupported()) {
      this.addNotice('This desktop cannot show notifications: events appear in the tray and the history window only');
    }
    const settings = this.#store.settings;
    if (settings.runLocalServer) this.#startLocalServer();
    this.#startFeed();
    this.#schedulePauseEnd();
    this.#refresh();
  }

  /** Stops everything; the store is flushed. Safe to call twice. */
  stop(): void {
    this.#started = false;
    this.#feed?.stop();
    this.#feed = null;
    this.#policy.dispose();
    this.#supervisor.stop();
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = null;
    // A pending event refresh is dropped: the app is quitting and the tray goes with it; start() refreshes anew.
    this.#refreshPending = false;
    this.#store.flush();
  }

  /**
   * Stops everything like stop(), and resolves once the local server process has closed its
   * streams and its log and exited, or after `waitMs` (quit must not hang on a stuck server).
   */
  async shutdown(waitMs = DEFAULT_SHUTDOWN_WAIT_MS): Promise<void> {
    const exited = this.#supervisor.exited();
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /** Tells the user about a problem through the tray (menu and tooltip), once. */
  addNotice(notice: string): void {
    if (this.#notices.includes(notice)) return;
    this.#notices.push(notice);
    this.#options.log?.(notice);
    this.#refresh();
  }

  /** Woken from sleep, or the network changed: reconnect now instead of after a timeout. */
  resume(): void {
    this.#feed?.resume();
  }

  // ---- feed ------------------------------------------------------------------------------

  #startFeed(): void {
    const old = this.#feed;
    this.#feed = null;
    old?.stop();
    const s = this.#store.settings;
    let ca: Buffer | undefined;
    if (s.caFile) {
      try {
        ca = (this.#options.readFile ?? fs.readFileSync)(s.caFile);
      } catch (err) {
        // Never fall back to ignoring certificate errors: say what to fix and stay offline.
        const code = (err as NodeJS.ErrnoException).code ?? describeError(err);
        this.#feedChanged({
          status: 'offline',
          since: this.#now(),
          reason: `cannot read the CA file ${s.caFile} (${code}): choose it again in the settings`,
        });
        return;
      }
    }
    const createFeed = this.#options.createFeed ?? ((o) => new FeedClient(o));
    const feed = createFeed({
      ...this.#options.feedOptions,
      url: s.serverUrl,
      ...(s.token ? { token: s.token } : {}),
      topics: s.topics,
      ...(ca ? { ca } : {}),
      cursor: this.#store.cursor(s.serverUrl),
      onEvent: (event) => this.#handleEvent(event),
      onState: (state) => {
        if (this.#feed === feed) this.#feedChanged(state);
      },
      ...(this.#options.log ? { log: this.#options.log } : {}),
    });
    this.#feed = feed;
    feed.start();
  }

  #feedChanged(state: FeedState): void {
    this.#feedState = state;
    this.#refresh();
  }

  #handleEvent(event: HeraldEvent): void {
    if (event.type === RESET_TYPE) {
      this.#store.recordEvent(event);
      this.#platform.sendToRenderer(PushChannel.HistoryCleared, null);
      this.#policy.handle(event);
      this.#refreshSoon();
      return;
    }
    if (!this.#store.recordEvent(event)) return; // already handled once: never shown twice
    if (event.type === GAP_TYPE && event.gap) this.#store.setGap({ ...event.gap, time: event.time });
    this.#platform.sendToRenderer(PushChannel.Event, event);
    this.#policy.handle(event);
    this.#refreshSoon();
  }

  // ---- local server ----------------------------------------------------------------------

  #localServerOptions(): LocalServerOptions {
    const s = this.#store.settings;
    // The token protects the local server only when the feed points at it (else it is another server's).
    const token = isLoopbackUrl(s.serverUrl) && s.token ? { token: s.token } : {};
    return { ...localServerAddress(s.serverUrl), ...token, webRoot: this.#options.webRoot ?? null };
  }

  #startLocalServer(): void {
    this.#localServerKey = JSON.stringify(this.#localServerOptions());
    this.#supervisor.start();
  }

  #localServerChanged(state: LocalServerState): void {
    const wasRunning = this.#localServer.status === 'running';
    this.#localServer = state;
    // The feed usually tried (and failed) before the server was up: try again now, not after backoff.
    if (state.status === 'running' && !wasRunning && this.#feedState.status !== 'open' && isLoopbackUrl(this.#store.settings.serverUrl))
      this.resume();
    this.#refresh();
  }

  // ---- status, tray, renderer ------------------------------------------------------------

  status(): AppStatus {
    return {
      host: 'desktop',
      feed: this.#feedState,
      paused: this.#store.paused(this.#now()),
      localServer: this.#localServer,
      unread: this.#store.unread,
      gap: this.#store.gap,
      tokenStorage: this.#store.tokenStorage,
    };
  }

  /**
   * Events refresh at most once per setImmediate turn: a replay of thousands of events would
   * otherwise rebuild the tray and push the status thousands of times. Commands refresh at once.
   */
  #refreshSoon(): void {
    if (this.#refreshPending) return;
    this.#refreshPending = true;
    setImmediate(() => {
      if (this.#refreshPending) this.#refresh();
    });
  }

  #refresh(): void {
    // Whatever was scheduled is covered by this one.
    this.#refreshPending = false;
    const status = this.status();
    this.#platform.setTray(
      trayView({
        feed: status.feed,
        serverUrl: this.#store.settings.serverUrl,
        paused: status.paused,
        // Entries, as the window counts them: a job that started and finished is one.
        unread: this.#store.unreadEntries,
        recent: this.#store.history(TRAY_LATEST),
        localServer: status.localServer,
        localServerWanted: this.#store.settings.runLocalServer,
        notices: this.#notices,
      }),
    );
    this.#platform.sendToRenderer(PushChannel.Status, status);
  }

  // ---- commands (IPC and tray) ------------------------------------------------------------

  /** The settings for the window: a stored token shows as TOKEN_KEPT, never in full. */
  getSettings(): Settings {
    const settings = this.#store.settings;
    return settings.token === '' ? settings : { ...settings, token: TOKEN_KEPT };
  }

  /** Validates and applies a settings patch from the window; restarts what the change affects. */
  saveSettings(patch: unknown): SaveSettingsResult {
    const before = this.#store.settings;
    const result = applySettingsPatch(before, patch, this.#now());
    if (!result.ok) return result;
    const after = result.settings;
    this.#store.settings = after;
    if (after.launchAtLogin !== before.launchAtLogin) this.#platform.setLaunchAtLogin(after.launchAtLogin);
    if (this.#started) {
      const localKey = JSON.stringify(this.#localServerOptions());
      if (!after.runLocalServer) this.#supervisor.stop();
      else if (!before.runLocalServer) this.#startLocalServer();
      else if (localKey !== this.#localServerKey) {
        this.#supervisor.stop();
        this.#startLocalServer();
      }
      if (FEED_KEYS.some((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]))) this.#startFeed();
    }
    this.#refresh();
    return result;
  }

  getHistory(): HeraldEvent[] {
    return this.#store.history();
  }

  clearHistory(): void {
    this.#store.clearHistory();
    this.#platform.sendToRenderer(PushChannel.HistoryCleared, null);
    this.#refresh();
  }

  /** Removes events from the app's history (the window's delete); the server keeps them. */
  deleteEvents(ids: readonly string[]): void {
    this.#store.deleteEvents(ids);
    this.#refresh();
  }

  markRead(upToId: string): void {
    this.#store.markRead(upToId);
    this.#refresh();
  }

  /** Pause until a time, until resumed (null), or resume (false). */
  setPaused(until: number | null | false): void {
    this.#store.setPaused(until === false ? null : { until });
    this.#schedulePauseEnd();
    this.#refresh();
  }

  #schedulePauseEnd(): void {
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = null;
    const p = this.#store.paused(this.#now());
    if (p?.until != null) {
      // setTimeout's limit is ~24.8 days; a longer pause is re-checked then.
      const ms = Math.min(p.until - this.#now(), 2 ** 31 - 1);
      this.#pauseTimer = setTimeout(() => {
        this.#schedulePauseEnd();
        this.#refresh();
      }, ms);
      this.#pauseTimer.unref();
    }
  }

  setLocalServer(on: boolean): void {
    this.saveSettings({ runLocalServer: on });
  }

  dismissGap(): void {
    this.#store.setGap(null);
    this.#refresh();
  }

  /**
   * Opens an http/https URL in the browser; anything else is refused. The browser gets the URL
   * as parsed (`new URL(u).href`: normalised, percent-encoded), never the raw string, so what is
   * opened is exactly what was checked.
   */
  async openUrl(url: string): Promise<void> {
    if (typeof url !== 'string' || !isWebUrl(url)) throw new Error('Only http:// and https:// addresses can be opened.');
    await this.#platform.openExternal(new URL(url).href);
  }

  /** A notification was clicked: its web address in the browser, or else the history window. */
  notificationClicked(spec: NotificationSpec): void {
    if (spec.url && isWebUrl(spec.url)) {
      this.openUrl(spec.url).catch((err) => this.#options.log?.(`could not open ${spec.url}: ${describeError(err)}`));
    } else {
      this.#platform.showWindow('history');
    }
  }

  // TrayActions
  openEvent(id: string): void {
    const event = this.#store.history().find((e) => e.id === id);
    if (event?.url && isWebUrl(event.url))
      this.notificationClicked({
        tag: `event:${id}`,
        title: event.title,
        body: '',
        urgency: 'normal',
        url: event.url,
        eventIds: [id],
        silent: true,
      });
    else this.#platform.showWindow('history');
  }

  openHistory(): void {
    this.#platform.showWindow('history');
  }

  openSettings(): void {
    this.#platform.showWindow('settings');
  }

  /** The tray's pause items: the time is taken now, at the click, and checked as IPC checks it. */
  pauseFor(choice: PauseChoice): void {
    const now = this.#now();
    const until = choice === 'hour' ? now + 3_600_000 : choice === 'tomorrow' ? tomorrowMorning(now) : null;
    const error = until === null ? undefined : pauseUntilError(until, now);
    if (error) {
      this.#options.log?.(`pause refused: ${error}`);
      return;
    }
    this.setPaused(until);
  }

  resumeNotifications(): void {
    this.setPaused(false);
  }

  quit(): void {
    this.#platform.quit();
  }
}
