// The history as the window shows it: events grouped into rows (one per job, one per plain
// notification), newest first, then filtered. Pure: no DOM, so it is unit-tested under Node.

import { compareEventIds, entryKey, isJobEvent, isNotice, lastOutputLine } from '../events/event.ts';
import type { HeraldEvent, JobStatus, Priority } from '../events/event.ts';

export interface JobRow {
  kind: 'job';
  /** Stable across updates: `job:<job id>`. */
  key: string;
  jobId: string;
  name: string;
  status: JobStatus;
  /** Every event of the job, oldest first. */
  events: HeraldEvent[];
  /** The newest event: its id orders the row, its title and body are shown. */
  latest: HeraldEvent;
  topic: string;
  /** The highest priority among the job's events. */
  priority: Priority;
  /** The newest url any of its events carried. */
  url?: string;
  /** When the job started (epoch ms): its first event. */
  startedAt: number;
  /** Known once the job ended: the publisher's figure, else the time between first and last event. */
  durationMs?: number;
  exitCode?: number;
  host?: string;
  /** The last line of output, shown for a failure. */
  lastLine?: string;
}

export interface EventRow {
  kind: 'event';
  /** `event:<id>` */
  key: string;
  latest: HeraldEvent;
  topic: string;
  priority: Priority;
  url?: string;
}

export type HistoryRow = JobRow | EventRow;

export { isJobEvent, isNotice } from '../events/event.ts';

/** Groups events (any order) into rows, newest first (a job sorts by its newest event). */
export function buildRows(events: readonly HeraldEvent[]): HistoryRow[] {
  const sorted = [...events].sort((a, b) => compareEventIds(a.id, b.id));
  const jobs = new Map<string, JobRow>();
  const rows: HistoryRow[] = [];
  const seen = new Set<string>();
  for (const event of sorted) {
    // The same key the tray counts unread entries by (events/event.ts).
    const key = entryKey(event);
    if (key === undefined || seen.has(event.id)) continue;
    seen.add(event.id);
    if (!isJobEvent(event)) {
      const row: EventRow = { kind: 'event', key, latest: event, topic: event.topic, priority: event.priority };
      if (event.url) row.url = event.url;
      rows.push(row);
      continue;
    }
    const job = event.job!;
    let row = jobs.get(key);
    if (!row) {
      row = {
        kind: 'job',
        key,
        jobId: job.id,
        name: job.name ?? job.id,
        status: job.status,
        events: [],
        latest: event,
        topic: event.topic,
        priority: event.priority,
        startedAt: Date.parse(event.time),
      };
      jobs.set(key, row);
      rows.push(row);
    }
    row.events.push(event);
    row.latest = event;
    row.status = job.status;
    row.topic = event.topic;
    if (job.name) row.name = job.name;
    if (event.priority > row.priority) row.priority = event.priority;
    if (event.url) row.url = event.url;
    if (job.host) row.host = job.host;
    if (job.exitCode !== undefined) row.exitCode = job.exitCode;
    const tail = lastOutputLine(job);
    if (tail !== undefined) row.lastLine = tail;
    if (job.status !== 'running') {
      row.durationMs = job.durationMs ?? Math.max(0, Date.parse(event.time) - row.startedAt);
    } else {
      delete row.durationMs;
    }
  }
  return rows.sort((a, b) => compareEventIds(b.latest.id, a.latest.id));
}

export type TypeFilter = 'all' | 'job' | 'notification' | `type:${string}`;
export type StatusFilter = 'all' | 'unread' | JobStatus;

export interface RowFilter {
  /** '' for every topic. */
  topic: string;
  type: TypeFilter;
  status: StatusFilter;
  /** Words that must all appear in the title or body (case-insensitive). */
  search: string;
}

export const NO_FILTER: RowFilter = { topic: '', type: 'all', status: 'all', search: '' };

export function isFiltered(filter: RowFilter): boolean {
  return filter.topic !== '' || filter.type !== 'all' || filter.status !== 'all' || filter.search.trim() !== '';
}

/** The text search looks at: every title and body of the row, and a job's name. */
function searchText(row: HistoryRow): string {
  const events = row.kind === 'job' ? row.events : [row.latest];
  const parts = events.flatMap((e) => [e.title, e.body ?? '']);
  if (row.kind === 'job') parts.push(row.name);
  return parts.join('\n').toLowerCase();
}

/**
 * Keeps the rows that match. `isUnread(row)` decides the "unread" status filter; statuses other
 * than unread apply to jobs only (a plain notification has no status).
 */
export function filterRows(rows: readonly HistoryRow[], filter: RowFilter, isUnread: (row: HistoryRow) => boolean): HistoryRow[] {
  const words = filter.search.toLowerCase().split(/\s+/).filter((w) => w !== '');
  return rows.filter((row) => {
    if (filter.topic !== '' && row.topic !== filter.topic) return false;
    if (filter.type === 'job' && row.kind !== 'job') return false;
    if (filter.type === 'notification' && (row.kind !== 'event' || row.latest.type !== 'notification')) return false;
    if (filter.type.startsWith('type:') && (row.kind !== 'event' || row.latest.type !== filter.type.slice(5))) return false;
    if (filter.status === 'unread' && !isUnread(row)) return false;
    if (filter.status !== 'all' && filter.status !== 'unread' && (row.kind !== 'job' || row.status !== filter.status)) return false;
    if (words.length > 0) {
      const text = searchText(row);
      if (!words.every((w) => text.includes(w))) return false;
    }
    return true;
  });
}

/** Topics and publisher-defined types seen in the history, sorted, for the filter menus. */
export function facets(events: readonly HeraldEvent[]): { topics: string[]; customTypes: string[] } {
  const topics = new Set<string>();
  const types = new Set<string>();
  for (const e of events) {
    if (isNotice(e)) continue;
    topics.add(e.topic);
    if (e.type !== 'notification' && !isJobEvent(e)) types.add(e.type);
  }
  return { topics: [...topics].sort(), customTypes: [...types].sort() };
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "12 Mar": short, and refreshed by the window. */
export function relativeTime(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return '';
  const s = Math.round((now - then) / 1000);
  if (s < 45) return 'just now';
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const hours = Math.round(min / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  return new Date(then).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: now - then > 300 * 86_400_000 ? 'numeric' : undefined });
}

/** "in 4 s", "in 2 min": until a moment in the future (for the next reconnection attempt). */
export function countdown(at: number, now: number): string {
  const s = Math.max(0, Math.ceil((at - now) / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  return min < 60 ? `${min} min` : `${Math.round(min / 60)} h`;
}

/** "14:05" today, "Tue 14:05" within a week, else a date: when a pause or do-not-disturb ends. */
export function clockTime(at: number, now: number): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (new Date(now).toDateString() === d.toDateString()) return time;
  if (at - now < 6 * 86_400_000) return `${d.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
  return `${d.toLocaleDateString()} ${time}`;
}

/** The moment "until tomorrow" ends: 08:00 on the next calendar day. */
export function tomorrowMorning(now: number): number {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(8, 0, 0, 0);
  return d.getTime();
}

/** Splits "build, deploy ci" into topics. */
export function parseTopicList(text: string): string[] {
  return text.split(/[\s,]+/).filter((t) => t !== '');
}
