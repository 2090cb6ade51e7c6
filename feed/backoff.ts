// When to try again after a failure: the feed client (Node), the web app's bridge (browser), the
// CLI's publish retries and the desktop app's local-server restarts. Pure.

export interface BackoffOptions {
  /** The shortest delay. */
  minMs: number;
  /** The longest delay, however many failures in a row. */
  maxMs: number;
  /** The server's `retry:`, when known: never try sooner than it asks. */
  floorMs?: number;
}

/** Exponential backoff without jitter: min(max, base · 2^failures), never below the base (the
 * larger of min and the floor). For a restart of our own process, where no crowd comes back at once. */
export function backoffCeiling(failures: number, options: BackoffOptions): number {
  const base = Math.max(options.minMs, options.floorMs ?? 0);
  return Math.max(base, Math.min(options.maxMs, base * 2 ** Math.min(Math.max(failures, 0), 30)));
}

/**
 * Exponential backoff with full jitter: a delay drawn between the base and backoffCeiling, so
 * that clients dropped together do not come back together.
 */
export function reconnectDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.max(options.minMs, options.floorMs ?? 0);
  return Math.round(base + random() * (backoffCeiling(failures, options) - base));
}
