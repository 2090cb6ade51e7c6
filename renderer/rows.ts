// One history row as DOM: a job (started → running → ✓/✗) or a plain event. Every piece of event
// data goes in as text; `tick` refreshes what changes with time (relative time, live duration).

import { PRIORITY_NAMES, humanDuration, jobTitle } from '../events/event.ts';
import type { Priority } from '../events/event.ts';
import { h, setText, srOnly } from './dom.ts';
import { relativeTime } from './history.ts';
import type { HistoryRow, JobRow } from './history.ts';

export interface RenderedRow {
  el: HTMLElement;
  /** Changes when the row must be rebuilt (new event in it, read state). */
  signature: string;
  tick(now: number): void;
}

const PRIORITY_ICON: Record<Priority, string> = { 1: '⇣', 2: '↓', 3: '•', 4: '▲', 5: '‼' };
const JOB_ICON = { running: '▶', succeeded: '✓', failed: '✗', cancelled: '⊘' } as const;

let nextId = 0;

export function rowSignature(row: HistoryRow, unread: boolean): string {
  return `${row.latest.id}|${unread ? 'u' : 'r'}`;
}

function jobStatusText(row: JobRow, now: number): string {
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

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

const STATUS_GLYPH = /^[▶✓✗⊘…]/u;

function addsToJob(row: JobRow, title: string): boolean {
  const job = row.latest.job;
  if (job && title === jobTitle(row.latest.type, job)) return false;
  return !STATUS_GLYPH.test(title.trim()) && !title.includes(row.name);
}

export function renderRow(row: HistoryRow, unread: boolean, now: number): RenderedRow {
  const id = `row-${++nextId}`;
  const e = row.latest;
  const priorityName = PRIORITY_NAMES[row.priority];
  const isJob = row.kind === 'job';

  const icon = isJob ? JOB_ICON[row.status] : PRIORITY_ICON[row.priority];
  const iconLabel = isJob ? '' : priorityName;
  const title = isJob ? row.name : e.title;
  // A job's own words (a publisher's title or body) are shown under its name when they add something:
  // a title that only restates the status ("✓ build succeeded in 3 s") does not.
  const bodyText = isJob ? [addsToJob(row, e.title) ? e.title : '', e.body ?? ''].filter(Boolean).join('\n') : (e.body ?? '');

  const time = h('time', { class: 'when', datetime: e.time, title: new Date(e.time).toLocaleString() }, relativeTime(e.time, now));
  const jobLine = isJob ? h('span', { class: `job-status job-${row.status}` }, jobStatusText(row, now)) : null;

  const meta = h(
    'div',
    { class: 'meta', id: `${id}-meta` },
    h('span', { class: 'chip topic' }, srOnly('Topic '), row.topic),
    row.priority !== 3 ? h('span', { class: `chip prio prio-${row.priority}` }, `${priorityName} priority`) : null,
    jobLine,
    isJob && row.host ? h('span', { class: 'host' }, `on ${row.host}`) : null,
    !isJob && e.type !== 'notification' ? h('span', { class: 'chip type' }, e.type) : null,
    ...(e.tags ?? []).map((tag) => h('span', { class: 'tag' }, `#${tag}`)),
    row.url ? h('span', { class: 'link' }, h('span', { 'aria-hidden': 'true' }, '↗ '), srOnly('Opens '), hostOf(row.url)) : null,
    time,
  );

  const el = h(
    'article',
    {
      class: ['row', `prio-${row.priority}`, isJob ? `job job-${row.status}` : 'event', unread ? 'unread' : '', row.url ? 'has-url' : ''].filter(Boolean).join(' '),
      tabindex: -1,
      'aria-labelledby': `${id}-title`,
      'aria-describedby': `${id}-meta`,
      'data-key': row.key,
      'data-id': e.id,
    },
    h('span', { class: 'icon', 'aria-hidden': 'true', title: iconLabel || null }, icon),
    h(
      'div',
      { class: 'content' },
      h('h3', { class: 'title', id: `${id}-title` }, unread ? srOnly('Unread: ') : null, title),
      bodyText ? h('p', { class: 'body' }, bodyText) : null,
      isJob && row.status === 'failed' && row.lastLine ? h('pre', { class: 'tail' }, row.lastLine) : null,
      meta,
    ),
    unread ? h('span', { class: 'unread-dot', 'aria-hidden': 'true' }) : null,
  );

  return {
    el,
    signature: rowSignature(row, unread),
    tick(t: number) {
      setText(time, relativeTime(e.time, t));
      if (jobLine && row.kind === 'job' && row.status === 'running') setText(jobLine, jobStatusText(row, t));
    },
  };
}
