// What the tray shows for a given state of the app: icon, tooltip, menu labels. Pure.

import type { LocalServerState } from '../bridge/contract.ts';
import { clip, type HeraldEvent } from '../events/event.ts';
import type { FeedState } from '../events/feed-state.ts';
import type { MenuItemConstructorOptions } from 'electron';
import type { TrayActions, TrayState, TrayView } from './platform.ts';

const NOTICE_MARK = '⚠ ';

export const TRAY_LATEST = 5;

/**
 * The tray icon's file for a state (Electron finds the @2x beside it). macOS gets the black
 * template image, which the menu bar tints for light and dark mode (a name ending in `Template`
 * makes it one); the states differ there by shape, not colour.
 */
export function trayIconFile(state: TrayState, platform: NodeJS.Platform): string {
  return platform === 'darwin' ? `tray-${state}Template.png` : `tray-${state}.png`;
}
const LABEL_LENGTH = 60;

export function trayState(feed: FeedState, paused: { until: number | null } | null): TrayState {
  if (paused) return 'paused';
  switch (feed.status) {
    case 'open':
      return 'connected';
    case 'connecting':
    case 'reconnecting':
      return 'reconnecting';
    default:
      return 'offline';
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function clock(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function feedLine(feed: FeedState, serverUrl: string): string {
  const host = hostOf(serverUrl);
  switch (feed.status) {
    case 'open':
      return `Connected to ${host}`;
    case 'connecting':
      return `Connecting to ${host}…`;
    case 'reconnecting':
      return `Reconnecting to ${host}${feed.nextAttemptAt ? ` at ${clock(feed.nextAttemptAt)}` : '…'}${feed.reason ? ` (${feed.reason})` : ''}`;
    case 'offline':
      return `Offline: ${feed.reason ?? `cannot reach ${host}`}`;
    case 'auth-failed':
      return `${host} refused the token: check it in the settings`;
    case 'stopped':
      return feed.reason ? `Stopped: ${feed.reason}` : 'Stopped';
  }
}

export function pausedLabel(paused: { until: number | null } | null): string {
  if (!paused) return '';
  return paused.until === null ? 'Paused until resumed' : `Paused until ${clock(paused.until)}`;
}

function localServerLabel(state: LocalServerState): string {
  switch (state.status) {
    case 'off':
      return 'Local server: off';
    case 'starting':
      return 'Local server: starting…';
    case 'running':
      return `Local server: on (${hostOf(state.url)})`;
    case 'crashed':
      return `Local server: restarting${state.nextAttemptAt ? ` at ${clock(state.nextAttemptAt)}` : ''} (${state.error})`;
    case 'unavailable':
      return `Local server: unavailable (${state.reason})`;
  }
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return clip(line, LABEL_LENGTH);
}

export function trayView(input: {
  feed: FeedState;
  serverUrl: string;
  paused: { until: number | null } | null;
  unread: number;
  recent: readonly HeraldEvent[];
  localServer: LocalServerState;
  localServerWanted: boolean;
  notices?: readonly string[];
}): TrayView {
  const status = feedLine(input.feed, input.serverUrl);
  const paused = pausedLabel(input.paused);
  const unread = input.unread > 0 ? `${input.unread} unread` : '';
  const notices = [...(input.notices ?? [])];
  return {
    state: trayState(input.feed, input.paused),
    // Tooltips are short everywhere and a single line on Windows.
    tooltip: ['Herald', notices.length > 0 ? `${NOTICE_MARK}${notices[0]}` : '', status, paused, unread]
      .filter(Boolean)
      .join(' · ')
      .slice(0, 127),
    status,
    unread: input.unread,
    latest: input.recent
      .slice(-TRAY_LATEST)
      .reverse()
      .map((e) => ({ id: e.id, label: shorten(e.title) })),
    paused: input.paused,
    pausedLabel: paused,
    localServer: { on: input.localServerWanted, label: localServerLabel(input.localServer) },
    notices,
  };
}

/**
 * Text shown as a menu label as it is: on Windows and Linux a `&` marks the next letter as the
 * item's access key (and disappears), so an event titled "R&D build" would read "RD build".
 * `&&` shows one `&`. macOS shows labels as they are.
 */
export function menuLabel(text: string, platform: NodeJS.Platform): string {
  return platform === 'darwin' ? text : text.replace(/&/g, '&&');
}

/** The tray's context menu for a view. Types only from Electron: the tray builds it with Menu.buildFromTemplate. */
export function trayMenu(view: TrayView, actions: TrayActions, platform: NodeJS.Platform): MenuItemConstructorOptions[] {
  const text = (label: string) => menuLabel(label, platform);
  const latest: MenuItemConstructorOptions[] =
    view.latest.length > 0
      ? view.latest.map((e) => ({ label: text(e.label), click: () => actions.openEvent(e.id) }))
      : [{ label: 'No events yet', enabled: false }];
  // The pause time is computed by the core when the item is clicked: the menu may have been
  // built hours earlier.
  const pause: MenuItemConstructorOptions = view.paused
    ? { label: 'Resume notifications', click: () => actions.resumeNotifications() }
    : {
        label: 'Pause notifications',
        submenu: [
          { label: 'For 1 hour', click: () => actions.pauseFor('hour') },
          { label: 'Until tomorrow', click: () => actions.pauseFor('tomorrow') },
          { label: 'Until I resume', click: () => actions.pauseFor('resumed') },
        ],
      };
  const notices: MenuItemConstructorOptions[] = view.notices.map((n) => ({ label: text(`${NOTICE_MARK}${n}`), enabled: false }));
  return [
    ...notices,
    ...(notices.length > 0 ? [{ type: 'separator' } as const] : []),
    { label: text(view.status), enabled: false },
    ...(view.paused ? [{ label: text(view.pausedLabel), enabled: false }] : []),
    { type: 'separator' },
    ...latest,
    { type: 'separator' },
    { label: view.unread > 0 ? `Open history (${view.unread} unread)` : 'Open history', click: () => actions.openHistory() },
    pause,
    { type: 'separator' },
    { label: 'Run local server', type: 'checkbox', checked: view.localServer.on, click: (item) => actions.setLocalServer(item.checked) },
    ...(view.localServer.on ? [{ label: text(view.localServer.label), enabled: false }] : []),
    { label: 'Settings…', click: () => actions.openSettings() },
    { type: 'separator' },
    { label: 'Quit Herald', click: () => actions.quit() },
  ];
}
