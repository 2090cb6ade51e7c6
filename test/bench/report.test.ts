// The report's goal count must never say more than the run measured: a speed goal against the
// peers is "not measured" when the peers did not run (a run with --only=herald), not "met".
import { describe, expect, it } from 'vitest';
import { checkGoals, type Figure } from '../../bench/report.ts';

const speed = (values: Figure['values']): Figure => ({
  key: 'broadcast.1000.p99',
  scenario: 'Broadcast, 1000 subs × 10/s',
  metric: 'latency p99',
  unit: 'ms',
  lowerIsBetter: true,
  speed: true,
  values,
});

const goalsOf = (figure: Figure) =>
  checkGoals({ figures: [figure], sessions: [], maxBacklogBytes: 4 * 1024 * 1024 }).filter((g) =>
    g.goal.startsWith('as fast as the faster peer'),
  );

describe('the report’s goals (bench/report.ts)', () => {
  it('judges Herald against the faster peer of each repetition', () => {
    const [goal] = goalsOf(speed({ herald: [20], seed: [25], 'better-sse': [40] }));
    expect(goal?.verdict).toBe('met');
    expect(goal?.value).toMatch(/^0\.80×/);
    const [slower] = goalsOf(speed({ herald: [30], seed: [25], 'better-sse': [40] }));
    expect(slower?.verdict).toBe('missed');
  });

  it('says "not measured" when no peer ran, never a ratio of 0', () => {
    const [goal] = goalsOf(speed({ herald: [20] }));
    expect(goal?.verdict).toBe('not measured');
    expect(goal?.value).toBe('not measured');
  });
});
