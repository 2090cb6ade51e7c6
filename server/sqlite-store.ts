// SqliteStore: the EventLog (one SQLite file, the embedded default) behind the EventStore
// interface. better-sqlite3 is synchronous, so every answer is ready at once; followers are told
// in the same synchronous step as the commit, as they always were. Node.
import { EventLog, type EventLogOptions } from './log.ts';
import {
  gapUnder,
  type AppendEntry,
  type AppendOutcome,
  type EventStore,
  type FollowListener,
  type ReadPage,
  type ResumeAnswer,
  type StoreHealth,
  type StoredEvent,
} from './store.ts';

export class SqliteStore implements EventStore {
  readonly kind = 'sqlite' as const;
  readonly log: EventLog;
  readonly where: string;
  readonly #followers: FollowListener[] = [];

  constructor(options: EventLogOptions) {
    this.log = new EventLog(options);
    this.where = this.log.file;
  }

  get epoch(): string {
    return this.log.epoch;
  }

  /** Followers are told in the commit's synchronous step, so everything stored has been handed on. */
  get followedId(): number {
    return this.log.lastId;
  }

  appendBatch(entries: readonly AppendEntry[]): Promise<AppendOutcome[]> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.log.appendBatch(entries);
    } catch (error) {
      return Promise.reject(error);
    }
    const stored: StoredEvent[] = [];
    for (const outcome of outcomes) if (outcome.kind === 'stored') stored.push(outcome.event);
    if (stored.length > 0) for (const listener of this.#followers) listener(stored);
    return Promise.resolve(outcomes);
  }

  readAfter(afterId: number, options: { topics?: readonly string[] | null; limit: number }): Promise<ReadPage> {
    const events = this.log.readAfter(afterId, options);
    const full = events.length >= options.limit;
    // Not full: the read saw everything stored, up to the newest id.
    const throughId = full ? events.at(-1)!.id : Math.max(afterId, this.log.lastId);
    // In the same synchronous step as the read: had retention gone past afterId, it says so.
    const gap = gapUnder(afterId, { lastId: this.log.lastId, oldestId: this.log.oldestIdNow });
    return Promise.resolve({ events, throughId, full, ...(gap ? { gap } : {}) });
  }

  readLast(count: number, topics?: readonly string[] | null): Promise<StoredEvent[]> {
    return Promise.resolve(this.log.readLast(count, topics));
  }

  planResume(afterId: number, epoch?: string): Promise<ResumeAnswer> {
    return Promise.resolve({ plan: this.log.planResume(afterId, epoch), epoch: this.log.epoch, lastId: this.log.lastId });
  }

  follow(listener: FollowListener): void {
    this.#followers.push(listener);
  }

  /** Retention of a log opened far over its bound (1M events at 100k kept) runs in steps from here on. */
  afterListen(): void {
    this.log.startPruning();
  }

  /** A SQLite log never changes epoch under a running server. */
  onReset(_listener: (epoch: string) => void): void {}

  /** Down once the log's files were found replaced under it (it takes no more writes: see EventLog.checkFiles). */
  health(): Promise<StoreHealth> {
    const failure = this.log.failed;
    return Promise.resolve({
      kind: 'sqlite',
      up: failure === undefined,
      where: this.where,
      ...(failure ? { error: failure.message } : {}),
      storedEvents: this.log.count,
      lastId: String(this.log.lastId),
      epoch: this.log.epoch,
    });
  }

  close(): Promise<void> {
    this.log.close();
    return Promise.resolve();
  }
}
