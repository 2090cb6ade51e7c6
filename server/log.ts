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
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EventInput, GapInfo, HeraldEvent } from '../events/event.ts';
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
}

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
  | { kind: 'stored'; event: StoredEvent }
  | { kind: 'repeat'; event: StoredEvent }
  | { kind: 'conflict'; key: string };

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

export class EventLog {
  readonly file: string;
  /** This log's epoch: 16 hex digits, chosen when the log was created. */
  readonly epoch: string;
  private readonly db: Database.Database;
  private readonly retention: Required<RetentionOptions>;
  private readonly now: () => number;
  private lastIdValue: number;
  private oldestIdValue: number | undefined;
  private oldestTimeMs: number | undefined;
  private countValue: number;
  private readonly readStatements = new Map<string, Database.Statement>();
  private readonly statements: {
    seq: Database.Statement;
    insert: Database.Statement;
    deleteBefore: Database.Statement;
    deleteKeysBefore: Database.Statement;
    findKey: Database.Statement;
    insertKey: Database.Statement;
    byId: Database.Statement;
    oldest: Database.Statement;
    firstKeptByAge: Database.Statement;
  };
  private readonly appendTx: Database.Transaction<(entries: readonly AppendEntry[], timeMs: number) => AppendOutcome[]>;
  private readonly deleteBeforeTx: Database.Transaction<(firstKept: number) => number>;

