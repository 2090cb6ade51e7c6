// What `herald send` and `herald run` use instead of Node modules that cost their start-up more
// than the work itself: a monotonic clock without perf_hooks (the `performance` global loads it
// on first use, ~2.5 ms under load; bench/cli.ts), and random UUIDs without node:crypto
// (server/random.ts). Node.

/** Milliseconds on a monotonic clock (never jumps with the wall clock), like performance.now(). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
