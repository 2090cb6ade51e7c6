import { describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import {
  buildRows,
  countdown,
  dayLabel,
  facets,
  filterRows,
  groupByDay,
  jobPriorityChosen,
  jobText,
  relativeTime,
  rowText,
  shownBody,
  NO_FILTER,
} from '../../renderer/history.ts';
import { tomorrowMorning } from '../../bridge/settings.ts';
import type { HistoryRow, JobRow } from '../../renderer/history.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');
let n = 0;
function ev(fields: Partial<HeraldEvent>, atMs = 0): HeraldEvent {
  n++;
  return {
    id: String(n),
    type: 'notification',
    topic: 'default',
    time: new Date(T0 + atMs).toISOString(),
    title: `e${n}`,
    priority: 3,
    ...fields,
  };
}
const never = () => false;

describe('buildRows', () => {
  it('groups a job into one row that follows it from start to end, placed by its newest event', () => {
    const started = ev({ type: 'job.started', topic: 'ci', job: { id: 'b1', name: 'build', status: 'running' } }, 0);
    const note = ev({ title: 'hello' }, 1000);
    const done = ev(
      {
        type: 'job.failed',
        topic: 'ci',
        priority: 4,
        url: 'https://ci.example/1',
        job: { id: 'b1', status: 'failed', exitCode: 2, outputTail: 'a\nlast line\n\n' },
      },
      5000,
    );
    const rows = buildRows([done, note, started]);
    expect(rows.map((r) => r.key)).toEqual(['job:b1', `event:${note.id}`]);
    const job = rows[0] as JobRow;
    expect(job).toMatchObject({
      status: 'failed',
      name: 'build',
      exitCode: 2,
      durationMs: 5000,
      priority: 4,
      url: 'https://ci.example/1',
      lastLine: 'last line',
    });
    expect(job.events.map((e) => e.id)).toEqual([started.id, done.id]);
  });

  it("prefers the publisher's duration, drops duplicates and leaves gap and reset notices out", () => {
    const a = ev({ type: 'job.completed', job: { id: 'x', status: 'succeeded', durationMs: 42 } });
    const gap = ev({ type: 'herald.gap', topic: 'herald' });
    const reset = ev({ type: 'herald.reset', topic: 'herald' });
    const rows = buildRows([a, a, gap, reset]);
    expect(rows).toHaveLength(1);
    expect((rows[0] as JobRow).durationMs).toBe(42);
  });

  it('orders ids numerically (10 after 9)', () => {
    const nine = { ...ev({}), id: '9' };
    const ten = { ...ev({}), id: '10' };
    expect(buildRows([ten, nine]).map((r) => r.latest.id)).toEqual(['10', '9']);
  });
});

describe('what a row shows', () => {
  it('shows a body once when the title was taken from it', () => {
    expect(shownBody('Backup done', 'Backup done')).toBe('');
    expect(shownBody('Backup done', '\nBackup done\n\n3 files, 2 GB')).toBe('3 files, 2 GB');
    expect(shownBody('Deploy', 'Backup done')).toBe('Backup done');
    expect(shownBody('x', undefined)).toBe('');
  });

  it('keeps the output tail and last line of every finished job, success included', () => {
    const ok = buildRows([
      ev({
        type: 'job.completed',
        title: '✓ tests succeeded',
        job: { id: 'o', name: 'tests', status: 'succeeded', exitCode: 0, durationMs: 2000, outputTail: 'running\n12 passed\n' },
      }),
    ])[0] as JobRow;
    expect(ok).toMatchObject({ lastLine: '12 passed', outputTail: 'running\n12 passed\n' });
    // the clipboard text of the row: name, outcome, output
    expect(rowText(ok, T0)).toBe('tests\nSucceeded in 2.0 s · exit 0\nrunning\n12 passed');
  });

  it('gives a job a priority chip only for a priority its state does not imply', () => {
    const job = (type: string, status: 'running' | 'succeeded' | 'failed' | 'cancelled', priority: 1 | 2 | 3 | 4 | 5) =>
      buildRows([ev({ type, priority, job: { id: `${status}${priority}`, status } })])[0] as JobRow;
    expect(jobPriorityChosen(job('job.started', 'running', 2))).toBe(false); // herald run's job.started
    expect(jobPriorityChosen(job('job.completed', 'succeeded', 3))).toBe(false);
    expect(jobPriorityChosen(job('job.failed', 'failed', 4))).toBe(false);
    expect(jobPriorityChosen(job('job.failed', 'failed', 3))).toBe(false);
    expect(jobPriorityChosen(job('job.failed', 'failed', 5))).toBe(true);
    expect(jobPriorityChosen(job('job.completed', 'succeeded', 1))).toBe(true);
    expect(jobPriorityChosen(job('job.started', 'running', 5))).toBe(true);
  });

  it("shows a job publisher's own words, not a title that restates its status", () => {
    const derived = buildRows([
      ev({ type: 'job.completed', title: '✓ build succeeded', job: { id: 'a', name: 'build', status: 'succeeded' } }),
    ])[0] as JobRow;
    expect(jobText(derived)).toBe('');
    const own = buildRows([
      ev({
        type: 'job.completed',
        title: 'Release 1.4 is out',
        body: 'Release 1.4 is out\nnotes at /r',
        job: { id: 'b', name: 'release', status: 'succeeded' },
      }),
    ])[0] as JobRow;
    expect(jobText(own)).toBe('Release 1.4 is out\nnotes at /r');
  });
});

