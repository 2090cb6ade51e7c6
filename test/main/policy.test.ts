import { describe, expect, it } from 'vitest';
import { NotificationPolicy, describeEvent, urgencyOf } from '../../main/policy.ts';
import type { NotificationSpec, PolicySettings } from '../../main/policy.ts';
import type { HeraldEvent, JobInfo } from '../../events/event.ts';

/** A clock the test moves by hand: timers fire only when advanced past. */
class FakeClock {
  now = Date.parse('2030-01-01T12:00:00Z');
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #next = 1;
  setTimer = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#timers.push({ at: this.now + ms, fn, id });
    return id;
  };
  clearTimer = (t: unknown): void => {
    this.#timers = this.#timers.filter((x) => x.id !== t);
  };
  get pending(): number {
    return this.#timers.length;
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = due.at;
      due.fn();
    }
    this.now = end;
  }
}

function settings(over: Partial<PolicySettings> = {}): PolicySettings {
  return { doNotDisturb: { enabled: false, until: null, allowUrgent: true }, mutedTopics: [], paused: null, ...over };
}

function setup(opts: { settings?: PolicySettings; burstThreshold?: number } = {}) {
  const clock = new FakeClock();
  const shown: NotificationSpec[] = [];
  let current = opts.settings ?? settings();
  const policy = new NotificationPolicy({
    settings: () => current,
    onNotify: (n) => shown.push(n),
    now: () => clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    burstWindowMs: 10_000,
    burstThreshold: opts.burstThreshold ?? 5,
    backlogAgeMs: 120_000,
    backlogSettleMs: 1500,
  });
  let id = 0;
  const event = (over: Partial<HeraldEvent> = {}): HeraldEvent => ({
    id: String(++id),
    type: 'notification',
    topic: 'default',
    time: new Date(clock.now).toISOString(),
    title: `event ${id}`,
    priority: 3,
    ...over,
  });
  const job = (type: string, info: Partial<JobInfo> & { id: string }, over: Partial<HeraldEvent> = {}): HeraldEvent =>
    event({ type, title: 'from publisher', job: { status: 'running', ...info }, ...over });
  return {
    clock,
    shown,
    policy,
    event,
    job,
    set: (s: PolicySettings) => {
      current = s;
    },
  };
}

describe('urgency and words', () => {
  it('maps priority to urgency: 1-2 low, 3-4 normal, 5 critical', () => {
    expect([1, 2, 3, 4, 5].map(urgencyOf)).toEqual(['low', 'low', 'normal', 'normal', 'critical']);
    const { policy, shown, event } = setup();
    policy.handle(event({ priority: 1 }));
    policy.handle(event({ priority: 4 }));
    policy.handle(event({ priority: 5 }));
    expect(shown.map((n) => n.urgency)).toEqual(['low', 'normal', 'critical']);
  });

  it('writes a finished job for people: mark, name, duration, exit code, last output line', () => {
    const { policy, shown, job } = setup();
    policy.handle(
      job('job.failed', {
        id: 'j1',
        name: 'nightly build',
        status: 'failed',
        exitCode: 2,
        durationMs: 185_000,
        outputTail: 'compiling\nerror: disk full\n\n',
      }),
    );
    policy.handle(job('job.completed', { id: 'j2', name: 'tests', status: 'succeeded', durationMs: 4200, host: 'ci-1' }));
    expect(shown[0]).toMatchObject({
      tag: 'job:j1',
      title: '✗ nightly build failed (exit 2) in 3 min 5 s',
      body: 'error: disk full',
      silent: false,
    });
    expect(shown[1]).toMatchObject({ tag: 'job:j2', title: '✓ tests succeeded in 4.2 s', body: 'on ci-1' });
  });

  it('keeps a notification its own title and body, and only web urls', () => {
    const { policy, shown, event } = setup();
    policy.handle(event({ title: 'Backup done', body: 'all 3 disks', url: 'https://example.test/b' }));
    policy.handle(event({ title: 'x', url: 'javascript:alert(1)' }));
    expect(shown[0]).toMatchObject({
      tag: 'event:1',
      title: 'Backup done',
      body: 'all 3 disks',
      url: 'https://example.test/b',
      eventIds: ['1'],
    });
    expect(shown[1]!.url).toBeUndefined();
  });

  it("replaces a job's earlier notification: same tag from started to completed; progress is silent", () => {
    const { policy, shown, job } = setup();
    policy.handle(job('job.started', { id: 'deploy-7', name: 'deploy' }));
    policy.handle(job('job.progress', { id: 'deploy-7', name: 'deploy', outputTail: 'step 2/3' }));
    policy.handle(job('job.completed', { id: 'deploy-7', name: 'deploy', status: 'succeeded', durationMs: 61_000 }));
    expect(shown.map((n) => [n.tag, n.silent, n.title])).toEqual([
      ['job:deploy-7', false, '▶ deploy started'],
      ['job:deploy-7', true, '… deploy is running'],
      ['job:deploy-7', false, '✓ deploy succeeded in 1 min 1 s'],
    ]);
  });
});

