// When to try again after a failed connection: shared by the feed client (Node) and the web
// app's bridge (browser). Pure.

export interface BackoffOptions {
  /** The shortest delay. */
  minMs: number;
  /** The longest delay, however many failures in a row. */
  maxMs: number;
  /** The server's `retry:`, when known: never try sooner than it asks. */
  floorMs?: number;
}

/**
 * Exponential backoff with full jitter: a delay drawn between the floor and
 * min(max, floor · 2^failures), so that clients dropped together do not come back together.
 */
export function reconnectDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.max(options.minMs, options.floorMs ?? 0);
  const cap = Math.max(base, Math.min(options.maxMs, base * 2 ** Math.min(Math.max(failures, 0), 30)));
  return Math.round(base + random() * (cap - base));
}
