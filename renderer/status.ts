// What the window says about the connection, the pause and the local server. Pure: unit-tested.

import type { AppStatus, LocalServerState } from '../bridge/contract.ts';
import { clockTime, countdown } from './history.ts';

export type Tone = 'ok' | 'busy' | 'warn' | 'bad' | 'muted';

export interface StatusLine {
  tone: Tone;
  /** A glyph shown next to the words (decorative; the words say it all). */
  icon: string;
  label: string;
  /** Extra words: when the next try is, why it failed. */
  detail: string;
  /** The problem is the token or address: offer the way to settings. */
  needsSettings: boolean;
}

export function describeFeed(status: AppStatus, now: number): StatusLine {
  const feed = status.feed;
  const why = feed.reason ? `${feed.reason[0]!.toUpperCase()}${feed.reason.slice(1)}.` : '';
  const next =
    feed.nextAttemptAt === undefined ? '' : feed.nextAttemptAt > now ? `Next try in ${countdown(feed.nextAttemptAt, now)}.` : 'Trying now…';
  switch (feed.status) {
    case 'open':
      return { tone: 'ok', icon: '●', label: 'Connected', detail: '', needsSettings: false };
    case 'connecting':
      return { tone: 'busy', icon: '◌', label: 'Connecting…', detail: '', needsSettings: false };
    case 'reconnecting':
      return { tone: 'warn', icon: '↻', label: 'Reconnecting', detail: [why, next].filter(Boolean).join(' '), needsSettings: false };
    case 'offline':
      return { tone: 'bad', icon: '○', label: 'Offline', detail: [why, next].filter(Boolean).join(' '), needsSettings: false };
    case 'auth-failed':
      return { tone: 'bad', icon: '⚠', label: 'Token refused', detail: 'Check the token in settings.', needsSettings: true };
    case 'stopped':
      return { tone: 'muted', icon: '■', label: 'Stopped', detail: why, needsSettings: false };
  }
}

/** "Paused until 14:00", "Paused until you resume", or '' when not paused (or the pause is over). */
export function describePause(status: AppStatus, now: number): string {
  const p = status.paused;
  if (!p) return '';
  if (p.until === null) return 'Notifications paused until you resume';
  if (p.until <= now) return '';
  return `Notifications paused until ${clockTime(p.until, now)}`;
}

export function describeLocalServer(state: LocalServerState, now: number): { tone: Tone; text: string } {
  switch (state.status) {
    case 'off':
      return { tone: 'muted', text: 'Local server off' };
    case 'starting':
      return { tone: 'busy', text: 'Local server starting…' };
    case 'running':
      return { tone: 'ok', text: `Local server running at ${state.url}` };
    case 'crashed': {
      const next =
        state.nextAttemptAt !== undefined && state.nextAttemptAt > now ? ` Restarting in ${countdown(state.nextAttemptAt, now)}.` : '';
      return { tone: 'bad', text: `Local server stopped: ${state.error}.${next}` };
    }
    case 'unavailable':
      return { tone: 'muted', text: `Local server unavailable: ${state.reason}` };
  }
}
