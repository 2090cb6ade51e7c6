// Idempotent publishing: POST /events with an Idempotency-Key stores the event once; a repeat with
// the same key and event answers the stored event; the same key with another event is a 409 that
// names the key. The keys live in the log's SQLite file, with their events.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { EventLog } from '../../server/log.ts';
import { history, startTestServer, tempDir, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

interface Answer {
  status: number;
  body: HeraldEvent & { error?: { code: string; message: string; field?: string } };
  replayed: string | null;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as Answer['body'], replayed: res.headers.get('idempotent-replayed') };
}

const note = (title: string) => ({ title, topic: 'builds', priority: 4 });

describe('POST /events with an Idempotency-Key', () => {
  it('stores the event once and answers a repeat with the stored event (200, same id)', async () => {
    t = await startTestServer();
    const key = { 'Idempotency-Key': 'job-42-end' };
    const first = await post(t.url, JSON.stringify(note('deploy done')), key);
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    // The same event spelt differently (key order, a default written out) is the same event.
    const again = await post(t.url, JSON.stringify({ priority: 4, topic: 'builds', title: 'deploy done', type: 'notification' }), key);
    expect(again.status).toBe(200);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(first.body);
    const page = await history(t.url);
    expect(page.events.map((e) => e.id)).toEqual([first.body.id]);
  });

  it('answers 409 naming the key when the same key comes with another event, and stores nothing', async () => {
    t = await startTestServer();
    const key = { 'Idempotency-Key': 'reused-key-7' };
    const first = await post(t.url, JSON.stringify(note('a')), key);
    const other = await post(t.url, JSON.stringify(note('b')), key);
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'conflict', field: 'Idempotency-Key' });
    expect(other.body.error!.message).toContain('"reused-key-7"');
    expect((await history(t.url)).events.map((e) => e.id)).toEqual([first.body.id]);
  });

  it('binds a text/plain publish to its headers too: another title under the same key is a conflict', async () => {
    t = await startTestServer();
    const send = (title: string) =>
      fetch(`${t!.url}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', Title: title, 'Idempotency-Key': '"k-1"' },
        body: 'backup finished',
      });
    const first = await send('Backup');
    expect(first.status).toBe(201);
    const repeat = await send('Backup');
    expect(repeat.status).toBe(200);
    expect(((await repeat.json()) as HeraldEvent).id).toBe(((await first.json()) as HeraldEvent).id);
    expect((await send('Restore')).status).toBe(409);
  });

  it('stores one event when the same keyed publish arrives twice at once (one batch)', async () => {
    t = await startTestServer();
    const body = JSON.stringify(note('twice at once'));
    const answers = await Promise.all([1, 2, 3].map(() => post(t!.url, body, { 'Idempotency-Key': 'burst' })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect((await history(t.url)).events).toHaveLength(1);
  });

  it('keeps keys across a restart of the server', async () => {
    const dataDir = tempDir();
    t = await startTestServer({ dataDir });
    const first = await post(t.url, JSON.stringify(note('before restart')), { 'Idempotency-Key': 'survives' });
    await t.server.close();
    t = await startTestServer({ dataDir });
    const again = await post(t.url, JSON.stringify(note('before restart')), { 'Idempotency-Key': 'survives' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
  });

  it('forgets a key when retention drops its event: the key then stores a new event', async () => {
    t = await startTestServer({ retention: { maxEvents: 2 } });
    const first = await post(t.url, JSON.stringify(note('old')), { 'Idempotency-Key': 'short-lived' });
    await post(t.url, JSON.stringify(note('x')), {});
    await post(t.url, JSON.stringify(note('y')), {});
    const again = await post(t.url, JSON.stringify(note('old')), { 'Idempotency-Key': 'short-lived' });
    expect(again.status).toBe(201);
    expect(Number(again.body.id)).toBeGreaterThan(Number(first.body.id));
    const db = new Database(path.join(t.dataDir, 'herald.db'), { readonly: true });
    try {
      // One key row per kept keyed event: the old row went with its event.
      expect(db.prepare('SELECT key, event_id FROM idempotency_keys').all()).toEqual([
        { key: 'short-lived', event_id: Number(again.body.id) },
      ]);
    } finally {
      db.close();
    }
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['with a control character', 'a\tb'],
    ['not ASCII', 'clé'],
  ])('refuses a key that is %s with 400 naming Idempotency-Key, storing nothing', async (_what, value) => {
    t = await startTestServer();
    const res = await fetch(`${t.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': Buffer.from(value, 'utf8').toString('latin1') },
      body: JSON.stringify(note('x')),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('Idempotency-Key');
    expect((await history(t.url)).events).toHaveLength(0);
  });
});

describe('EventLog idempotency claims', () => {
  it('writes a key in the same transaction as its event: when the key cannot be written, the event is not stored either', () => {
    const dir = tempDir();
    const log = new EventLog({ dataDir: dir });
    try {
      // A trigger that fails every key write stands in for a crash between the two writes.
      const db = new Database(path.join(dir, 'herald.db'));
      db.exec("CREATE TRIGGER fail_keys BEFORE INSERT ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'disk full'); END");
      db.close();
      const input = { type: 'notification', topic: 'a', title: 'x', priority: 3 as const };
      expect(() => log.appendBatch([{ input }, { input, claim: { key: 'k', bodyHash: 'h' } }])).toThrow(/disk full/);
      expect(log.count).toBe(0);
      expect(log.lastId).toBe(0);
      expect(log.readAfter(0, { limit: 10 })).toEqual([]);
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers stored, repeat and conflict per entry, a repeat within the same batch included', () => {
    const dir = tempDir();
    const log = new EventLog({ dataDir: dir });
    try {
      const a = { type: 'notification', topic: 'a', title: 'a', priority: 3 as const };
      const b = { ...a, title: 'b' };
      const outcomes = log.appendBatch([
        { input: a, claim: { key: 'k1', bodyHash: 'ha' } },
        { input: a, claim: { key: 'k1', bodyHash: 'ha' } },
        { input: b, claim: { key: 'k1', bodyHash: 'hb' } },
        { input: b },
      ]);
      expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'repeat', 'conflict', 'stored']);
      expect(outcomes[1]).toEqual(outcomes[0] && { ...outcomes[0], kind: 'repeat' });
      expect(log.count).toBe(2);
      expect(log.lastId).toBe(2);
      expect(log.appendBatch([{ input: a, claim: { key: 'k1', bodyHash: 'ha' } }])).toEqual([
        { kind: 'repeat', event: (outcomes[0] as { event: unknown }).event },
      ]);
      expect(log.lastId).toBe(2);
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