describe('quiet rules', () => {
  it('do-not-disturb until turned off drops everything but urgent events when allowed', () => {
    const { policy, shown, event, set } = setup({
      settings: settings({ doNotDisturb: { enabled: true, until: null, allowUrgent: true } }),
    });
    policy.handle(event({ priority: 4 }));
    policy.handle(event({ priority: 5, title: 'prod down' }));
    expect(shown.map((n) => n.title)).toEqual(['prod down']);
    set(settings({ doNotDisturb: { enabled: true, until: null, allowUrgent: false } }));
    policy.handle(event({ priority: 5 }));
    expect(shown).toHaveLength(1);
  });

  it('do-not-disturb for a duration ends by itself', () => {
    const { policy, shown, event, clock, set } = setup();
    set(settings({ doNotDisturb: { enabled: true, until: clock.now + 60_000, allowUrgent: false } }));
    policy.handle(event({ title: 'during' }));
    clock.advance(60_001);
    policy.handle(event({ title: 'after' }));
    expect(shown.map((n) => n.title)).toEqual(['after']);
  });

  it('pause silences everything, urgent included, until its time or until resumed', () => {
    const { policy, shown, event, set, clock } = setup();
    set(settings({ paused: { until: null } }));
    policy.handle(event({ priority: 5 }));
    policy.handle(event({ type: 'herald.gap', topic: 'herald', gap: { afterId: '1', throughId: '9', missed: 8 } }));
    expect(shown).toHaveLength(0);
    set(settings({ paused: { until: clock.now + 1000 } }));
    policy.handle(event({ priority: 5 }));
    clock.advance(1001);
    policy.handle(event({ priority: 5, title: 'after pause' }));
    expect(shown.map((n) => n.title)).toEqual(['after pause']);
  });

  it('mutes a topic but not the others', () => {
    const { policy, shown, event } = setup({ settings: settings({ mutedTopics: ['noisy'] }) });
    policy.handle(event({ topic: 'noisy', priority: 5 }));
    policy.handle(event({ topic: 'build', title: 'kept' }));
    expect(shown.map((n) => n.title)).toEqual(['kept']);
  });
});

