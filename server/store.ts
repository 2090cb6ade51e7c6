// EventStore: what the HTTP side (publish queue, streams, /history, /health) needs from wherever
// events are kept: the SQLite EventLog on one machine (server/sqlite-store.ts, the default) or a
// Redis Stream that several servers share (server/redis-store.ts). Node.
//
// What every store promises, so that the hub and the streams need not know which one runs:
// - ids are decimal, strictly increasing, never reused (across restarts, and across servers);
// - appendBatch resolves only once the store has the events (all or nothing per call), with the
//   AppendOutcome contract of server/log.ts for idempotency claims;
// - follow() hands every stored event to the server exactly once, in id order, after it is stored
//   (the SQLite store in the same synchronous step as its commit; the Redis store from its one
//   blocking reader, so events other servers stored arrive too);
// - what is kept is one contiguous run of ids [oldest, last], so a resume plan can name a gap;
// - the epoch names the log: a cursor from another epoch gets a reset.
import type { StoreKind } from '../events/http.ts';
import type { GapInfo } from '../events/event.ts';
import type { AppendEntry, AppendOutcome, ResumePlan, StoredEvent } from './log.ts';

export type { AppendEntry, AppendOutcome, IdempotencyClaim, ResumePlan, StoredEvent } from './log.ts';

/** One page of a read in id order. */
export interface ReadPage {
  /** The events after the id asked for that match the topics, oldest first. */
  events: StoredEvent[];
  /**
   * Every stored event with an id in (after, throughId] was looked at: those not in `events` did
   * not match the topics. When the page is not full, throughId is the newest id stored when the
   * read ran (or `after`), which is what the replay/live seam relies on (server/stream.ts).
   */
  throughId: number;
  /** True when the read stopped at `limit`: read on from throughId for more. */
  full: boolean;
  /**
   * Set when retention removed events after the id asked for before this read could see them (a
   * replay or a /history walk that the pruning overtook): the reader is owed a gap notice for
   * (gap.afterId, gap.throughId] before `events`, as a resume from that id would be.
   */
  gap?: GapInfo;
}

/** How a resume goes, and the log it was planned against. */
export interface ResumeAnswer {
  plan: ResumePlan;
  /** The epoch at planning time (a reset notice carries it). */
  epoch: string;
  /** The newest id stored at planning time. */
  lastId: number;
}

/** What /health says about the store. */
export interface StoreHealth {
  kind: StoreKind;
  /** False while the store cannot be reached (a networked store); publishes then get 503. */
  up: boolean;
  /** Where the events live: a file, or a Redis address without its password. */
  where: string;
  /** Why it is down, when it is. */
  error?: string;
  storedEvents?: number;
  lastId: string;
  epoch: string;
}

export type { StoreKind };

/** Receives every stored event once, in id order. */
export type FollowListener = (events: readonly StoredEvent[]) => void;

export interface EventStore {
  readonly kind: StoreKind;
  /** Where the events live, for log lines (a file, a Redis address without its password). */
  readonly where: string;
  /** The epoch as this server last saw it (sent as Herald-Log-Epoch when a stream opens). */
  readonly epoch: string;
  /** The newest id this server has handed to its followers: a stream without a cursor starts after it. */
  readonly followedId: number;
  /** Stores the entries (all or nothing) and says per entry how it went; see AppendOutcome. */
  appendBatch(entries: readonly AppendEntry[]): Promise<AppendOutcome[]>;
  /** Events after `afterId`, oldest first, at most `limit`, optionally only these topics. */
  readAfter(afterId: number, options: { topics?: readonly string[] | null; limit: number }): Promise<ReadPage>;
  /** The `count` newest events (oldest first), optionally only these topics. */
  readLast(count: number, topics?: readonly string[] | null): Promise<StoredEvent[]>;
  /** What a client resuming after `afterId` (with the epoch its cursor came from, if known) is owed first. */
  planResume(afterId: number, epoch?: string): Promise<ResumeAnswer>;
  /** Adds a follower: every event stored from now on, once, in id order. */
  follow(listener: FollowListener): void;
  /** Called when the log the server was following was replaced (a new epoch): streams must start over. */
  onReset(listener: (epoch: string) => void): void;
  /** Called once the server listens: work that must not hold up its start (the SQLite log's
   * retention, pruned in steps). Optional: a store with none leaves it out. */
  afterListen?(): void;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

/**
 * What a read after `afterId` is owed when retention went past it meanwhile: the same rule as a
 * resume from that id (no gap for 0, which means "everything kept"), judged against the oldest id
 * kept when the read ran.
 */
export function gapUnder(afterId: number, log: { lastId: number; oldestId: number | undefined }): GapInfo | undefined {
  if (afterId === 0 || afterId >= log.lastId) return undefined;
  const plan = planResumeFrom(afterId, undefined, { epoch: '', ...log });
  return plan.kind === 'gap' ? plan.gap : undefined;
}

/**
 * The resume rule every store shares, from what the log holds: a cursor from another epoch, or
 * newer than anything the log assigned, is reset; one older than what is kept is owed a gap.
 */
export function planResumeFrom(
  afterId: number,
  clientEpoch: string | undefined,
  log: { epoch: string; lastId: number; oldestId: number | undefined },
): ResumePlan {
  if (afterId > 0 && clientEpoch !== undefined && clientEpoch !== log.epoch) return { kind: 'reset' };
  if (afterId > log.lastId) return { kind: 'reset' };
  if (afterId === 0 || afterId === log.lastId) return { kind: 'continue' };
  const throughId = (log.oldestId ?? log.lastId + 1) - 1;
  if (afterId >= throughId) return { kind: 'continue' };
  const gap: GapInfo = { afterId: String(afterId), throughId: String(throughId), missed: throughId - afterId };
  return { kind: 'gap', gap };
}
