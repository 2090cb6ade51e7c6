// EventLog: Herald's append-only event store, one SQLite file (better-sqlite3, WAL).
//
// Why the ids can be trusted by clients:
// - ids are assigned inside the write transaction from sqlite_sequence (AUTOINCREMENT keeps the
//   highest id ever handed out even after retention deletes every row), so an id is never
//   reused, across restarts too;
// - retention only ever deletes a prefix (the oldest ids), so what is kept is always one
//   contiguous run [oldestId, lastId] and "what was lost" is exactly the ids below oldestId;
// - the log is given a random epoch when it is created (kept in the same file), so an id from
//   another log (the data directory wiped or replaced, another server at the same address) is
//   told apart from an id of this one, whatever the two logs' sizes.
//
// Idempotency keys (a publisher's Idempotency-Key, a CI provider's delivery id) live in the same
// file: a key row is written in the same transaction as its event and deleted in the same
// transaction as it, so a crash can never leave an event without its key (a retry would store it
// twice) or a key without its event.
//
// What it does not let happen to the file (an attack and fault run found each of these):
// - two servers on one data directory: a LogLock (server/log-lock.ts) is taken before the file
//   is opened;
// - a herald.db that is empty, not SQLite or not Herald's silently becoming a new log: it is a
//   startup error unless the caller asks for a new log (newLog), and then the old file is kept;
//   a new log is built under another name and renamed into place, so a crash while creating it
//   never leaves an empty herald.db behind;
// - another program holding SQLite's write lock freezing the server: the busy timeout is 0 while
//   serving (better-sqlite3 would busy-wait on the event loop), so a write fails at once with a
//   StoreUnavailableError the publish queue retries later, and reads (WAL) go on;
// - the WAL deleted under the running server, then a crash, losing what was acknowledged since
//   the last checkpoint: before acknowledging, and every fileCheckMs, the log checks that its
//   files on disk are still the ones it writes; if not, what the connection still holds is
//   checkpointed into herald.db and the log stops taking writes until a restart;
// - one prepared statement per topic-filter size, kept forever (a memory leak any client could
//   drive): a fixed set of statements serves any filter, on an index of (topic, id).
//
// Retention never holds up start-up or a request: opening a log does not prune (a log of 1M
// events at the default 100k used to delete 900k rows, ~3 s, before the server listened), and no
// step deletes more than pruneStepRows. The server calls startPruning() once it listens; the rest
// goes one step per turn of the event loop, publishes and reads in between. A publish deletes in
// its own transaction no more rows than it adds (at the bound, the log stays at the bound; over
// it, the excess does not grow and the background steps bring it down). Until then the log simply
// holds more than it keeps: those events are still served, and what a resume is owed is always
// said from the oldest id actually kept, by planResume and by every read after it (a replay that
// the pruning overtook is owed a gap notice for what went under it: see SqliteStore.readAfter).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LIMITS, type EventInput, type GapInfo, type HeraldEvent } from '../events/event.ts';
import { randomBytes } from './random.ts';
import { prepareDataDir } from './data-dir.ts';
import { LogOpenError, StoreUnavailableError } from './errors.ts';
import { LogLock } from './log-lock.ts';
import { planResumeFrom } from './store.ts';

export interface RetentionOptions {
  /** Keep at most this many events (default 100000). */
  maxEvents?: number;
  /** Drop events older than this (default 30 days). */
  maxAgeMs?: number;
}

export const DEFAULT_RETENTION: Required<RetentionOptions> = { maxEvents: 100_000, maxAgeMs: 30 * 24 * 3600 * 1000 };

