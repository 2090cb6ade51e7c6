// Publishing that survives a flaky network: every try of one event carries the same
// Idempotency-Key, so a try whose answer was lost (a timeout, a reset connection) can be made again
// without the server storing the event twice. What `herald send` and `herald run` use.
import type { HeraldEvent } from '../events/event.ts';
import { reconnectDelay } from '../feed/backoff.ts';
import { randomUuid } from '../server/random.ts';
import { monotonicMs } from './lean.ts';
import type { ServerTarget } from './options.ts';
import { DEFAULT_PUBLISH_TIMEOUT_MS, publish, PublishError } from './publish.ts';
import type { EventDraft } from './publish.ts';

export const DEFAULT_PUBLISH_ATTEMPTS = 3;
export const DEFAULT_RETRY_MIN_MS = 300;
export const DEFAULT_RETRY_MAX_MS = 3_000;

export interface RetryInfo {
  /** The try about to be made (2 for the first retry). */
  attempt: number;
  attempts: number;
  /** Why the last try failed, in a few words ("connection reset"). */
  detail: string;
  delayMs: number;
}

export interface RetryingPublishOptions {
  /** Tries in all, the first included. Default DEFAULT_PUBLISH_ATTEMPTS. */
  attempts?: number;
  /** Each try gives up after this long without an answer. Default DEFAULT_PUBLISH_TIMEOUT_MS. */
  timeoutMs?: number;
  /** All tries and the waits between them end within this many ms; the last tries get shorter
   * timeouts to fit. Default: no overall bound (attempts × timeoutMs plus the waits). */
  budgetMs?: number;
  /** The key every try carries. Default: a random UUID, one per call. */
  idempotencyKey?: string;
  /** Aborts the current try and any retry (a second Ctrl-C). */
  signal?: AbortSignal;
  /** Smallest and largest wait before a retry (exponential, full jitter). Defaults DEFAULT_RETRY_MIN_MS, DEFAULT_RETRY_MAX_MS. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Called before each retry, e.g. to print a progress line. */
  onRetry?(info: RetryInfo): void;
}

// The answer may have been lost after the server stored the event: only a keyed retry is safe.
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
// A proxy or tunnel in front of the server, or the server's store, failing for a moment.
const RETRY_STATUSES = new Set([502, 503, 504]);

/**
 * True for a failure where trying again may help and cannot double the event (it carries a key):
 * a timeout, a connection reset or closed under the request, a 502/503/504. Not for a refused
 * connection (no server: say so now) or any answer about the event itself (400, 401, 409, 413…).
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof PublishError)) return false;
  if (err.reason === 'timeout') return true;
  if (err.reason === 'unreachable') return err.code !== undefined && RESET_CODES.has(err.code);
  if (err.reason === 'server') return err.status !== undefined && RETRY_STATUSES.has(err.status);
  return false;
}

/**
 * POSTs the event like publish(), with an Idempotency-Key, and tries again (bounded, with backoff)
 * after a failure isRetryable() accepts. Resolves with the stored event (the same one whichever try
 * got through); rejects with the last PublishError, its message saying how many tries were made.
 */
export async function publishWithRetry(
  target: ServerTarget,
  event: EventDraft,
  options: RetryingPublishOptions = {},
): Promise<HeraldEvent> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_PUBLISH_ATTEMPTS);
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const key = options.idempotencyKey ?? randomUuid();
  const endsAt = options.budgetMs === undefined ? Infinity : monotonicMs() + options.budgetMs;
  for (let attempt = 1; ; attempt++) {
    const leftMs = endsAt - monotonicMs();
    // Share what is left of the budget between the tries still to come, a second at least each.
    const tryMs = Math.round(Math.min(timeoutMs, Math.max(1000, leftMs / (attempts - attempt + 1)), leftMs));
    try {
      const publishOptions = { timeoutMs: Math.max(1, tryMs), idempotencyKey: key };
      return await publish(target, event, options.signal ? { ...publishOptions, signal: options.signal } : publishOptions);
    } catch (err) {
      if (!isRetryable(err) || attempt >= attempts) throw triedTimes(err, attempt);
      const delayMs = reconnectDelay(attempt - 1, {
        minMs: options.retryMinMs ?? DEFAULT_RETRY_MIN_MS,
        maxMs: options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS,
      });
      // No time left for a try after the wait: the failure stands.
      if (monotonicMs() + delayMs + 100 > endsAt) throw triedTimes(err, attempt);
      options.onRetry?.({ attempt: attempt + 1, attempts, detail: (err as PublishError).detail, delayMs });
      if (!(await sleep(delayMs, options.signal))) throw new PublishError('aborted', 'publishing was cancelled', 'cancelled');
    }
  }
}

/** "connection reset; trying again in 0.4 s (try 2 of 3)": the progress line a command prints. */
export function retryLine(info: RetryInfo): string {
  return `${info.detail}; trying again in ${(info.delayMs / 1000).toFixed(1)} s (try ${info.attempt} of ${info.attempts})`;
}

function triedTimes(err: unknown, attempt: number): unknown {
  if (!(err instanceof PublishError) || attempt === 1) return err;
  const extra: { status?: number; field?: string; code?: string } = {};
  if (err.status !== undefined) extra.status = err.status;
  if (err.field !== undefined) extra.field = err.field;
  if (err.code !== undefined) extra.code = err.code;
  return new PublishError(err.reason, `${err.message} (tried ${attempt} times)`, `${err.detail} (tried ${attempt} times)`, extra);
}

/** Resolves true after ms, or false at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
