// A 201 means stored: the server process is killed (SIGKILL) right after the answer, started
// again on the same data dir, and the event is there; ids keep growing and are never reused.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { history, killHard as killProcess, processesAndDirs, publish, spawnServerProcess } from './harness.ts';

const { children, tempDir } = processesAndDirs();

const spawnServer = (dataDir: string) => spawnServerProcess(dataDir, children);
const killHard = (child: ChildProcess) => killProcess(child, children);

describe('durability', () => {
  it('keeps every acknowledged event across kill -9, and the next id is greater', async () => {
    const dataDir = tempDir();
    const first = await spawnServer(dataDir);
    // A burst of concurrent publishes (group commit puts them in shared transactions), then the last one alone.
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => publish(first.url, { title: `burst ${i}` })));
    const last = await publish(first.url, { title: 'acknowledged, then the process dies', body: 'ü' });
    await killHard(first.child); // no graceful close: SIGKILL right after the 201

    const second = await spawnServer(dataDir);
    const page = await history(second.url);
    expect(page.events.map((e) => e.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      [...burst, last].map((e) => e.id).sort((a, b) => Number(a) - Number(b)),
    );
    expect(page.events.at(-1)).toEqual(last);
    const next = await publish(second.url, { title: 'after restart' });
    expect(Number(next.id)).toBeGreaterThan(Number(last.id));
    await killHard(second.child);
  });

  it('never reuses ids, even after retention dropped every stored event', async () => {
    const { startServer } = await import('../../server/serve.ts');
    const dataDir = tempDir();
    const options = { port: 0, dataDir, webRoot: null, log: () => {}, retention: { maxEvents: 2 } };
    let server = await startServer(options);
    for (let i = 0; i < 5; i++) await publish(server.url, { title: `e${i}` });
    await server.close();
    server = await startServer({ ...options, retention: { maxAgeMs: 1 } });
    await new Promise((r) => setTimeout(r, 20));
    expect((await history(server.url)).events).toEqual([]);
    expect((await history(server.url)).lastId).toBe('5');
    const next = await publish(server.url, { title: 'next' });
    expect(next.id).toBe('6');
    await server.close();
  });
});

describe('shutdown on SIGTERM', () => {
  it('ends open streams, flushes the log and exits 0', async () => {
    const dataDir = tempDir();
    const { child, url } = await spawnServer(dataDir);
    await publish(url, { title: 'kept' });
    const res = await fetch(`${url}/events?lastEventId=0`);
    const reader = res.body!.getReader();
    let text = '';
    const ended = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return true;
        text += new TextDecoder().decode(value);
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    children.delete(child);
    expect(await ended).toBe(true); // the stream ended cleanly (a client would reconnect)
    expect(text).toContain('"kept"');
    // the WAL was checkpointed into the database file on close
    expect(fs.statSync(`${dataDir}/herald.db-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });
});