export interface EventLogOptions {
  /** Directory holding herald.db (created if missing). */
  dataDir: string;
  retention?: RetentionOptions;
  /**
   * false (default): synchronous=NORMAL. A commit is written to the WAL file before we answer,
   * so it survives the process being killed (kill -9, a crash): the data is in the OS's hands.
   * It does NOT survive a power cut or an OS crash in the instant after the commit (the last
   * transactions may roll back; the database stays consistent).
   * true: synchronous=FULL, an fsync per commit (per batch), which survives those too.
   */
  fsync?: boolean;
  /** Clock for event times and age retention (tests). */
  now?: () => number;
  /** Default false: an existing herald.db that is empty, not SQLite or not Herald's is a startup error.
   * true: it is moved aside (herald.db.broken-<time>) and a new, empty log is started. */
  newLog?: boolean;
  /** How often to check that the files on disk are still the ones the log writes, default DEFAULT_FILE_CHECK_MS (0 = only before acknowledging). */
  fileCheckMs?: number;
  /** What the log does on its own (a new log started, its files replaced, an index built). Default: nothing. */
  log?: (line: string) => void;
  /** The most rows one retention step deletes, default PRUNE_STEP_ROWS. */
  pruneStepRows?: number;
}

export const DEFAULT_FILE_CHECK_MS = 2000;
/** The most rows one retention step deletes: ~1–2 µs a row with its index and keys (measured on a
 * shared 2-core VM), so a step holds the event loop a few ms, whatever the log's excess. */
export const PRUNE_STEP_ROWS = 2000;
/** How long opening may wait for another program's lock (nothing is served yet, so waiting blocks no one). */
const STARTUP_BUSY_TIMEOUT_MS = 5000;
/** Seconds a client is told to wait after a write found the log locked. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** One stored event: its id, its type (the SSE `event:`) and its JSON, serialized once. */
export interface StoredEvent {
  id: number;
  type: string;
  topic: string;
  json: string;
}

/**
 * What makes a publish idempotent: the publisher's key and a hash of the event it asked for. The
 * log keeps the pair for as long as it keeps the event.
 */
export interface IdempotencyClaim {
  key: string;
  /** Any stable digest of what was asked for (the server hashes the validated event). */
  bodyHash: string;
}

/** One event to append, with its claim when the publisher sent a key. */
export interface AppendEntry {
  input: EventInput;
  claim?: IdempotencyClaim;
}

/**
 * How one entry of appendBatch went:
 * - `stored`: a new event;
 * - `repeat`: the key was claimed before with the same hash: nothing stored, `event` is the one
 *   stored then (also when the first claim is earlier in the same batch);
 * - `conflict`: the key was claimed before with another hash: nothing stored.
 *
 * Any other store (issue #12's Redis Stream) keeps the same contract: the check and the write of
 * the key happen atomically with the event's append, and the key goes when its event goes.
 */
export type AppendOutcome =
  { kind: 'stored'; event: StoredEvent } | { kind: 'repeat'; event: StoredEvent } | { kind: 'conflict'; key: string };

/** How a resume from a given id goes. */
export type ResumePlan =
  | { kind: 'continue' }
  | { kind: 'gap'; gap: GapInfo }
  /** The id is from another log (another epoch, or newer than anything this log assigned). */
  | { kind: 'reset' };

interface Row {
  id: number;
  type: string;
  topic: string;
  json: string;
}

/** A file as the OS knows it: a deleted and re-created file (same name) is another file. */
interface FileIdentity {
  dev: number;
  ino: number;
}

