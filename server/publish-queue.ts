// PublishQueue: group commit. Publishes whose bodies arrive in the same turn of the event loop go
// to the store in one appendBatch (one SQLite transaction, one Redis script); each publisher is
// answered only after the store has the batch, and never after the fan-out. The store hands
// stored events to the hub itself (EventStore.follow): the SQLite store in the same synchronous
// step as the commit, the Redis store through its reader, so events stored by other servers reach
// this server's streams the same way. The hub only takes note in that step (the replay/live seam
// needs it there) and writes to the subscribers in later turns of the event loop, after the
// publishers of the batch have been answered (server/hub.ts).
// While a batch is with a networked store, the publishes that arrive meanwhile wait and go in the
// next batch, sent the moment the store answers: under load, one Redis script (one fsync) serves
// many publishes, and a burst costs a few round trips rather than one each. (A SQLite batch is
// committed synchronously, so nothing is ever in flight when the next one is due.)
// A publish with an idempotency claim goes through the same batch: the store checks and writes
// the key atomically with the batch, and a repeat is answered with the event stored before (it is
// not fanned out again).
//
// A store that is briefly unavailable (another program holds SQLite's write lock: the store says
// so with a transient StoreUnavailableError) is waited for here, with timers, never on the event
// loop: the batch is tried again a few times over storeWaitMs while every other request is
// served, then its publishers get the store's error (503 with Retry-After). Publishes that arrive
// meanwhile join the waiting batch.
import type { EventInput } from '../events/event.ts';
import { StoreUnavailableError } from './errors.ts';
import type { AppendOutcome, EventStore, IdempotencyClaim, StoredEvent } from './store.ts';

export interface PublishQueueOptions {
  /** How long a batch may wait for a store that is briefly unavailable before its publishers get 503, default DEFAULT_STORE_WAIT_MS. */
  storeWaitMs?: number;
}

export const DEFAULT_STORE_WAIT_MS = 1000;
const FIRST_RETRY_MS = 10;
const LONGEST_RETRY_MS = 100;

interface Pending {
  input: EventInput;
  claim: IdempotencyClaim | undefined;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

export class PublishQueue {
  readonly #store: EventStore;
  readonly #storeWaitMs: number;
  #pending: Pending[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  /** While a batch waits for the store: when the wait began, the last delay, and the timer of the next try (set between tries). */
  #wait: { since: number; delayMs: number; timer: NodeJS.Timeout | undefined } | undefined;
  #closed = false;
  /** Batches handed to the store and not answered yet (a networked store has several in flight). */
  readonly #inFlight = new Set<Promise<void>>();
  /** Batches committed and events in them, for /health and benchmarks; tries put off while the store was unavailable, for tests. */
  readonly stats = { batches: 0, events: 0, largestBatch: 0, storeWaits: 0 };

  constructor(store: EventStore, options: PublishQueueOptions = {}) {
    this.#store = store;
    this.#storeWaitMs = options.storeWaitMs ?? DEFAULT_STORE_WAIT_MS;
  }

  /** Resolves with the stored event once it is committed. */
  async publish(input: EventInput): Promise<StoredEvent> {
    return ((await this.publishClaimed(input, undefined)) as { event: StoredEvent }).event;
  }

  /**
   * Resolves once the batch holding it is committed: `stored` (new, fanned out), `repeat` (the
   * key was claimed before with the same hash: the event stored then) or `conflict`.
   */
  publishClaimed(input: EventInput, claim: IdempotencyClaim | undefined): Promise<AppendOutcome> {
    if (this.#closed) return Promise.reject(new Error('The server is shutting down: publish again once it is back.'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, claim, resolve, reject });
      this.#scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Hands everything waiting to the store, now, unless a batch is still with it (then as soon as it answers) or waits for the store (then when its next try is due). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#wait?.timer || this.#inFlight.size > 0) return;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const done = this.#store.appendBatch(batch.map((p) => (p.claim ? { input: p.input, claim: p.claim } : { input: p.input }))).then(
      (outcomes) => {
        this.#wait = undefined;
        let stored = 0;
        for (const outcome of outcomes) if (outcome.kind === 'stored') stored += 1;
        if (stored > 0) {
          this.stats.batches += 1;
          this.stats.events += stored;
          if (stored > this.stats.largestBatch) this.stats.largestBatch = stored;
        }
        batch.forEach((p, i) => p.resolve(outcomes[i]!));
      },
      (error: unknown) => {
        if (this.#waitForStore(error)) {
          // Tried again with whatever arrived meanwhile, in the order it came.
          this.#pending = batch.concat(this.#pending);
          return;
        }
        this.#wait = undefined;
        for (const p of batch) p.reject(error);
        if (this.#pending.length > 0) this.#scheduled ??= setImmediate(() => this.flush());
      },
    );
    this.#inFlight.add(done);
    void done.finally(() => {
      this.#inFlight.delete(done);
      if (this.#pending.length > 0) this.flush();
    });
  }

  /** Hands what is waiting to the store (one last try, if it was unavailable), refuses anything new, and resolves once every batch is answered. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#wait?.timer) clearTimeout(this.#wait.timer);
    if (this.#wait) this.#wait.timer = undefined;
    this.flush();
    // A batch still with the store sends what arrived meanwhile when it is answered.
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** After a failed append: schedules another try and returns true while the store may come back within storeWaitMs. */
  #waitForStore(error: unknown): boolean {
    if (!(error instanceof StoreUnavailableError) || !error.transient || this.#closed) return false;
    const now = performance.now();
    const wait = (this.#wait ??= { since: now, delayMs: FIRST_RETRY_MS / 2, timer: undefined });
    if (now - wait.since >= this.#storeWaitMs) return false;
    wait.delayMs = Math.min(LONGEST_RETRY_MS, wait.delayMs * 2, Math.max(1, this.#storeWaitMs - (now - wait.since)));
    this.stats.storeWaits += 1;
    wait.timer = setTimeout(() => {
      wait.timer = undefined;
      this.flush();
    }, wait.delayMs);
    return true;
  }
}
