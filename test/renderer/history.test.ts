import { describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { buildRows, countdown, facets, filterRows, relativeTime, tomorrowMorning, NO_FILTER } from '../../renderer/history.ts';
import type { HistoryRow, JobRow } from '../../renderer/history.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');
let n = 0;
function ev(fields: Partial<HeraldEvent>, atMs = 0): HeraldEvent {
  n++;
  return { id: String(n), type: 'notification', topic: 'default', time: new Date(T0 + atMs).toISOString(), title: `e${n}`, priority: 3, ...fields };
}
const never = () => false;

describe('buildRows', () => {
  it('groups a job into one row that follows it from start to end, placed by its newest event', () => {
    const started = ev({ type: 'job.started', topic: 'ci', job: { id: 'b1', name: 'build', status: 'running' } }, 0);
    const note = ev({ title: 'hello' }, 1000);
    const done = ev({ type: 'job.failed', topic: 'ci', priority: 4, url: 'https://ci.example/1', job: { id: 'b1', status: 'failed', exitCode: 2, outputTail: 'a\nlast line\n\n' } }, 5000);
    const rows = buildRows([done, note, started]);
    expect(rows.map((r) => r.key)).toEqual(['job:b1', `event:${note.id}`]);
    const job = rows[0] as JobRow;
    expect(job).toMatchObject({ status: 'failed', name: 'build', exitCode: 2, durationMs: 5000, priority: 4, url: 'https://ci.example/1', lastLine: 'last line' });
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
    expect(facets(rows.flatMap((r) => (r.kind === 'job' ? r.events : [r.latest])))).toEqual({ topics: ['backup', 'ci', 'deploy'], customTypes: ['deploy.done'] });
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
