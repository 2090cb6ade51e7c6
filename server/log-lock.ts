// LogLock: one server per data directory. Node, SQLite (better-sqlite3).
//
// Two servers on one herald.db both run, and neither sees the other's events live (each hub hears
// only its own publishes): the second must refuse to start, naming the one that holds the
// directory. The lock is a real OS lock, not a pid file: SQLite's own file lock on a small
// database beside the log (herald.lock), held by a write transaction that stays open while the
// server runs. The OS drops it when the process ends, however it ends (kill -9 included), so a
// crash leaves no stale lock; SQLite also refuses it to a second connection in the same process.
// Who holds it (pid, host, since when) is written there first, in a committed row that the lock's
// holder leaves readable to others.
//
// The log's own file is not locked this way: other programs (a backup, the sqlite3 shell) may
// still open herald.db, as they always could.
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LogOpenError } from './errors.ts';
import { describeError } from '../events/errors.ts';

export const LOCK_FILE = 'herald.lock';

interface Holder {
  pid: number;
  host: string;
  since: string;
}

export class LogLock {
  readonly file: string;
  readonly #db: Database.Database;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.#db = db;
  }

  /** Takes the data directory for this process, or throws LogOpenError ('in_use') naming who has it. */
  static acquire(dataDir: string): LogLock {
    const file = path.join(dataDir, LOCK_FILE);
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 0 });
    } catch (error) {
      throw new LogOpenError(
        'unreadable',
        file,
        `cannot open ${file} (${describeError(error)}): check that the data directory ${dataDir} is writable.`,
        error,
      );
    }
    let wroteOurs = false;
    try {
      // What this file holds is who has the directory, for the message a second process gets: it
      // needs no fsync (the lock is the open transaction, which the OS ends with the process), and
      // the two commits' fsyncs were ~4 ms of every start. The journal still keeps it whole.
      db.pragma('synchronous = OFF');
      db.exec(
        'CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL)',
      );
      take(db);
      db.prepare('INSERT OR REPLACE INTO holder (id, pid, host, since) VALUES (1, ?, ?, ?)').run(
        process.pid,
        os.hostname(),
        new Date().toISOString(),
      );
      db.exec('COMMIT');
      wroteOurs = true;
      // Taken again at once and kept: from here until release() no one else can write here.
      // (Whoever slips in between these two steps holds it instead, and this start fails below.)
      take(db);
    } catch (error) {
      // After our own row was written, the row says us, not the one that slipped in.
      const holder = isBusy(error) && !wroteOurs ? readHolder(db) : undefined;
      db.close();
      if (!isBusy(error))
        throw new LogOpenError(
          'unreadable',
          file,
          `cannot use ${file} (${describeError(error)}): remove it (it holds no events) and start again.`,
          error,
        );
      throw new LogOpenError('in_use', dataDir, inUseMessage(dataDir, holder), error);
    }
    return new LogLock(file, db);
  }

  /** Lets the directory go (the process ending does too). */
  release(): void {
    if (!this.#db.open) return;
    try {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } finally {
      this.#db.close();
    }
  }
}

function take(db: Database.Database): void {
  db.exec('BEGIN IMMEDIATE');
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function readHolder(db: Database.Database): Holder | undefined {
  try {
    return db.prepare('SELECT pid, host, since FROM holder WHERE id = 1').get() as Holder | undefined;
  } catch {
    return undefined;
  }
}

function inUseMessage(dataDir: string, holder: Holder | undefined): string {
  const fix = 'stop it first, or give this server another --data-dir (or HERALD_DATA_DIR)';
  if (!holder) return `the data directory ${dataDir} is in use by another Herald server that is starting: ${fix}.`;
  const where = holder.host === os.hostname() ? '' : ` on ${holder.host}`;
  const self = holder.pid === process.pid && where === '' ? ', this very process' : '';
  return `the data directory ${dataDir} is in use by another Herald server (pid ${holder.pid}${where}${self}, since ${holder.since}): ${fix}.`;
}
