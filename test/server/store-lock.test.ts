// Another process holding SQLite's write lock on herald.db (a backup, the sqlite3 shell, a
// script) must not freeze the server: publishes wait for it off the event loop and then get 503
// with Retry-After, while /health, /history and streams keep answering. A real second process
// holds the lock with BEGIN IMMEDIATE.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { history, listen, publish, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
const holders = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of holders) child.kill('SIGKILL');
  holders.clear();
  await t?.cleanup();
  t = undefined;
});

/** A process that takes SQLite's write lock on the file and keeps it until told "release" on stdin. */
async function holdWriteLock(file: string): Promise<{ release(): Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    process.stdin.on('data', () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['-e', script, file], { cwd: path.resolve('.'), stdio: ['pipe', 'pipe', 'inherit'] });
  holders.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('locked\n'), 'the second process to hold the lock');
  return {
    async release() {
      child.stdin!.write('release\n');
      await waitFor(() => out.includes('released\n'), 'the second process to let go');
      holders.delete(child);
    },
  };
}

describe('another process holding the write lock', () => {
  it('publishes get 503 with Retry-After and a JSON error while /health, /history and streams keep working', async () => {
    t = await startTestServer({ storeWaitMs: 400 });
    const before = await publish(t.url, { title: 'before the lock' });
    const stream = listen(`${t.url}/events`);
    await waitFor(() => stream.opens === 1, 'stream open');

    const lock = await holdWriteLock(path.join(t.dataDir, 'herald.db'));
    let publishAnswered = false;
    const publishing = fetch(`${t.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title":"during the lock"}',
    }).then((res) => {
      publishAnswered = true;
      return res;
    });
    // The publish is waiting for the lock; the server answers everything else meanwhile.
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
    expect(publishAnswered).toBe(false);
    const page = await history(t.url);
    expect(publishAnswered).toBe(false);
    expect(page.events).toEqual([before]);

    const refused = await publishing;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('store_unavailable');
    expect(body.error.message).toContain('is locked by another program');
    expect(body.error.message).toContain('the event was not stored');
    expect(t.server.stats().storeWaits).toBeGreaterThan(0); // it was retried before giving up

    // Nothing half stored; once the lock is gone, publishing works and the stream gets it.
    await lock.release();
    expect((await history(t.url)).events).toEqual([before]);
    const after = await publish(t.url, { title: 'after the lock' });
    await waitFor(() => stream.received.length === 1, 'the stream to get the event published after the lock');
    expect(stream.events()).toEqual([after]);
    stream.close();
  });

  it('a lock let go within the wait is not even seen by the publisher', async () => {
    t = await startTestServer({ storeWaitMs: 5000 });
    const lock = await holdWriteLock(path.join(t.dataDir, 'herald.db'));
    const publishing = publish(t.url, { title: 'waits for the lock' });
    await waitFor(() => t!.server.stats().storeWaits > 0, 'the publish to wait for the lock');
    await lock.release();
    const stored = await publishing;
    expect(stored.title).toBe('waits for the lock');
    expect((await history(t.url)).events).toEqual([stored]);
  });
});
