// Topic filters (`topic=a,b,…` on /history and /events): any set of topics up to the cap is
// served from a fixed set of prepared statements (one statement per filter size, kept forever,
// was a memory leak any client could drive: 109 to 474 MB RSS in 2,000 requests), past the cap
// the request gets a clear 400, and the pages are exactly what filtering the whole log would give.
// A log written before the (topic, id) index gets it when opened.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../events/event.ts';
import { EventLog } from '../../server/log.ts';
import { history, listen, publish, startTestServer, tempDir, waitFor, type TestServer } from './harness.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  for (let i = 0; i < 30; i++) await publish(t.url, { title: `e${i}`, topic: `t${i % 7}` });
});
afterAll(async () => {
  await t.cleanup();
});

const topics = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(',');

describe('topic filters', () => {
  it('serves filters of every size up to the cap without preparing a statement per size', async () => {
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    try {
      for (let n = 1; n <= LIMITS.filterTopics; n++) {
        expect((await fetch(`${t.url}/history?after=0&topic=${topics(n)}`)).status).toBe(200);
        expect((await fetch(`${t.url}/history?last=5&topic=${topics(n)}`)).status).toBe(200);
      }
      expect(prepare).not.toHaveBeenCalled();
    } finally {
      prepare.mockRestore();
    }
  });

  it('refuses a filter of more topics than the cap with 400 naming topic, on /history and /events', async () => {
    for (const route of ['/history?after=0&', '/events?', '/connect?']) {
      const res = await fetch(`${t.url}${route}topic=${topics(LIMITS.filterTopics + 1)}`);
      expect(res.status, route).toBe(400);
      const body = (await res.json()) as { error: { code: string; field: string; message: string } };
      expect(body.error).toEqual({
        code: 'bad_request',
        field: 'topic',
        message: `topic: at most ${LIMITS.filterTopics} topics in one filter: subscribe to fewer, or leave topic out to get every topic.`,
      });
    }
    // The same topic many times over is one topic.
    expect((await fetch(`${t.url}/history?after=0&topic=${Array(500).fill('t1').join(',')}`)).status).toBe(200);
  });

  it('a stream filtered on several topics replays and goes live with exactly those topics, in order', async () => {
    const client = listen(`${t.url}/events?topic=t1,t3,t6&lastEventId=0`);
    const expected = (await history(t.url, 'after=0&limit=1000')).events.filter((e) => ['t1', 't3', 't6'].includes(e.topic));
    await waitFor(() => client.received.length === expected.length, 'the replay');
    const live = await publish(t.url, { title: 'live', topic: 't3' });
    await publish(t.url, { title: 'not for it', topic: 't2' });
    await waitFor(() => client.received.length === expected.length + 1, 'the live event');
    expect(client.events()).toEqual([...expected, live]);
    client.close();
  });
});

describe('EventLog topic reads', () => {
  it('pages through several topics exactly as filtering the whole log would, from after and from last', () => {
    const dir = tempDir();
    const log = new EventLog({ dataDir: dir, fileCheckMs: 0 });
    try {
      // Topics of very different sizes, interleaved: t0 common, t5 rare.
      const all = log.append(
        Array.from({ length: 600 }, (_, i) => ({
          type: 'notification',
          topic: i % 97 === 0 ? 't5' : `t${i % 3}`,
          title: `e${i}`,
          priority: 3 as const,
        })),
      );
      const want = (set: string[]) => all.filter((e) => set.includes(e.topic)).map((e) => e.id);
      for (const set of [['t0'], ['t5'], ['t0', 't5'], ['t1', 't2', 't5'], ['t5', 'nothing'], ['t0', 't1', 't2', 't5']]) {
        for (const limit of [1, 7, 100, 1000]) {
          const got: number[] = [];
          let after = 0;
          for (;;) {
            const page = log.readAfter(after, { topics: set, limit });
            got.push(...page.map((e) => e.id));
            if (page.length < limit) break;
            after = page.at(-1)!.id;
          }
          expect(got, `${set} limit ${limit}`).toEqual(want(set));
          expect(
            log.readLast(limit, set).map((e) => e.id),
            `${set} last ${limit}`,
          ).toEqual(want(set).slice(-limit));
        }
      }
      expect(() => log.readAfter(0, { topics: topics(LIMITS.filterTopics + 1).split(','), limit: 10 })).toThrow(RangeError);
    } finally {
      log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a log written before the topic index gets it when opened, says so once, and serves topic filters from it', () => {
    const dir = tempDir();
    try {
      const first = new EventLog({ dataDir: dir, fileCheckMs: 0 });
      const all = first.append(
        Array.from({ length: 20 }, (_, i) => ({ type: 'notification', topic: `t${i % 4}`, title: `e${i}`, priority: 3 as const })),
      );
      first.close();
      // What an older Herald left: the same log without the index.
      const old = new Database(path.join(dir, 'herald.db'));
      old.exec('DROP INDEX events_topic_id');
      old.close();

      const said: string[] = [];
      const log = new EventLog({ dataDir: dir, fileCheckMs: 0, log: (line) => said.push(line) });
      try {
        expect(said.filter((line) => line.startsWith('built the topic index of '))).toHaveLength(1);
        expect(log.readAfter(0, { topics: ['t1', 't3'], limit: 100 }).map((e) => e.id)).toEqual(
          all.filter((e) => e.topic === 't1' || e.topic === 't3').map((e) => e.id),
        );
      } finally {
        log.close();
      }
      const again: string[] = [];
      new EventLog({ dataDir: dir, fileCheckMs: 0, log: (line) => again.push(line) }).close();
      expect(again.filter((line) => line.startsWith('built the topic index'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
