// The history as the window shows it: events grouped into rows (one per job, one per plain
// notification), newest first, then filtered. Pure: no DOM, so it is unit-tested under Node.

import { compareEventIds, entryKey, humanDuration, isJobEvent, isNotice, jobTitle, lastOutputLine } from '../events/event.ts';
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
  /** The last line of output, shown once the job has ended. */
  lastLine?: string;
  /** The newest output tail any of its events carried (the whole of it, shown when the row is expanded). */
  outputTail?: string;
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
    if (tail !== undefined) {
      row.lastLine = tail;
      row.outputTail = job.outputTail!;
    }
    if (job.status !== 'running') {
      row.durationMs = job.durationMs ?? Math.max(0, Date.parse(event.time) - row.startedAt);
    } else {
      delete row.durationMs;
    }
  }
  return rows.sort((a, b) => compareEventIds(b.latest.id, a.latest.id));
}

/**
 * The body as a row shows it: without a first line that only repeats the title, as the body of an
 * event published without one does (`curl -d "Backup done"` takes its title from its body).
 */
export function shownBody(title: string, body: string | undefined): string {
  if (body === undefined) return '';
  const lines = body.split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  if (lines.length > 0 && lines[0]!.trim() === title.trim()) lines.shift();
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  return lines.join('\n').trimEnd();
}

const STATUS_GLYPH = /^[▶✓✗⊘…]/u;

/**
 * The words a job row shows under its name: the publisher's title when it adds something (one
 * that only restates the status, "✓ build succeeded in 3 s", does not) and the body.
 */
export function jobText(row: JobRow): string {
  const e = row.latest;
  const job = e.job;
  const titleAdds = !(job && e.title === jobTitle(e.type, job)) && !STATUS_GLYPH.test(e.title.trim()) && !e.title.includes(row.name);
  return [titleAdds ? e.title : '', shownBody(e.title, e.body)].filter(Boolean).join('\n');
}

/**
 * The priorities a job's state already implies: `herald run` sends job.started at 2, a success at 3
 * and a failure at 4, and 3 is the API's default. Any other was chosen by its publisher.
 */
export const IMPLIED_JOB_PRIORITIES: Readonly<Record<JobStatus, readonly Priority[]>> = {
  running: [2, 3],
  succeeded: [3],
  failed: [3, 4],
  cancelled: [3],
};

/** A job row shows a priority chip only for a priority its publisher chose on purpose. */
export function jobPriorityChosen(row: JobRow): boolean {
  return !IMPLIED_JOB_PRIORITIES[row.status].includes(row.latest.priority);
}

/** The row as plain text, for the clipboard: title, body, a job's outcome and output, the link. */
export function rowText(row: HistoryRow, now: number): string {
  if (row.kind === 'event')
    return [row.latest.title, shownBody(row.latest.title, row.latest.body), row.url ?? ''].filter(Boolean).join('\n');
  return [row.name, jobStatusText(row, now), jobText(row), row.outputTail?.trimEnd() ?? '', row.url ?? ''].filter(Boolean).join('\n');
}

/** "Running for 12 s", "Succeeded in 3 min 5 s · exit 0", "Failed after 4 s · exit 2". */
export function jobStatusText(row: JobRow, now: number): string {
  const took = row.durationMs !== undefined ? humanDuration(row.durationMs) : '';
  const exit = row.exitCode !== undefined ? ` · exit ${row.exitCode}` : '';
  switch (row.status) {
    case 'running':
      return `Running for ${humanDuration(Math.max(0, now - row.startedAt))}`;
    case 'succeeded':
      return `Succeeded${took ? ` in ${took}` : ''}${exit}`;
    case 'failed':
      return `Failed${took ? ` after ${took}` : ''}${exit}`;
    case 'cancelled':
      return `Cancelled${took ? ` after ${took}` : ''}${exit}`;
  }
}

export interface DayGroup {
  /** The local date, YYYY-MM-DD (with "#2"… when a day comes back after another: clocks are not ids). */
  key: string;
  /** "Today", "Yesterday", "Monday 30 November", "12 March 2024". */
  label: string;
  rows: HistoryRow[];
}

/** The local calendar day of a moment, as YYYY-MM-DD. */
export function dayKey(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Today", "Yesterday", else the date (with the year when it is not this year's). */
export function dayLabel(at: number, now: number): string {
  const key = dayKey(at);
  if (key === dayKey(now)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (key === dayKey(yesterday.getTime())) return 'Yesterday';
  const sameYear = new Date(at).getFullYear() === new Date(now).getFullYear();
  return new Date(at).toLocaleDateString(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(sameYear ? {} : { year: 'numeric' }),
  });
}

/** Rows (newest first) in runs of one local day each, by their newest event's time. */
export function groupByDay(rows: readonly HistoryRow[], now: number): DayGroup[] {
  const groups: DayGroup[] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const at = Date.parse(row.latest.time);
    const day = Number.isFinite(at) ? dayKey(at) : 'unknown';
    const last = groups.at(-1);
    if (last && last.key.split('#')[0] === day) {
      last.rows.push(row);
      continue;
    }
    const n = (seen.get(day) ?? 0) + 1;
    seen.set(day, n);
    groups.push({ key: n === 1 ? day : `${day}#${n}`, label: Number.isFinite(at) ? dayLabel(at, now) : 'Unknown date', rows: [row] });
  }
  return groups;
}

/** The moment in full, for a time's tooltip: "Tuesday 1 December 2026, 14:05:09". */
export function absoluteTime(iso: string): string {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return iso;
  return new Date(at).toLocaleString(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
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
  const words = filter.search
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '');
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
  return new Date(then).toLocaleDateString(undefined, {
    day: 'numeric',
    month: 'short',
    year: now - then > 300 * 86_400_000 ? 'numeric' : undefined,
  });
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

/** Splits "build, deploy ci" into topics. */
export function parseTopicList(text: string): string[] {
  return text.split(/[\s,]+/).filter((t) => t !== '');
}