  constructor(options: EventLogOptions) {
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.now = options.now ?? Date.now;
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.file = path.join(options.dataDir, 'herald.db');
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time_ms INTEGER NOT NULL,
      topic TEXT NOT NULL,
      type TEXT NOT NULL,
      json TEXT NOT NULL
    )`);
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    this.db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
      key TEXT PRIMARY KEY,
      body_hash TEXT NOT NULL,
      event_id INTEGER NOT NULL
    ) WITHOUT ROWID`);
    this.db.exec('CREATE INDEX IF NOT EXISTS idempotency_keys_by_event ON idempotency_keys (event_id)');
    // A log from before epochs gets one now: clients learn it from their next stream.
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)").run(randomBytes(8).toString('hex'));
    this.epoch = this.db.prepare("SELECT value FROM meta WHERE key = 'epoch'").pluck().get() as string;
    this.statements = {
      seq: this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck(),
      insert: this.db.prepare('INSERT INTO events (id, time_ms, topic, type, json) VALUES (?, ?, ?, ?, ?)'),
      deleteBefore: this.db.prepare('DELETE FROM events WHERE id < ?'),
      deleteKeysBefore: this.db.prepare('DELETE FROM idempotency_keys WHERE event_id < ?'),
      findKey: this.db.prepare('SELECT body_hash, event_id FROM idempotency_keys WHERE key = ?'),
      insertKey: this.db.prepare('INSERT OR REPLACE INTO idempotency_keys (key, body_hash, event_id) VALUES (?, ?, ?)'),
      byId: this.db.prepare('SELECT id, type, topic, json FROM events WHERE id = ?'),
      oldest: this.db.prepare('SELECT id, time_ms FROM events ORDER BY id LIMIT 1'),
      firstKeptByAge: this.db.prepare('SELECT id FROM events WHERE time_ms >= ? ORDER BY id LIMIT 1').pluck(),
    };
    this.lastIdValue = this.readSeq();
    this.countValue = this.db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    this.refreshOldest();

    this.deleteBeforeTx = this.db.transaction((firstKept: number) => {
      this.statements.deleteKeysBefore.run(firstKept);
      return this.statements.deleteBefore.run(firstKept).changes;
    });

    this.appendTx = this.db.transaction((entries: readonly AppendEntry[], timeMs: number) => {
      // Read inside the write transaction so a second process on the same file cannot hand out the same id.
      let id = this.readSeq();
      const firstNew = id + 1;
      const time = new Date(timeMs).toISOString();
      const outcomes: AppendOutcome[] = [];
      for (const { input, claim } of entries) {
        if (claim) {
          const earlier = this.claimed(claim);
          if (earlier) {
            outcomes.push(earlier);
            continue;
          }
        }
        id += 1;
        const { type, topic, ...rest } = input;
        const event: HeraldEvent = { id: String(id), type, topic, time, ...rest };
        const json = JSON.stringify(event);
        this.statements.insert.run(id, timeMs, event.topic, event.type, json);
        if (claim) this.statements.insertKey.run(claim.key, claim.bodyHash, id);
        outcomes.push({ kind: 'stored', event: { id, type: event.type, topic: event.topic, json } });
      }
      const firstKept = id - this.retention.maxEvents + 1;
      if (id >= firstNew && this.retention.maxEvents > 0 && (this.oldestIdValue ?? firstNew) < firstKept) {
        this.statements.deleteKeysBefore.run(firstKept);
        this.statements.deleteBefore.run(firstKept);
      }
      return outcomes;
    });
    this.prune();
  }

  /** Stores the events in one transaction and returns them once committed. All or nothing. */
  append(inputs: EventInput[]): StoredEvent[] {
    return this.appendBatch(inputs.map((input) => ({ input }))).map((outcome) => (outcome as { event: StoredEvent }).event);
  }

  /**
   * Stores the entries in one transaction (all or nothing) and says, per entry, whether it was
   * stored, is a repeat of a claim made before (same key, same hash: nothing stored) or a conflict
   * (same key, another hash: nothing stored). See AppendOutcome.
   */
  appendBatch(entries: readonly AppendEntry[]): AppendOutcome[] {
    if (entries.length === 0) return [];
    this.maybePruneByAge();
    const timeMs = this.now();
    const outcomes = this.appendTx.immediate(entries, timeMs);
    const stored = outcomes.filter((o) => o.kind === 'stored').map((o) => o.event);
    if (stored.length === 0) return outcomes;
    this.lastIdValue = stored.at(-1)!.id;
    this.countValue += stored.length;
    if (this.oldestIdValue === undefined) {
      this.oldestIdValue = stored[0]!.id;
      this.oldestTimeMs = timeMs;
    }
    if (this.retention.maxEvents > 0 && this.countValue > this.retention.maxEvents) this.refreshOldest();
    return outcomes;
  }

  /** The newest id ever assigned (0 when none): the id the next event follows. */
  get lastId(): number {
    return this.lastIdValue;
  }

  /** The oldest id still kept, if any. */
  get oldestId(): number | undefined {
    this.maybePruneByAge();
    return this.oldestIdValue;
  }

  get count(): number {
    this.maybePruneByAge();
    return this.countValue;
  }

  /**
   * What a client resuming after `afterId` is owed before the events themselves. 0 = everything
   * kept. `epoch` is the epoch the client's cursor came from, when it knows one: a cursor from
   * another log means nothing here, whatever its value.
   */
  planResume(afterId: number, epoch?: string): ResumePlan {
    this.maybePruneByAge();
    return planResumeFrom(afterId, epoch, { epoch: this.epoch, lastId: this.lastIdValue, oldestId: this.oldestIdValue });
  }

  /** Events after `afterId`, oldest first, optionally only these topics. */
  readAfter(afterId: number, options: { topics?: readonly string[] | null; limit: number }): StoredEvent[] {
    this.maybePruneByAge();
    const topics = options.topics ?? [];
    return this.readStatement('after', topics.length).all(afterId, ...topics, options.limit) as Row[];
  }

  /** The `count` newest events (oldest first), optionally only these topics. */
  readLast(count: number, topics?: readonly string[] | null): StoredEvent[] {
    this.maybePruneByAge();
    const list = topics ?? [];
    return (this.readStatement('last', list.length).all(...list, count) as Row[]).reverse();
  }

  /** Applies retention now (it also runs on every append and read when something is due). */
  prune(): number {
    let removed = 0;
    if (this.retention.maxEvents > 0 && this.countValue > this.retention.maxEvents) {
      removed += this.deleteBeforeTx(this.lastIdValue - this.retention.maxEvents + 1);
    }
    if (this.retention.maxAgeMs > 0) {
      const firstKept = this.statements.firstKeptByAge.get(this.now() - this.retention.maxAgeMs) as number | undefined;
      removed += this.deleteBeforeTx(firstKept ?? this.lastIdValue + 1);
    }
    if (removed > 0) {
      this.countValue -= removed;
      this.refreshOldest();
    }
    return removed;
  }

  /** Checkpoints the WAL into the main file and closes. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }

  private maybePruneByAge(): void {
    if (this.retention.maxAgeMs > 0 && this.oldestTimeMs !== undefined && this.oldestTimeMs < this.now() - this.retention.maxAgeMs) {
      this.prune();
    }
  }

  /** Inside appendTx: what an earlier claim of this key says, or undefined when the key is free. */
  private claimed(claim: IdempotencyClaim): AppendOutcome | undefined {
    const row = this.statements.findKey.get(claim.key) as { body_hash: string; event_id: number } | undefined;
    if (!row) return undefined;
    if (row.body_hash !== claim.bodyHash) return { kind: 'conflict', key: claim.key };
    const event = this.statements.byId.get(row.event_id) as Row | undefined;
    // Keys go with their events in one transaction, so this is only a log written before that
    // rule: the key is free again (insertKey replaces the row).
    if (!event) return undefined;
    return { kind: 'repeat', event };
  }

  private readSeq(): number {
    return (this.statements.seq.get() as number | undefined) ?? 0;
  }

  private refreshOldest(): void {
    const row = this.statements.oldest.get() as { id: number; time_ms: number } | undefined;
    this.oldestIdValue = row?.id;
    this.oldestTimeMs = row?.time_ms;
    if (!row) this.countValue = 0;
    else this.countValue = this.lastIdValue - row.id + 1;
  }

  private readStatement(kind: 'after' | 'last', topicCount: number): Database.Statement {
    const key = `${kind}:${topicCount}`;
    let statement = this.readStatements.get(key);
    if (!statement) {
      const topicClause = topicCount > 0 ? ` AND topic IN (${new Array(topicCount).fill('?').join(', ')})` : '';
      statement =
        kind === 'after'
          ? this.db.prepare(`SELECT id, type, topic, json FROM events WHERE id > ?${topicClause} ORDER BY id LIMIT ?`)
          : this.db.prepare(`SELECT id, type, topic, json FROM events WHERE 1${topicClause} ORDER BY id DESC LIMIT ?`);
      this.readStatements.set(key, statement);
    }
    return statement;
  }
}
