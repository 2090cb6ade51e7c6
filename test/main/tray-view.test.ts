// What the tray shows: icon per state, tooltip, and a menu whose items call the right actions.

import { describe, expect, it } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import type { HeraldEvent } from '../../events/event.ts';
import type { FeedState } from '../../events/feed-state.ts';
import type { TrayActions } from '../../main/platform.ts';
import { tomorrowMorning } from '../../bridge/settings.ts';
import { menuLabel, trayIconFile, trayMenu, trayState, trayView } from '../../main/tray-view.ts';

const feed = (status: FeedState['status'], extra: Partial<FeedState> = {}): FeedState => ({ status, since: 0, ...extra });
const event = (id: string, title: string): HeraldEvent => ({
  id,
  type: 'notification',
  topic: 'default',
  time: '2025-01-01T00:00:00.000Z',
  title,
  priority: 3,
});

function recordingActions() {
  const calls: string[] = [];
  const actions: TrayActions = {
    openEvent: (id) => calls.push(`openEvent ${id}`),
    openHistory: () => calls.push('openHistory'),
    openSettings: () => calls.push('openSettings'),
    pauseFor: (choice) => calls.push(`pause ${choice}`),
    resumeNotifications: () => calls.push('resume'),
    setLocalServer: (on) => calls.push(`localServer ${on}`),
    quit: () => calls.push('quit'),
  };
  return { calls, actions };
}

function find(items: MenuItemConstructorOptions[], label: string | RegExp): MenuItemConstructorOptions {
  for (const item of items) {
    if (typeof label === 'string' ? item.label === label : label.test(item.label ?? '')) return item;
    if (Array.isArray(item.submenu)) {
      try {
        return find(item.submenu as MenuItemConstructorOptions[], label);
      } catch {
        // not in this submenu
      }
    }
  }
  throw new Error(`no menu item ${label}`);
}
const click = (item: MenuItemConstructorOptions, checked = false) => (item.click as (i: { checked: boolean }) => void)({ checked });

describe('trayState', () => {
  it('maps the feed state to one of four icons; paused wins', () => {
    expect(trayState(feed('open'), null)).toBe('connected');
    expect(trayState(feed('connecting'), null)).toBe('reconnecting');
    expect(trayState(feed('reconnecting'), null)).toBe('reconnecting');
    expect(trayState(feed('offline'), null)).toBe('offline');
    expect(trayState(feed('auth-failed'), null)).toBe('offline');
    expect(trayState(feed('stopped'), null)).toBe('offline');
    expect(trayState(feed('open'), { until: null })).toBe('paused');
  });
});

describe('trayView', () => {
  const base = {
    serverUrl: 'http://127.0.0.1:5080',
    paused: null,
    unread: 0,
    recent: [],
    localServer: { status: 'off' as const },
    localServerWanted: false,
  };

  it('puts the state and the unread count in the tooltip', () => {
    const v = trayView({ ...base, feed: feed('open'), unread: 3 });
    expect(v.tooltip).toBe('Herald · Connected to 127.0.0.1:5080 · 3 unread');
    expect(trayView({ ...base, feed: feed('auth-failed') }).tooltip).toBe(
      'Herald · 127.0.0.1:5080 refused the token: check it in the settings',
    );
    expect(trayView({ ...base, feed: feed('offline', { reason: 'connection refused' }) }).status).toBe('Offline: connection refused');
    expect(trayView({ ...base, feed: feed('open'), paused: { until: null } }).tooltip).toContain('Paused until resumed');
  });

  it('lists the five latest events, newest first, shortened to one line', () => {
    const recent = Array.from({ length: 7 }, (_, i) => event(String(i + 1), `event ${i + 1}`));
    recent.push(event('8', `a very long\ntitle ${'x'.repeat(100)}`));
    const v = trayView({ ...base, feed: feed('open'), recent });
    expect(v.latest.map((e) => e.id)).toEqual(['8', '7', '6', '5', '4']);
    expect(v.latest[0]!.label).toMatch(/^a very long title x+…$/);
    expect(v.latest[0]!.label.length).toBe(60);
  });
});

