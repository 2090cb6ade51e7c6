// One history row as DOM: a job (started → running → ✓/✗) or a plain event. Every piece of event
// data goes in as text; `tick` refreshes what changes with time (relative time, live duration).
// The row's actions are buttons marked with data-action; the window handles them (app.ts).

import { PRIORITY_NAMES } from '../events/event.ts';
import type { Priority } from '../events/event.ts';
import { h, setText, srOnly } from './dom.ts';
import { absoluteTime, jobPriorityChosen, jobStatusText, jobText, relativeTime, shownBody } from './history.ts';
import type { HistoryRow } from './history.ts';

export interface RenderedRow {
  el: HTMLElement;
  /** Changes when the row must be rebuilt (new event in it, read state). */
  signature: string;
  /** Whether the row has more to show than it shows collapsed (a long body, a job's output). */
  expandable: boolean;
  setExpanded(expanded: boolean): void;
  tick(now: number): void;
}

/** What a row does; the buttons carry it as data-action. */
export type RowAction = 'toggle' | 'copy' | 'open' | 'read' | 'delete';

const PRIORITY_ICON: Record<Priority, string> = { 1: '⇣', 2: '↓', 3: '•', 4: '▲', 5: '‼' };
const JOB_ICON = { running: '▶', succeeded: '✓', failed: '✗', cancelled: '⊘' } as const;
/** A body past this many lines (or characters) is clamped at four lines until the row is expanded. */
const CLAMP_LINES = 4;
const CLAMP_CHARS = 280;

let nextId = 0;

export function rowSignature(row: HistoryRow, unread: boolean): string {
  return `${row.latest.id}|${unread ? 'u' : 'r'}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function renderRow(row: HistoryRow, unread: boolean, now: number, expanded = false): RenderedRow {
  const id = `row-${++nextId}`;
  const e = row.latest;
  const isJob = row.kind === 'job';

  const icon = isJob ? JOB_ICON[row.status] : PRIORITY_ICON[row.priority];
  const iconLabel = isJob ? '' : PRIORITY_NAMES[row.priority];
  const title = isJob ? row.name : e.title;
  const bodyText = isJob ? jobText(row) : shownBody(e.title, e.body);
  // A job that ended shows its last line of output; expanded, all of the tail it sent.
  const lastLine = isJob && row.status !== 'running' ? row.lastLine : undefined;
  const fullTail = isJob && row.status !== 'running' ? row.outputTail?.trimEnd() : undefined;
  const expandable =
    bodyText.split('\n').length > CLAMP_LINES || bodyText.length > CLAMP_CHARS || (fullTail !== undefined && fullTail !== lastLine);

  const time = h('time', { class: 'when', datetime: e.time, title: absoluteTime(e.time) }, relativeTime(e.time, now));
  // Jobs wear their state; a priority chip only where it says something the state does not.
  const stateChip = isJob ? h('span', { class: `chip state job-${row.status}` }, jobStatusText(row, now)) : null;
  const showPriority = isJob ? jobPriorityChosen(row) : row.priority !== 3;
  const priority = isJob ? e.priority : row.priority;

  const meta = h(
    'div',
    { class: 'meta', id: `${id}-meta` },
    h('span', { class: 'chip topic' }, srOnly('Topic '), row.topic),
    stateChip,
    showPriority ? h('span', { class: `chip prio prio-${priority}` }, `${PRIORITY_NAMES[priority]} priority`) : null,
    isJob && row.host ? h('span', { class: 'host' }, `on ${row.host}`) : null,
    !isJob && e.type !== 'notification' ? h('span', { class: 'chip type' }, e.type) : null,
    ...(e.tags ?? []).map((tag) => h('span', { class: 'tag' }, `#${tag}`)),
    row.url ? h('span', { class: 'link' }, h('span', { 'aria-hidden': 'true' }, '↗ '), srOnly('Links to '), hostOf(row.url)) : null,
    time,
  );

  const body = bodyText ? h('p', { class: 'body', id: `${id}-body` }, bodyText) : null;
  const tail = lastLine !== undefined ? h('pre', { class: `tail job-${isJob ? row.status : ''}`, id: `${id}-tail` }, lastLine) : null;
  const toggle = expandable
    ? h(
        'button',
        {
          type: 'button',
          class: 'small row-action toggle',
          'data-action': 'toggle',
          'aria-controls': [body ? `${id}-body` : '', tail ? `${id}-tail` : ''].filter(Boolean).join(' '),
        },
        '',
      )
    : null;
  const action = (name: RowAction, label: string, tip: string) =>
    h('button', { type: 'button', class: 'small row-action', 'data-action': name, title: tip }, label);

  const el = h(
    'article',
    {
      class: [
        'row',
        `prio-${row.priority}`,
        isJob ? `job job-${row.status}` : 'event',
        unread ? 'unread' : '',
        expandable ? 'expandable' : '',
      ]
        .filter(Boolean)
        .join(' '),
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
      h('h4', { class: 'title', id: `${id}-title` }, unread ? srOnly('Unread: ') : null, title),
      body,
      tail,
      h(
        'div',
        { class: 'row-footer' },
        meta,
        h(
          'div',
          { class: 'row-actions', role: 'group', 'aria-label': 'Actions' },
          toggle,
          action('copy', 'Copy', 'Copy the text of this entry'),
          row.url ? action('open', 'Open link', `Open ${row.url}`) : null,
          unread ? action('read', 'Mark read', 'Mark this entry, and the ones before it, read') : null,
          action('delete', 'Delete', 'Remove this entry from this history (the server keeps its log)'),
        ),
      ),
    ),
    unread ? h('span', { class: 'unread-dot', 'aria-hidden': 'true' }) : null,
  );

  const setExpanded = (on: boolean) => {
    if (!toggle) return;
    el.classList.toggle('expanded', on);
    toggle.setAttribute('aria-expanded', String(on));
    setText(toggle, on ? 'Show less' : 'Show more');
    if (tail && lastLine !== undefined) setText(tail, on && fullTail !== undefined ? fullTail : lastLine);
  };
  setExpanded(expanded);

  return {
    el,
    signature: rowSignature(row, unread),
    expandable,
    setExpanded,
    tick(t: number) {
      setText(time, relativeTime(e.time, t));
      if (stateChip && row.kind === 'job' && row.status === 'running') setText(stateChip, jobStatusText(row, t));
    },
  };
}