describe('gap and reset', () => {
  it('tells the user how many events were lost, and about a reset in a low voice', () => {
    const { policy, shown, event } = setup({ settings: settings({ mutedTopics: ['herald'] }) });
    policy.handle(event({ id: '40', type: 'herald.gap', topic: 'herald', title: 'x', gap: { afterId: '3', throughId: '40', missed: 37 } }));
    policy.handle(event({ id: '0', type: 'herald.reset', topic: 'herald', title: "The server's event log was reset", priority: 3 }));
    expect(shown[0]).toMatchObject({
      tag: 'herald:gap',
      title: '37 events were lost while you were away',
      urgency: 'normal',
      eventIds: ['40'],
    });
    expect(shown[0]!.body).toContain('4–40');
    expect(shown[1]).toMatchObject({ tag: 'herald:reset', urgency: 'low', title: "The server's event log was reset" });
    expect(
      describeEvent({
        id: '5',
        type: 'herald.gap',
        topic: 'herald',
        time: '',
        title: '',
        priority: 3,
        gap: { afterId: '4', throughId: '5', missed: 1 },
      }).title,
    ).toBe('1 event was lost while you were away');
  });
});

describe('bursts and backlog', () => {
  it('folds more than the threshold within the window into one job summary', () => {
    const { policy, shown, job, clock } = setup({ burstThreshold: 2 });
    const statuses = ['succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded', 'failed', 'succeeded'] as const;
    statuses.forEach((status, i) => {
      policy.handle(job(status === 'failed' ? 'job.failed' : 'job.completed', { id: `j${i}`, name: `job ${i}`, status }));
      clock.advance(100);
    });
    expect(shown).toHaveLength(2); // the first two show as they come
    clock.advance(10_000);
    expect(shown).toHaveLength(3);
    expect(shown[2]).toMatchObject({
      title: '5 jobs finished: 3 ✓, 2 ✗',
      body: 'Failed: job 3, job 5',
      eventIds: ['3', '4', '5', '6', '7'],
      tag: 'summary:3',
    });
    expect(clock.pending).toBe(0);
  });

  it('summarises mixed events by topic, lets urgent ones through at once, and starts over after a quiet window', () => {
    const { policy, shown, event, clock } = setup({ burstThreshold: 1 });
    policy.handle(event({ topic: 'build' }));
    policy.handle(event({ topic: 'deploy' }));
    policy.handle(event({ topic: 'deploy' }));
    policy.handle(event({ topic: 'build', priority: 5, title: 'urgent' }));
    policy.handle(event({ topic: 'alpha' }));
    expect(shown.map((n) => n.title)).toEqual(['event 1', 'urgent']);
    clock.advance(10_000);
    expect(shown[2]!.title).toBe('3 new events on deploy, alpha');
    clock.advance(20_000);
    policy.handle(event({ title: 'alone again' }));
    expect(shown.at(-1)!.title).toBe('alone again');
  });

  it('turns the backlog replayed after an absence into "N events while you were away"', () => {
    const { policy, shown, event, job, clock } = setup();
    const old = new Date(clock.now - 3 * 3600_000).toISOString();
    for (let i = 0; i < 36; i++) policy.handle(event({ time: old, topic: 'build' }));
    policy.handle(job('job.failed', { id: 'n', name: 'nightly', status: 'failed' }, { time: old }));
    expect(shown).toHaveLength(0);
    policy.handle(event({ title: 'live one' })); // arrives now: shown as it comes
    clock.advance(1500);
    expect(shown.map((n) => n.title)).toEqual(['live one', '37 events while you were away']);
    expect(shown[1]!.eventIds).toHaveLength(37);
    expect(shown[1]!.body).toContain('37 new events on build');
  });

  it('shows a lone old event as itself, and flush() and dispose() leave no timer', () => {
    const { policy, shown, event, clock } = setup({ burstThreshold: 0 });
    policy.handle(event({ time: new Date(clock.now - 600_000).toISOString(), title: 'old' }));
    policy.handle(event({ title: 'burst a' }));
    policy.handle(event({ title: 'burst b' }));
    policy.flush();
    expect(shown.map((n) => n.title)).toEqual(['old', '2 new events on default']);
    expect(clock.pending).toBe(0);
    policy.handle(event());
    policy.handle(event());
    expect(clock.pending).toBe(1);
    policy.dispose();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(shown).toHaveLength(2);
  });
});
