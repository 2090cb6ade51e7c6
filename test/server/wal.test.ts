// The WAL deleted (or herald.db replaced) under a running server, then kill -9: what was
// acknowledged must not be lost with the deleted file. The server notices before its next
// acknowledgement, or within its periodic check, copies what it holds into herald.db, and stops
// taking events with a clear error. Real server processes, real files, SIGKILL.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { EventLog } from '../../server/log.ts';
import { history, killHard, processesAndDirs, publish, spawnServerProcess, waitFor } from './harness.ts';

const { children, tempDir: dataDir } = processesAndDirs();

async function publishMany(url: string, n: number, label: string): Promise<HeraldEvent[]> {
  const out: HeraldEvent[] = [];
  for (let i = 0; i < n; i++) out.push(await publish(url, { title: `${label} ${i}` }));
  return out;
}

async function postRaw(
  url: string,
  title: string,
): Promise<{ status: number; retryAfter: string | null; body: { error?: { code: string; message: string } } }> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as never };
}

describe('the log files replaced under a running server', () => {
  it('the WAL deleted, then kill -9: every acknowledged event survives, and later publishes are refused with a clear error', async () => {
    const dir = dataDir();
    const first = await spawnServerProcess(dir, children);
    const acknowledged = await publishMany(first.url, 20, 'acknowledged');
    const wal = path.join(dir, 'herald.db-wal');
    expect(fs.statSync(wal).size).toBeGreaterThan(0); // they are in the WAL, not yet in herald.db
    fs.rmSync(wal);

    // The next publish finds it before writing anything: what the server holds is copied into
    // herald.db, and this publish and every later one are refused.
    const refused = await postRaw(first.url, 'refused');
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('60');
    expect(refused.body.error!.code).toBe('store_unavailable');
    expect(refused.body.error!.message).toContain(`its WAL ${wal} was deleted`);
    expect(refused.body.error!.message).toContain('Every event acknowledged so far was copied into herald.db');
    expect(refused.body.error!.message).toContain('stop it and start it again');
    const health = await fetch(`${first.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).not.toBe('ok');
    expect(first.stderr()).toContain(`ERROR: The event log's files changed under the running server (its WAL ${wal} was deleted)`);

    await killHard(first.child, children);
    const second = await spawnServerProcess(dir, children);
    const page = await history(second.url);
    expect(page.events).toEqual(acknowledged);
    expect((await publish(second.url, { title: 'after the restart' })).id).toBe(String(acknowledged.length + 1));
  });

  it('the periodic check finds a deleted WAL with no publish to notice it, before a crash loses it', async () => {
    const dir = dataDir();
    const first = await spawnServerProcess(dir, children);
    const acknowledged = await publishMany(first.url, 10, 'quiet');
    fs.rmSync(path.join(dir, 'herald.db-wal'));
    await waitFor(
      () => first.stderr().includes("ERROR: The event log's files changed under the running server"),
      'the periodic check',
      15_000,
    );
    await killHard(first.child, children);
    const second = await spawnServerProcess(dir, children);
    expect((await history(second.url)).events).toEqual(acknowledged);
  });

  it('herald.db itself replaced: publishes are refused, and the error says what may be lost', async () => {
    const dir = dataDir();
    const first = await spawnServerProcess(dir, children);
    await publishMany(first.url, 3, 'before');
    const file = path.join(dir, 'herald.db');
    fs.copyFileSync(file, `${file}.copy`);
    fs.renameSync(`${file}.copy`, file); // same name, another file
    const refused = await postRaw(first.url, 'refused');
    expect(refused.status).toBe(503);
    expect(refused.body.error!.message).toContain(`${file} was replaced`);
    expect(refused.body.error!.message).toContain('Events acknowledged since the last checkpoint may be lost if the server stops now');
    expect((await postRaw(first.url, 'refused again')).status).toBe(503);
    // Nothing of the refused publishes was written; reads still work from what the server holds.
    expect((await history(first.url)).events.map((e) => e.title)).toEqual(['before 0', 'before 1', 'before 2']);
  });
});

describe('the WAL deleted while a batch is being written', () => {
  it('is noticed before the batch is acknowledged: everything committed is in herald.db itself when append returns', () => {
    const dir = dataDir();
    const wal = path.join(dir, 'herald.db-wal');
    // The clock is read after the check that runs before writing and before the transaction:
    // deleting the WAL there is the race the check after writing is for.
    let deleteWal = false;
    const now = () => {
      if (deleteWal) {
        deleteWal = false;
        fs.rmSync(wal);
      }
      return Date.now();
    };
    const log = new EventLog({ dataDir: dir, fileCheckMs: 0, now });
    try {
      const before = log.append([{ type: 'notification', topic: 'default', title: 'before', priority: 3 }]);
      deleteWal = true;
      const during = log.append([{ type: 'notification', topic: 'default', title: 'during', priority: 3 }]);
      expect(fs.existsSync(wal)).toBe(false);
      expect(log.failed?.message).toContain(`its WAL ${wal} was deleted`);
      expect(log.failed?.message).toContain('Every event acknowledged so far was copied into herald.db');
      // What a kill -9 now would leave behind: herald.db alone (the deleted WAL goes with the process).
      const copy = path.join(dataDir(), 'herald.db');
      fs.copyFileSync(path.join(dir, 'herald.db'), copy);
      const survivor = new Database(copy);
      try {
        expect(survivor.prepare('SELECT id FROM events ORDER BY id').pluck().all()).toEqual([...before, ...during].map((e) => e.id));
      } finally {
        survivor.close();
      }
    } finally {
      log.close();
    }
  });
});
