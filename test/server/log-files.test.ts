// The event log's files at startup: one server per data directory, and a herald.db that is
// empty, not SQLite or not Herald's is refused by name (or set aside on request), never
// silently replaced by a new log. Real SQLite files in temp dirs.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { LogOpenError } from '../../server/errors.ts';
import { history, publish, startTestServer, tempDir, type TestServer } from './harness.ts';

const servers: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.server.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

async function start(dataDir: string, extra: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const t = await startTestServer({ dataDir, ...extra });
  servers.push(t);
  return t;
}

async function startError(dataDir: string, extra: Parameters<typeof startTestServer>[0] = {}): Promise<LogOpenError> {
  const error = await startTestServer({ dataDir, ...extra }).then(
    (t) => {
      servers.push(t);
      throw new Error('the server started');
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(LogOpenError);
  return error as LogOpenError;
}

describe('one server per data directory', () => {
  it('a second server on the same directory refuses to start, naming the directory and the process that holds it', async () => {
    const dataDir = dir();
    const first = await start(dataDir);
    await publish(first.url, { title: 'only the first one has it' });
    const error = await startError(dataDir);
    expect(error.problem).toBe('in_use');
    expect(error.message).toContain(`the data directory ${dataDir} is in use by another Herald server (pid ${process.pid}`);
    expect(error.message).toContain('stop it first, or give this server another --data-dir');
    // The first one is unharmed.
    expect((await history(first.url)).events.map((e) => e.title)).toEqual(['only the first one has it']);
    await publish(first.url, { title: 'still taking events' });
  });

  it('the directory is free again once the server that held it stopped', async () => {
    const dataDir = dir();
    const first = await start(dataDir);
    await publish(first.url, { title: 'kept' });
    await first.server.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await start(dataDir);
    expect((await history(second.url)).events.map((e) => e.title)).toEqual(['kept']);
  });
});

describe('an existing herald.db that is not a Herald log', () => {
  it('a 0-byte herald.db is a startup error naming the file, not a silent new log', async () => {
    const dataDir = dir();
    const first = await start(dataDir);
    await publish(first.url, { title: 'lost to the truncation' });
    await first.server.close();
    servers.splice(0);
    const file = path.join(dataDir, 'herald.db');
    fs.truncateSync(file, 0);
    const error = await startError(dataDir);
    expect(error.problem).toBe('empty');
    expect(error.path).toBe(file);
    expect(error.message).toBe(
      `the event log ${file} is empty (0 bytes): it was truncated or replaced, and the events it held are gone from it. ` +
        'Restore it from a backup, or start a new, empty log with `herald serve --new-log` (the old file is kept beside it).',
    );
    expect(fs.statSync(file).size).toBe(0); // refused, not touched
  });

  it('with newLog, the bad file is kept beside a new, empty log, and the log says so', async () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'herald.db');
    fs.writeFileSync(file, '');
    const t = await start(dataDir, { newLog: true });
    const kept = fs.readdirSync(dataDir).filter((name) => name.startsWith('herald.db.broken-'));
    expect(kept).toHaveLength(1);
    expect(fs.statSync(path.join(dataDir, kept[0]!)).size).toBe(0);
    expect(
      t.lines.some(
        (l) =>
          l.includes(`the event log ${file} is empty (0 bytes)`) && l.includes(`the old file is kept as ${path.join(dataDir, kept[0]!)}`),
      ),
    ).toBe(true);
    const stored = await publish(t.url, { title: 'a new log' });
    expect(stored.id).toBe('1');
  });

  it('a file that is not SQLite at all is named as such', async () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'herald.db');
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(200));
    const error = await startError(dataDir);
    expect(error.problem).toBe('not_sqlite');
    expect(error.message).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a Herald database: it is not an SQLite file at all\\. Restore it`),
    );
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^these are my notes/);
  });

  it("another program's SQLite database is named as not Herald's, and left as it was", async () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'herald.db');
    const other = new Database(file);
    other.exec('CREATE TABLE invoices (n INTEGER); INSERT INTO invoices VALUES (42)');
    other.close();
    const error = await startError(dataDir);
    expect(error.problem).toBe('not_herald');
    expect(error.message).toContain(
      `${file} is not a Herald database: it is an SQLite database without Herald's events table (it has invoices)`,
    );
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT n FROM invoices').pluck().get()).toBe(42);
    expect(check.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events'").pluck().get()).toBe(0);
    check.close();
  });
});

describe('the data directory', () => {
  it('a data directory that is a file is said in words, not EEXIST', async () => {
    const parent = dir();
    const file = path.join(parent, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const error = await startError(file);
    expect(error.problem).toBe('data_dir');
    expect(error.message).toBe(
      `the data directory is a file: ${file}. Move the file away, or pick another with --data-dir (or HERALD_DATA_DIR).`,
    );
    const below = await startError(path.join(file, 'herald'));
    expect(below.message).toBe(
      `the data directory's parent ${file} is a file: ${path.join(file, 'herald')}. Move the file away, or pick another with --data-dir (or HERALD_DATA_DIR).`,
    );
  });

  it('a herald.db that is a directory is said in words', async () => {
    const dataDir = dir();
    fs.mkdirSync(path.join(dataDir, 'herald.db'));
    const error = await startError(dataDir);
    expect(error.message).toBe(
      `${path.join(dataDir, 'herald.db')} is not a file (a directory?): move it away, or pick another --data-dir.`,
    );
  });

  it('a new log is created whole: no herald.db is left behind half made', async () => {
    const dataDir = dir();
    const t = await start(dataDir);
    expect(fs.readdirSync(dataDir).filter((f) => f.includes('.new'))).toEqual([]);
    const db = new Database(path.join(dataDir, 'herald.db'), { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name").pluck().all()).toEqual(
      expect.arrayContaining(['events', 'events_topic_id', 'meta']),
    );
    db.close();
    expect((await history(t.url)).epoch).toMatch(/^[0-9a-f]{16}$/);
  });
});
