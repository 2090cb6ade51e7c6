import { describe, expect, it } from 'vitest';
import { reconnectDelay } from '../../feed/backoff.ts';

describe('reconnectDelay', () => {
  const options = { minMs: 1000, maxMs: 60_000 };

  it('doubles the range with each failure, from the minimum', () => {
    expect(reconnectDelay(0, options, () => 1)).toBe(1000);
    expect(reconnectDelay(1, options, () => 1)).toBe(2000);
    expect(reconnectDelay(3, options, () => 1)).toBe(8000);
    expect(reconnectDelay(3, options, () => 0)).toBe(1000);
    expect(reconnectDelay(3, options, () => 0.5)).toBe(4500);
  });

  it('is capped at the maximum however many failures', () => {
    expect(reconnectDelay(10, options, () => 1)).toBe(60_000);
    expect(reconnectDelay(10_000, options, () => 1)).toBe(60_000);
  });

  it("never tries sooner than the server's retry: asks, even above the maximum", () => {
    expect(reconnectDelay(0, { ...options, floorMs: 3000 }, () => 0)).toBe(3000);
    expect(reconnectDelay(5, { ...options, floorMs: 3000 }, () => 1)).toBe(60_000);
    expect(reconnectDelay(5, { ...options, floorMs: 90_000 }, () => 1)).toBe(90_000);
  });

  it('spreads clients dropped together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(4, options)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) (expect(d).toBeGreaterThanOrEqual(1000), expect(d).toBeLessThanOrEqual(16_000));
  });
});
