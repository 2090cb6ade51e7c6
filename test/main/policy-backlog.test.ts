// The notification policy with a very large backlog (a replay with a long retention): the summary
// is built without spreading the events into one call (which throws RangeError past ~200k).

import { describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { NotificationPolicy, type NotificationSpec } from '../../main/policy.ts';

describe('NotificationPolicy backlog summary', () => {
  it('summarises 300k backlog events without throwing, with the highest urgency among them', () => {
    const now = Date.parse('2030-01-01T12:00:00Z');
    const old = new Date(now - 3_600_000).toISOString();
    let timer: (() => void) | null = null;
    const shown: NotificationSpec[] = [];
    const policy = new NotificationPolicy({
      settings: () => ({ doNotDisturb: { enabled: false, until: null, allowUrgent: true }, mutedTopics: [], paused: null }),
      onNotify: (n) => shown.push(n),
      now: () => now,
      setTimer: (fn) => (timer = fn),
      clearTimer: () => (timer = null),
    });
    const count = 300_000;
    for (let i = 1; i <= count; i++) {
      const event: HeraldEvent = {
        id: String(i),
        type: 'notification',
        topic: 'build',
        time: old,
        title: 'done',
        priority: i === count ? 2 : 1,
      };
      policy.handle(event);
    }
    expect(timer).not.toBeNull();
    expect(() => timer!()).not.toThrow();
    expect(shown).toHaveLength(1);
    expect(shown[0]!.title).toBe(`${count} events while you were away`);
    expect(shown[0]!.eventIds).toHaveLength(count);
    expect(shown[0]!.urgency).toBe('low');
  });
});
