// PublishQueue: group commit. Publishes whose bodies arrive in the same turn of the event loop go
// to the store in one appendBatch (one SQLite transaction, one Redis script); each publisher is
// answered only after the store has the batch. The store hands stored events to the hub itself
// (EventStore.follow): the SQLite store in the same synchronous step as the commit, before the
// publishers are answered; the Redis store through its reader, so events stored by other servers
// reach this server's streams the same way.
// A publish with an idempotency claim goes through the same batch: the store checks and writes
// the key atomically with the batch, and a repeat is answered with the event stored before (it is
// not fanned out again).
import type { EventInput } from '../events/event.ts';
import type { AppendOutcome, EventStore, IdempotencyClaim, StoredEvent } from './store.ts';

interface Pending {
  input: EventInput;
  claim: IdempotencyClaim | undefined;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

export class PublishQueue {
  private readonly store: EventStore;
  private pending: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;
  /** Batches handed to the store and not answered yet (a networked store has several in flight). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Batches committed and events in them, for /health and benchmarks. */
  readonly stats = { batches: 0, events: 0, largestBatch: 0 };

  constructor(store: EventStore) {
    this.store = store;
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
    if (this.closed) return Promise.reject(new Error('The server is shutting down: publish again once it is back.'));
    return new Promise((resolve, reject) => {
      this.pending.push({ input, claim, resolve, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Hands everything waiting to the store, now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const done = this.store.appendBatch(batch.map((p) => (p.claim ? { input: p.input, claim: p.claim } : { input: p.input }))).then(
      (outcomes) => {
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
        for (const p of batch) p.reject(error);
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Hands what is waiting to the store, refuses anything new, and resolves once every batch is answered. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    await Promise.all([...this.inFlight]);
  }
}