export class EventLog {
  readonly file: string;
  /** This log's epoch: 16 hex digits, chosen when the log was created. */
  readonly epoch: string;
  readonly #db: Database.Database;
  readonly #lock: LogLock;
  readonly #retention: Required<RetentionOptions>;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  #lastIdValue: number;
  #oldestIdValue: number | undefined;
  #oldestTimeMs: number | undefined;
  #countValue: number;
  readonly #statements: {
    seq: Database.Statement;
    insert: Database.Statement;
    deleteBefore: Database.Statement;
    deleteKeysBefore: Database.Statement;
    findKey: Database.Statement;
    insertKey: Database.Statement;
    byId: Database.Statement;
    oldest: Database.Statement;
    firstKeptByAgeIn: Database.Statement;
    after: Database.Statement;
    last: Database.Statement;
    topicAfter: Database.Statement;
    topicLast: Database.Statement;
    topicIdsAfter: Database.Statement;
    topicIdsLast: Database.Statement;
    byIds: Database.Statement;
  };
  readonly #appendTx: Database.Transaction<(entries: readonly AppendEntry[], timeMs: number) => AppendOutcome[]>;
  /** The files this connection writes, as they were when it opened them. */
  readonly #identity: { db: FileIdentity; wal: FileIdentity };
  readonly #fileCheck: NodeJS.Timeout | undefined;
  /** Set once the log's files were found removed or replaced: every later write fails with it. */
  #failure: StoreUnavailableError | undefined;
  /** Background pruning started (startPruning), and its next step when one is scheduled. */
  #pruning = false;
  #pruneStep: NodeJS.Immediate | undefined;
  readonly #pruneStepRows: number;
  /** Retention steps taken and the most rows one of them deleted (tests, and anyone asking how it went). */
  readonly #pruneCounts = { steps: 0, rows: 0, largestStep: 0 };

  constructor(options: EventLogOptions) {
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#pruneStepRows = options.pruneStepRows ?? PRUNE_STEP_ROWS;
    if (!Number.isInteger(this.#pruneStepRows) || this.#pruneStepRows < 1)
      throw new RangeError(`pruneStepRows must be a whole number above 0 (got ${this.#pruneStepRows})`);
    prepareDataDir(options.dataDir);
    this.file = path.join(options.dataDir, 'herald.db');
    this.#lock = LogLock.acquire(options.dataDir);
    let db: Database.Database | undefined;
    try {
      db = openLogFile(this.file, options.newLog ?? false, this.#log);
      db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
      upgradeSchema(db, this.#log);
      this.epoch = db.prepare("SELECT value FROM meta WHERE key = 'epoch'").pluck().get() as string;
      // From here on, never wait for a lock: better-sqlite3 would busy-wait on the event loop
      // (5 s by default), freezing every request. A write that finds the lock taken fails at once.
      db.pragma('busy_timeout = 0');
      this.#identity = { db: identityOf(this.file)!, wal: identityOf(`${this.file}-wal`)! };
      if (!this.#identity.db || !this.#identity.wal) throw new Error(`${this.file} or its WAL is missing right after opening it`);
    } catch (error) {
      db?.close();
      this.#lock.release();
      throw error;
    }
    this.#db = db;
    this.#statements = {
      seq: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck(),
      insert: db.prepare('INSERT INTO events (id, time_ms, topic, type, json) VALUES (?, ?, ?, ?, ?)'),
      deleteBefore: db.prepare('DELETE FROM events WHERE id < ?'),
      deleteKeysBefore: db.prepare('DELETE FROM idempotency_keys WHERE event_id < ?'),
      findKey: db.prepare('SELECT body_hash, event_id FROM idempotency_keys WHERE key = ?'),
      insertKey: db.prepare('INSERT OR REPLACE INTO idempotency_keys (key, body_hash, event_id) VALUES (?, ?, ?)'),
      byId: db.prepare('SELECT id, type, topic, json FROM events WHERE id = ?'),
      oldest: db.prepare('SELECT id, time_ms FROM events ORDER BY id LIMIT 1'),
      // Within one step's window only: no index on time_ms, and an old log must not be scanned whole.
      firstKeptByAgeIn: db.prepare('SELECT id FROM events WHERE id >= ? AND id < ? AND time_ms >= ? ORDER BY id LIMIT 1').pluck(),
      after: db.prepare('SELECT id, type, topic, json FROM events WHERE id > ? ORDER BY id LIMIT ?'),
      last: db.prepare('SELECT id, type, topic, json FROM events ORDER BY id DESC LIMIT ?'),
      // A topic filter walks the (topic, id) index: a rare topic over 100k events is a seek, not a scan.
      topicAfter: db.prepare(
        `SELECT id, type, topic, json FROM events INDEXED BY ${TOPIC_INDEX} WHERE topic = ? AND id > ? ORDER BY id LIMIT ?`,
      ),
      topicLast: db.prepare(`SELECT id, type, topic, json FROM events INDEXED BY ${TOPIC_INDEX} WHERE topic = ? ORDER BY id DESC LIMIT ?`),
      topicIdsAfter: db.prepare(`SELECT id FROM events INDEXED BY ${TOPIC_INDEX} WHERE topic = ? AND id > ? ORDER BY id LIMIT ?`).pluck(),
      topicIdsLast: db.prepare(`SELECT id FROM events INDEXED BY ${TOPIC_INDEX} WHERE topic = ? ORDER BY id DESC LIMIT ?`).pluck(),
      byIds: db.prepare('SELECT id, type, topic, json FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id'),
    };
    this.#lastIdValue = this.#readSeq();
    // No COUNT(*) (a scan of the whole table): what is kept is one run of ids, so the count is
    // lastId - oldestId + 1 (refreshOldest).
    this.#countValue = 0;
    this.#refreshOldest();

    this.#appendTx = db.transaction((entries: readonly AppendEntry[], timeMs: number) => {
      // Read inside the write transaction so a second process on the same file cannot hand out the same id.
      let id = this.#readSeq();
      const firstNew = id + 1;
      const time = new Date(timeMs).toISOString();
      const outcomes: AppendOutcome[] = [];
      for (const { input, claim } of entries) {
        if (claim) {
          const earlier = this.#claimed(claim);
          if (earlier) {
            outcomes.push(earlier);
            continue;
          }
        }
        id += 1;
        const { type, topic, ...rest } = input;
        const event: HeraldEvent = { id: String(id), type, topic, time, ...rest };
        const json = JSON.stringify(event);
        this.#statements.insert.run(id, timeMs, event.topic, event.type, json);
        if (claim) this.#statements.insertKey.run(claim.key, claim.bodyHash, id);
        outcomes.push({ kind: 'stored', event: { id, type: event.type, topic: event.topic, json } });
      }
      // Retention by count in the same transaction, no more rows than this batch adds: a log at
      // its bound stays there, and one far over it is brought down by the background steps, not
      // by a publisher waiting for its 201.
      const added = id - firstNew + 1;
      const oldest = this.#oldestIdValue ?? firstNew;
      const below = Math.min(id - this.#retention.maxEvents + 1, oldest + added);
      if (added > 0 && this.#retention.maxEvents > 0 && oldest < below) {
        this.#statements.deleteKeysBefore.run(below);
        this.#statements.deleteBefore.run(below);
      }
      return outcomes;
    });
    const checkMs = options.fileCheckMs ?? DEFAULT_FILE_CHECK_MS;
    if (checkMs > 0) {
      this.#fileCheck = setInterval(() => this.checkFiles(), checkMs);
      this.#fileCheck.unref();
    }
  }

  /** Stores the events in one transaction and returns them once committed and safe on disk (see appendBatch). */
  append(inputs: EventInput[]): StoredEvent[] {
    return this.appendBatch(inputs.map((input) => ({ input }))).map((outcome) => (outcome as { event: StoredEvent }).event);
  }

  /**
   * Stores the entries in one transaction (all or nothing) and says, per entry, whether it was
   * stored, is a repeat of a claim made before (same key, same hash: nothing stored) or a conflict
   * (same key, another hash: nothing stored). See AppendOutcome. Returns once committed and safe
   * on disk. Throws StoreUnavailableError when the log cannot take them now: `transient` when
   * another program holds SQLite's write lock (nothing was stored; try again shortly), not
   * transient once the log's files were found replaced (see checkFiles).
   */
  appendBatch(entries: readonly AppendEntry[]): AppendOutcome[] {
    if (entries.length === 0) return [];
    if (this.#failure) throw this.#failure;
    // A batch committed into files that are no longer on disk could be neither kept nor taken
    // back: check before writing (two stat calls, a few microseconds)...
    if (!this.#filesIntact()) {
      this.#filesChanged();
      throw this.#failure!;
    }
    this.#maybePruneByAge();
    const timeMs = this.#now();
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.#appendTx.immediate(entries, timeMs);
    } catch (error) {
      if (isBusy(error)) {
        throw new StoreUnavailableError(
          `The event log ${this.file} is locked by another program (a backup or the sqlite3 shell?): the event was not stored. Try again shortly.`,
          {
            transient: true,
            retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
            cause: error,
          },
        );
      }
      throw error;
    }
    const stored = outcomes.filter((o) => o.kind === 'stored').map((o) => o.event);
    if (stored.length > 0) {
      this.#lastIdValue = stored.at(-1)!.id;
      this.#countValue += stored.length;
      if (this.#oldestIdValue === undefined) {
        this.#oldestIdValue = stored[0]!.id;
        this.#oldestTimeMs = timeMs;
      }
      if (this.#retention.maxEvents > 0 && this.#countValue > this.#retention.maxEvents) this.#refreshOldest();
      if (this.#pruneDue()) this.#schedulePrune();
    }
    // ...and after, before anyone is told it is stored: they may have gone in between.
    if (!this.#filesIntact() && !this.#filesChanged()) throw this.#failure!;
    return outcomes;
  }

  /** Why the log takes no more writes (its files were removed or replaced), if it does not. */
  get failed(): StoreUnavailableError | undefined {
    return this.#failure;
  }

  /**
   * Checks that herald.db and its WAL on disk are still the files this connection writes (it runs
   * every fileCheckMs, and around every append). If one was deleted or replaced (tampering, a
   * careless cleanup), committed events live only in files no one can open again, and a crash
   * would lose them: see filesChanged.
   */
  checkFiles(): void {
    if (!this.#failure && !this.#filesIntact()) this.#filesChanged();
  }

  #filesIntact(): boolean {
    return sameFile(identityOf(this.file), this.#identity.db) && sameFile(identityOf(`${this.file}-wal`), this.#identity.wal);
  }

  /**
   * The files changed: what the connection holds (its WAL is still open, deleted or not) is
   * checkpointed into herald.db when herald.db is still the file on disk, and the log stops taking
   * writes, with an error that says so, until the server is restarted. Returns whether everything
   * committed so far is safe in herald.db.
   */
  #filesChanged(): boolean {
    const dbNow = identityOf(this.file);
    const walNow = identityOf(`${this.file}-wal`);
    const dbIntact = sameFile(dbNow, this.#identity.db);
    const what = !dbIntact
      ? `${this.file} was ${dbNow ? 'replaced' : 'deleted'}`
      : `its WAL ${this.file}-wal was ${walNow ? 'replaced' : 'deleted'}`;
    let rescued = false;
    if (dbIntact) {
      try {
        const [result] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
        rescued = result !== undefined && result.busy === 0 && result.checkpointed === result.log;
      } catch (error) {
        this.#log(`copying the lost WAL into ${this.file} failed: ${(error as Error).message}`);
      }
    }
    const saved = rescued
      ? 'Every event acknowledged so far was copied into herald.db'
      : 'Events acknowledged since the last checkpoint may be lost if the server stops now';
    this.#failure = new StoreUnavailableError(
      `The event log's files changed under the running server (${what}). ${saved}; new events are refused until the server is restarted: stop it and start it again.`,
      { transient: false, retryAfterSeconds: 60 },
    );
    this.#log(`ERROR: ${this.#failure.message}`);
    return rescued;
  }

  /** The newest id ever assigned (0 when none): the id the next event follows. */
  get lastId(): number {
    return this.#lastIdValue;
  }

  /** The oldest id still kept, if any. */
  get oldestId(): number | undefined {
    this.#maybePruneByAge();
    return this.#oldestIdValue;
  }

  /** The oldest id kept as of the last read or write, without a retention step first: what a read
   * just returned is judged against it (SqliteStore.readAfter). */
  get oldestIdNow(): number | undefined {
    return this.#oldestIdValue;
  }

  /** Retention steps taken so far, rows they deleted, and the most one step deleted. */
  get pruneStats(): { steps: number; rows: number; largestStep: number } {
    return { ...this.#pruneCounts };
  }

  get count(): number {
    this.#maybePruneByAge();
    return this.#countValue;
  }

  /**
   * What a client resuming after `afterId` is owed before the events themselves. 0 = everything
   * kept. `epoch` is the epoch the client's cursor came from, when it knows one: a cursor from
   * another log means nothing here, whatever its value.
   */
  planResume(afterId: number, epoch?: string): ResumePlan {
    this.#maybePruneByAge();
    return planResumeFrom(afterId, epoch, { epoch: this.epoch, lastId: this.#lastIdValue, oldestId: this.#oldestIdValue });
  }

  /** Events after `afterId`, oldest first, optionally only these topics (at most LIMITS.filterTopics). */
  readAfter(afterId: number, options: { topics?: readonly string[] | null; limit: number }): StoredEvent[] {
    this.#maybePruneByAge();
    const topics = distinctTopics(options.topics);
    const { limit } = options;
    if (topics.length === 0) return this.#statements.after.all(afterId, limit) as Row[];
    if (topics.length === 1) return this.#statements.topicAfter.all(topics[0], afterId, limit) as Row[];
    // Per topic, the first `limit` ids after afterId (index only); the first `limit` of them all are the page.
    const ids = topics.flatMap((topic) => this.#statements.topicIdsAfter.all(topic, afterId, limit) as number[]);
    ids.sort((a, b) => a - b);
    return this.#statements.byIds.all(JSON.stringify(ids.slice(0, limit))) as Row[];
  }

  /** The `count` newest events (oldest first), optionally only these topics (at most LIMITS.filterTopics). */
  readLast(count: number, topics?: readonly string[] | null): StoredEvent[] {
    this.#maybePruneByAge();
    const list = distinctTopics(topics);
    if (list.length === 0) return (this.#statements.last.all(count) as Row[]).reverse();
    if (list.length === 1) return (this.#statements.topicLast.all(list[0], count) as Row[]).reverse();
    const ids = list.flatMap((topic) => this.#statements.topicIdsLast.all(topic, count) as number[]);
    ids.sort((a, b) => b - a);
    return this.#statements.byIds.all(JSON.stringify(ids.slice(0, count))) as Row[];
  }

  /**
   * One retention step: deletes what is due (past maxEvents, older than maxAgeMs), oldest first,
   * at most pruneStepRows rows, and schedules the next step when more is due (see the note at
   * the top). Returns the rows deleted. A write lock held by another program postpones it.
   */
  prune(): number {
    if (this.#failure) return 0;
    const oldest = this.#oldestIdValue;
    if (oldest === undefined) return 0;
    const windowEnd = oldest + this.#pruneStepRows;
    let below = oldest;
    if (this.#retention.maxEvents > 0 && this.#countValue > this.#retention.maxEvents)
      below = Math.min(this.#lastIdValue - this.#retention.maxEvents + 1, windowEnd);
    if (this.#ageDue()) {
      const firstFresh = this.#statements.firstKeptByAgeIn.get(oldest, windowEnd, this.#now() - this.#retention.maxAgeMs) as
        number | undefined;
      below = Math.max(below, firstFresh ?? Math.min(windowEnd, this.#lastIdValue + 1));
    }
    if (below <= oldest) return 0;
    let removed = 0;
    try {
      removed = this.#db
        .transaction(() => {
          // A key goes in the same transaction as its event (see the note at the top).
          this.#statements.deleteKeysBefore.run(below);
          return this.#statements.deleteBefore.run(below).changes;
        })
        .immediate();
    } catch (error) {
      if (isBusy(error)) return 0;
      throw error;
    }
    if (removed > 0) {
      this.#refreshOldest();
      this.#pruneCounts.steps += 1;
      this.#pruneCounts.rows += removed;
      this.#pruneCounts.largestStep = Math.max(this.#pruneCounts.largestStep, removed);
    }
    if (this.#pruneDue()) this.#schedulePrune();
    return removed;
  }

  /** Applies retention in full now, step after step (tests, and tools that want it done). */
  pruneAll(): number {
    let removed = 0;
    for (let step = this.prune(); step > 0; step = this.prune()) removed += step;
    return removed;
  }

  /**
   * Starts pruning in the background: one step per turn of the event loop until nothing is due,
   * and again whenever a publish or a read finds more due. The server calls it once it listens.
   */
  startPruning(): void {
    this.#pruning = true;
    if (this.#pruneDue()) this.#schedulePrune();
  }

  /** Checkpoints the WAL into the main file, closes, and lets the data directory go. */
  close(): void {
    if (this.#fileCheck) clearInterval(this.#fileCheck);
    this.#pruning = false;
    if (this.#pruneStep) clearImmediate(this.#pruneStep);
    if (!this.#db.open) return;
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.#db.close();
      this.#lock.release();
    }
  }

  /** Inside appendTx: what an earlier claim of this key says, or undefined when the key is free. */
  #claimed(claim: IdempotencyClaim): AppendOutcome | undefined {
    const row = this.#statements.findKey.get(claim.key) as { body_hash: string; event_id: number } | undefined;
    if (!row) return undefined;
    if (row.body_hash !== claim.bodyHash) return { kind: 'conflict', key: claim.key };
    const event = this.#statements.byId.get(row.event_id) as Row | undefined;
    // Keys go with their events in one transaction, so this is only a log written before that
    // rule: the key is free again (insertKey replaces the row).
    if (!event) return undefined;
    return { kind: 'repeat', event };
  }

  /** Read paths apply age retention as they go (one step), so an idle server still expires events. */
  #maybePruneByAge(): void {
    if (this.#ageDue()) this.prune();
  }

  #ageDue(): boolean {
    return this.#retention.maxAgeMs > 0 && this.#oldestTimeMs !== undefined && this.#oldestTimeMs < this.#now() - this.#retention.maxAgeMs;
  }

  #pruneDue(): boolean {
    return (this.#retention.maxEvents > 0 && this.#countValue > this.#retention.maxEvents) || this.#ageDue();
  }

  /** The next step, on a later turn of the event loop, once startPruning was called. */
  #schedulePrune(): void {
    if (!this.#pruning || this.#pruneStep !== undefined) return;
    this.#pruneStep = setImmediate(() => {
      this.#pruneStep = undefined;
      this.prune();
    });
    // Pruning alone must not keep a process alive.
    this.#pruneStep.unref();
  }

  #readSeq(): number {
    return (this.#statements.seq.get() as number | undefined) ?? 0;
  }

  #refreshOldest(): void {
    const row = this.#statements.oldest.get() as { id: number; time_ms: number } | undefined;
    this.#oldestIdValue = row?.id;
    this.#oldestTimeMs = row?.time_ms;
    if (!row) this.#countValue = 0;
    else this.#countValue = this.#lastIdValue - row.id + 1;
  }
}

const TOPIC_INDEX = 'events_topic_id';

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function identityOf(file: string): FileIdentity | undefined {
  try {
    const stat = fs.statSync(file);
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined;
  }
}

function sameFile(a: FileIdentity | undefined, b: FileIdentity): boolean {
  return a !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** The filter's topics once each; more than LIMITS.filterTopics is the caller's bug (the app answers 400 before). */
function distinctTopics(topics: readonly string[] | null | undefined): string[] {
  if (!topics || topics.length === 0) return [];
  const list = [...new Set(topics)];
  if (list.length > LIMITS.filterTopics)
    throw new RangeError(`A topic filter holds at most ${LIMITS.filterTopics} topics (got ${list.length}).`);
  return list;
}

/**
 * Opens herald.db for serving, creating a new log when there is none. An existing file that is not
 * a Herald log is refused (LogOpenError naming it), or with newLog moved aside for a new one.
 */
function openLogFile(file: string, newLog: boolean, log: (line: string) => void): Database.Database {
  const problem = existingFileProblem(file);
  if (problem) {
    if (!newLog) {
      throw new LogOpenError(
        problem.kind,
        file,
        `${problem.words}. Restore it from a backup, or start a new, empty log with \`herald serve --new-log\` (the old file is kept beside it).`,
        problem.cause,
      );
    }
    const kept = moveAside(file);
    log(`${problem.words}: started a new, empty log as asked (--new-log); the old file is kept as ${kept}`);
  }
  if (!fs.existsSync(file)) createLogFile(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: STARTUP_BUSY_TIMEOUT_MS, fileMustExist: true });
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal')
      throw new Error(`SQLite could not put it in WAL mode (it stayed in ${String(mode)} mode; is the file system a network one?)`);
    return db;
  } catch (error) {
    db?.close();
    if (isBusy(error)) {
      throw new LogOpenError(
        'locked',
        file,
        `${file} is locked by another program (a backup or the sqlite3 shell?) and stayed locked for ${STARTUP_BUSY_TIMEOUT_MS / 1000} s: close it and start again.`,
        error,
      );
    }
    throw new LogOpenError('unreadable', file, `cannot open the event log ${file}: ${describeSqliteError(error)}.`, error);
  }
}

/** What is wrong with an existing herald.db, if anything (a missing one is fine: a new log). */
function existingFileProblem(
  file: string,
): { kind: 'empty' | 'not_sqlite' | 'not_herald' | 'damaged'; words: string; cause?: unknown } | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LogOpenError('unreadable', file, `cannot read the event log ${file}: ${describeSqliteError(error)}.`, error);
  }
  if (!stat.isFile())
    throw new LogOpenError('unreadable', file, `${file} is not a file (a directory?): move it away, or pick another --data-dir.`);
  if (stat.size === 0)
    return {
      kind: 'empty',
      words: `the event log ${file} is empty (0 bytes): it was truncated or replaced, and the events it held are gone from it`,
    };
  let probe: Database.Database | undefined;
  try {
    probe = new Database(file, { readonly: true, fileMustExist: true, timeout: STARTUP_BUSY_TIMEOUT_MS });
    const tables = probe.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    if (!tables.includes('events')) {
      return {
        kind: 'not_herald',
        words: `${file} is not a Herald database: it is an SQLite database without Herald's events table${tables.length ? ` (it has ${tables.slice(0, 5).join(', ')})` : ''}`,
      };
    }
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB')
      return { kind: 'not_sqlite', words: `${file} is not a Herald database: it is not an SQLite file at all`, cause: error };
    if (code === 'SQLITE_CORRUPT')
      return { kind: 'damaged', words: `the event log ${file} is damaged (${(error as Error).message})`, cause: error };
    if (isBusy(error)) throw new LogOpenError('locked', file, `${file} is locked by another program: close it and start again.`, error);
    throw new LogOpenError('unreadable', file, `cannot read the event log ${file}: ${describeSqliteError(error)}.`, error);
  } finally {
    probe?.close();
  }
}

/** Renames herald.db (and its WAL) to herald.db.broken-<time>; returns the new name. */
function moveAside(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const kept = `${file}.broken-${stamp}`;
  fs.renameSync(file, kept);
  if (fs.existsSync(`${file}-wal`)) fs.renameSync(`${file}-wal`, `${kept}-wal`);
  fs.rmSync(`${file}-shm`, { force: true });
  return kept;
}

/** A new, empty log, built under another name and renamed into place: herald.db is never half made. */
function createLogFile(file: string): void {
  const building = `${file}.new`;
  for (const leftover of [building, `${building}-journal`]) fs.rmSync(leftover, { force: true });
  const db = new Database(building);
  try {
    // One transaction, one commit: each statement on its own was a commit with its own fsyncs
    // (~10 ms of a first start, bench/startup.ts's empty log).
    db.transaction(() => createSchema(db))();
  } finally {
    db.close();
  }
  fs.renameSync(building, file);
}

function createSchema(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    type TEXT NOT NULL,
    json TEXT NOT NULL
  )`);
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    event_id INTEGER NOT NULL
  ) WITHOUT ROWID`);
  db.exec('CREATE INDEX IF NOT EXISTS idempotency_keys_by_event ON idempotency_keys (event_id)');
  db.exec(`CREATE INDEX IF NOT EXISTS ${TOPIC_INDEX} ON events (topic, id)`);
  // A log from before epochs gets one now: clients learn it from their next stream.
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)").run(randomBytes(8).toString('hex'));
}

/** Brings a log written by an older Herald up to date (the idempotency keys, the topic index, the epoch). */
function upgradeSchema(db: Database.Database, log: (line: string) => void): void {
  const hasIndex = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(TOPIC_INDEX) !== undefined;
  const started = performance.now();
  db.transaction(() => createSchema(db)).immediate();
  if (!hasIndex) log(`built the topic index of ${db.name} (once) in ${Math.round(performance.now() - started)} ms`);
}

function describeSqliteError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_CANTOPEN')
    return 'permission denied or the file cannot be opened: check its owner and mode';
  if (code === 'SQLITE_READONLY') return 'it is read-only: give this user write access';
  if (code === 'SQLITE_IOERR' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR')))
    return `a disk error (${(error as Error).message})`;
  if (code === 'SQLITE_FULL') return 'the disk is full';
  return (error as Error).message ?? String(error);
}
