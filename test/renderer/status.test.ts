import { describe, expect, it } from 'vitest';
import type { AppStatus } from '../../bridge/contract.ts';
import { describeFeed, describeLocalServer, describePause } from '../../renderer/status.ts';

const NOW = 1_700_000_000_000;
function status(patch: Partial<AppStatus>): AppStatus {
  return {
    host: 'desktop',
    feed: { status: 'open', since: NOW },
    paused: null,
    localServer: { status: 'off' },
    unread: 0,
    gap: null,
    ...patch,
  };
}

describe('describeFeed', () => {
  it('says when the next try is while reconnecting, and why', () => {
    const line = describeFeed(
      status({ feed: { status: 'reconnecting', since: NOW, reason: 'connection refused', nextAttemptAt: NOW + 4000 } }),
      NOW,
    );
    expect(line).toMatchObject({
      tone: 'warn',
      label: 'Reconnecting',
      detail: 'Connection refused. Next try in 4 s.',
      needsSettings: false,
    });
    expect(describeFeed(status({ feed: { status: 'offline', since: NOW, nextAttemptAt: NOW - 5 } }), NOW).detail).toBe('Trying now…');
  });
  it('points to settings when the token is refused', () => {
    expect(describeFeed(status({ feed: { status: 'auth-failed', since: NOW, httpStatus: 401 } }), NOW)).toMatchObject({
      tone: 'bad',
      needsSettings: true,
    });
  });
  it('shows connected and connecting plainly', () => {
    expect(describeFeed(status({}), NOW).label).toBe('Connected');
    expect(describeFeed(status({ feed: { status: 'connecting', since: NOW } }), NOW).label).toBe('Connecting…');
  });
});

describe('describePause and describeLocalServer', () => {
  it('names the end of a pause, or none; an elapsed pause is not shown', () => {
    expect(describePause(status({ paused: { until: null } }), NOW)).toBe('Notifications paused until you resume');
    expect(describePause(status({ paused: { until: NOW + 3_600_000 } }), NOW)).toMatch(/^Notifications paused until \S/);
    expect(describePause(status({ paused: { until: NOW - 1 } }), NOW)).toBe('');
    expect(describePause(status({}), NOW)).toBe('');
  });
  it('describes the local server, with the restart countdown after a crash', () => {
    expect(describeLocalServer({ status: 'running', url: 'http://127.0.0.1:5080' }, NOW).text).toBe(
      'Local server running at http://127.0.0.1:5080',
    );
    expect(describeLocalServer({ status: 'crashed', error: 'port in use', nextAttemptAt: NOW + 9000 }, NOW)).toEqual({
      tone: 'bad',
      text: 'Local server stopped: port in use. Restarting in 9 s.',
    });
  });
});