describe('day groups', () => {
  const at = (local: string) => new Date(local).getTime();
  it('labels days Today, Yesterday, else by date (with the year when not this one)', () => {
    const now = at('2026-03-02T09:00:00');
    expect(dayLabel(at('2026-03-02T00:00:01'), now)).toBe('Today');
    expect(dayLabel(at('2026-03-01T23:59:59'), now)).toBe('Yesterday');
    expect(dayLabel(at('2026-02-27T12:00:00'), now)).toBe(
      new Date(at('2026-02-27T12:00:00')).toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' }),
    );
    expect(dayLabel(at('2025-12-31T12:00:00'), now)).toContain('2025');
    // across a DST change or a month end, yesterday is the calendar day before
    expect(dayLabel(at('2026-02-28T22:00:00'), at('2026-03-01T01:00:00'))).toBe('Yesterday');
  });

  it('groups rows (newest first) into runs of one local day', () => {
    const now = at('2026-03-02T09:00:00');
    const rows = buildRows([
      { ...ev({ title: 'old' }), time: new Date(at('2026-02-20T10:00:00')).toISOString() },
      { ...ev({ title: 'y1' }), time: new Date(at('2026-03-01T08:00:00')).toISOString() },
      { ...ev({ title: 'y2' }), time: new Date(at('2026-03-01T22:00:00')).toISOString() },
      { ...ev({ title: 't' }), time: new Date(at('2026-03-02T08:30:00')).toISOString() },
    ]);
    const groups = groupByDay(rows, now);
    expect(groups.map((g) => [g.key, g.label.length > 0, g.rows.map((r) => r.latest.title)])).toEqual([
      ['2026-03-02', true, ['t']],
      ['2026-03-01', true, ['y2', 'y1']],
      ['2026-02-20', true, ['old']],
    ]);
    expect(groups.slice(0, 2).map((g) => g.label)).toEqual(['Today', 'Yesterday']);
    // a clock that went back: the day comes back as its own group, with a key of its own
    const odd = buildRows([
      { ...ev({}), time: new Date(at('2026-03-02T08:00:00')).toISOString() },
      { ...ev({}), time: new Date(at('2026-03-01T08:00:00')).toISOString() },
      { ...ev({}), time: new Date(at('2026-03-02T08:05:00')).toISOString() },
    ]);
    expect(groupByDay(odd, now).map((g) => g.key)).toEqual(['2026-03-02', '2026-03-01', '2026-03-02#2']);
  });
});

describe('filterRows', () => {
  const rows: HistoryRow[] = buildRows([
    ev({ title: 'Backup finished', body: 'nightly /srv', topic: 'backup' }),
    ev({ type: 'deploy.done', title: 'Shipped', topic: 'deploy' }),
    ev({ type: 'job.failed', topic: 'ci', job: { id: 'l', name: 'lint', status: 'failed' } }),
    ev({ type: 'job.completed', topic: 'ci', job: { id: 't', name: 'tests', status: 'succeeded' } }),
  ]);
  it('filters by topic, type, status and words in title or body', () => {
    expect(filterRows(rows, { ...NO_FILTER, topic: 'ci' }, never)).toHaveLength(2);
    expect(filterRows(rows, { ...NO_FILTER, type: 'job' }, never)).toHaveLength(2);
    expect(filterRows(rows, { ...NO_FILTER, type: 'notification' }, never)).toHaveLength(1);
    expect(filterRows(rows, { ...NO_FILTER, type: 'type:deploy.done' }, never)).toHaveLength(1);
    expect(filterRows(rows, { ...NO_FILTER, status: 'failed' }, never).map((r) => r.key)).toEqual(['job:l']);
    expect(filterRows(rows, { ...NO_FILTER, search: 'NIGHTLY backup' }, never)).toHaveLength(1);
    expect(filterRows(rows, { ...NO_FILTER, search: 'lint' }, never)).toHaveLength(1);
    expect(filterRows(rows, { ...NO_FILTER, search: 'nightly lint' }, never)).toHaveLength(0);
    expect(filterRows(rows, { ...NO_FILTER, status: 'unread' }, (r) => r.topic === 'deploy')).toHaveLength(1);
  });
  it('lists topics and publisher-defined types for the menus', () => {
    expect(facets(rows.flatMap((r) => (r.kind === 'job' ? r.events : [r.latest])))).toEqual({
      topics: ['backup', 'ci', 'deploy'],
      customTypes: ['deploy.done'],
    });
  });
});

describe('time words', () => {
  it('says how long ago, briefly', () => {
    const at = new Date(T0).toISOString();
    expect(relativeTime(at, T0 + 10_000)).toBe('just now');
    expect(relativeTime(at, T0 + 5 * 60_000)).toBe('5 min ago');
    expect(relativeTime(at, T0 + 3 * 3_600_000)).toBe('3 h ago');
    expect(relativeTime(at, T0 + 26 * 3_600_000)).toBe('yesterday');
    expect(relativeTime(at, T0 + 3 * 86_400_000)).toBe('3 days ago');
  });
  it('counts down to the next attempt, rounding up', () => {
    expect(countdown(T0 + 3_200, T0)).toBe('4 s');
    expect(countdown(T0 - 1, T0)).toBe('0 s');
    expect(countdown(T0 + 90_000, T0)).toBe('2 min');
  });
  it('ends "until tomorrow" at 08:00 on the next day', () => {
    const end = new Date(tomorrowMorning(T0));
    expect(end.getHours()).toBe(8);
    expect(end.getTime()).toBeGreaterThan(T0);
    expect(end.getTime() - T0).toBeLessThan(2 * 86_400_000);
  });
});