describe('trayMenu', () => {
  it('offers latest events, history with unread, pause choices, local server, settings and quit', () => {
    const { calls, actions } = recordingActions();
    const view = trayView({
      serverUrl: 'http://127.0.0.1:5080',
      feed: feed('open'),
      paused: null,
      unread: 2,
      recent: [event('1', 'build done')],
      localServer: { status: 'running', url: 'http://127.0.0.1:5080' },
      localServerWanted: true,
    });
    const menu = trayMenu(view, actions, 'linux');
    click(find(menu, 'build done'));
    click(find(menu, 'Open history (2 unread)'));
    click(find(menu, 'For 1 hour'));
    click(find(menu, 'Until tomorrow'));
    click(find(menu, 'Until I resume'));
    const local = find(menu, 'Run local server');
    expect(local).toMatchObject({ type: 'checkbox', checked: true });
    click(local, false);
    click(find(menu, 'Settings…'));
    click(find(menu, 'Quit Herald'));
    expect(find(menu, 'Local server: on (127.0.0.1:5080)').enabled).toBe(false);
    expect(calls).toEqual([
      'openEvent 1',
      'openHistory',
      // The time is the core's to compute, at the click (HeraldApp.pauseFor).
      'pause hour',
      'pause tomorrow',
      'pause resumed',
      'localServer false',
      'openSettings',
      'quit',
    ]);
  });

  it('offers resume while paused', () => {
    const { calls, actions } = recordingActions();
    const view = trayView({
      serverUrl: 'http://127.0.0.1:5080',
      feed: feed('open'),
      paused: { until: null },
      unread: 0,
      recent: [],
      localServer: { status: 'off' },
      localServerWanted: false,
    });
    const menu = trayMenu(view, actions, 'linux');
    expect(() => find(menu, 'For 1 hour')).toThrow();
    expect(find(menu, 'No events yet').enabled).toBe(false);
    click(find(menu, 'Resume notifications'));
    expect(calls).toEqual(['resume']);
  });

  it('doubles & in labels on Windows and Linux (else it marks an access key and vanishes), not on macOS', () => {
    const { actions } = recordingActions();
    const view = trayView({
      serverUrl: 'http://127.0.0.1:5080',
      feed: feed('open'),
      paused: null,
      unread: 0,
      recent: [event('1', 'R&D build & deploy')],
      localServer: { status: 'off' },
      localServerWanted: false,
    });
    expect(find(trayMenu(view, actions, 'win32'), /^R/).label).toBe('R&&D build && deploy');
    expect(find(trayMenu(view, actions, 'linux'), /^R/).label).toBe('R&&D build && deploy');
    expect(find(trayMenu(view, actions, 'darwin'), /^R/).label).toBe('R&D build & deploy');
    expect(menuLabel('a && b', 'win32')).toBe('a &&&& b');
  });

  it('shows problems the user must know about first, and the first one in the tooltip', () => {
    const { actions } = recordingActions();
    const notices = ['This desktop cannot show notifications: events appear in the tray and the history window only'];
    const view = trayView({
      serverUrl: 'http://127.0.0.1:5080',
      feed: feed('open'),
      paused: null,
      unread: 0,
      recent: [],
      localServer: { status: 'off' },
      localServerWanted: false,
      notices,
    });
    const menu = trayMenu(view, actions, 'linux');
    expect(menu[0]).toEqual({ label: `⚠ ${notices[0]}`, enabled: false });
    expect(menu[1]).toEqual({ type: 'separator' });
    expect(view.tooltip).toMatch(/^Herald · ⚠ This desktop cannot show notifications/);
    expect(
      trayMenu(
        trayView({
          serverUrl: 'http://127.0.0.1:5080',
          feed: feed('open'),
          paused: null,
          unread: 0,
          recent: [],
          localServer: { status: 'off' },
          localServerWanted: false,
        }),
        actions,
        'linux',
      )[0]!.label,
    ).toBe('Connected to 127.0.0.1:5080');
  });

  it('uses template images on macOS (tinted by the menu bar) and the coloured icons elsewhere', () => {
    expect(trayIconFile('offline', 'darwin')).toBe('tray-offlineTemplate.png');
    expect(trayIconFile('offline', 'linux')).toBe('tray-offline.png');
    expect(trayIconFile('paused', 'win32')).toBe('tray-paused.png');
  });

  it('"until tomorrow" is 08:00 the next day, also across a month end', () => {
    expect(tomorrowMorning(new Date(2025, 0, 31, 23, 59).getTime())).toBe(new Date(2025, 1, 1, 8, 0).getTime());
  });
});
