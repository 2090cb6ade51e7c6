// A companion server holding a backlog, in its own process (bench/store.ts's catch-up): `node
// bench/backlog-server.ts N` publishes N job events, prints {"url","lastId"} on stdout, and
// closes when its stdin closes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HeraldEvent } from '../events/event.ts';

const count = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write(`bench/backlog-server: give the number of events, got ${process.argv[2]}\n`);
  process.exit(2);
}
await serveBacklog(count);

async function serveBacklog(count: number): Promise<void> {
  const { startServer } = await import('../server/serve.ts');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-backlog-'));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    webRoot: null,
    fsync: false,
    publishRate: { capacity: count + 10, refillPerSecond: count },
    log: () => undefined,
  });
  let lastId = '0';
  for (let i = 1; i <= count; i++) {
    const res = await fetch(`${server.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(backlogEvent(i)),
    });
    if (res.status !== 201) throw new Error(`bench/store: publishing the backlog failed with ${res.status}: ${await res.text()}`);
    lastId = ((await res.json()) as HeraldEvent).id;
  }
  process.stdout.write(`${JSON.stringify({ url: server.url, lastId })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server.close().finally(() => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

/** A job event as a publisher sends it (body and output tail filled in). */
function backlogEvent(i: number): Record<string, unknown> {
  return {
    type: 'job.completed',
    topic: 'build',
    title: `build ${i} succeeded`,
    body: 'x'.repeat(200),
    job: { id: `j${i}`, name: `build ${i}`, status: 'succeeded', exitCode: 0, durationMs: 180_000, outputTail: 'y'.repeat(100) },
  };
}
