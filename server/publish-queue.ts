// PublishQueue: group commit. Publishes whose bodies arrive in the same turn of the event loop go
// into one SQLite transaction; each publisher is answered only after that transaction committed,
// and the stored events go to the hub in the same synchronous step as the commit (the stream
// code relies on that: a reader that reads the log and goes live in one step misses nothing).
// A publish with an idempotency claim goes through the same batch: the log checks and writes the
// key in the batch's transaction, and a repeat is answered with the event stored before (it is
// not fanned out again).
import type { EventInput } from '../events/event.ts';
import type { Hub } from './hub.ts';
import type { AppendOutcome, EventLog, IdempotencyClaim, StoredEvent } from './log.ts';

interface Pending {
  input: EventInput;
  claim: IdempotencyClaim | undefined;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

export class PublishQueue {
  private readonly log: EventLog;
  private readonly hub: Hub;
  private pending: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;
  /** Batches committed and events in them, for /health and benchmarks. */
  readonly stats = { batches: 0, events: 0, largestBatch: 0 };

  private readonly onFanOutError: (error: unknown) => void;

  constructor(log: EventLog, hub: Hub, onFanOutError: (error: unknown) => void = () => {}) {
    this.log = log;
    this.hub = hub;
    this.onFanOutError = onFanOutError;
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

  /** Commits everything waiting, now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.log.appendBatch(batch.map((p) => (p.claim ? { input: p.input, claim: p.claim } : { input: p.input })));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const stored = outcomes.filter((o) => o.kind === 'stored').map((o) => o.event);
    if (stored.length === 0) {
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
      return;
    }
    this.stats.batches += 1;
    this.stats.events += stored.length;
    if (stored.length > this.stats.largestBatch) this.stats.largestBatch = stored.length;
    try {
      this.hub.publish(stored);
    } catch (error) {
      // Committed is committed: the publishers are still answered. A subscriber that missed the
      // event gets it from the log when it next resumes with its Last-Event-ID.
      this.onFanOutError(error);
    }
    batch.forEach((p, i) => p.resolve(outcomes[i]!));
  }

  /** Commits what is waiting and refuses anything new. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
