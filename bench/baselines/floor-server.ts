// Baseline 3, the floor: the work Herald does for each scenario, done as plainly as Node allows,
// so that Herald/floor says what Herald's own code costs. The two other baselines are naive (the
// seed server serializes each event again per subscriber; better-sse keeps a timer per session);
// this one is the competent peer.
//
// - node:http, no framework, no checks (no validation, auth, Host/Origin check, topics, backlog
//   bound, log lines).
// - POST /events: the body read and parsed, an id and a time stamped, the row inserted into SQLite
//   (better-sqlite3, WAL, synchronous=NORMAL: Herald's defaults), every publish that arrives in one
//   turn of the event loop in one transaction; each publisher answered 201 with the stored JSON;
//   then each event framed once and the same Buffer written to every open stream's socket.
// - GET /events: 200 text/event-stream without chunked coding, `retry:`, and the body written
//   straight to the socket. With Last-Event-ID, the stored rows are read in pages of 500 and
//   framed straight from SQLite (id, event, data = the stored JSON), one write per page, waiting
//   for the socket to drain; then the stream goes live (no replay/live seam: the benchmark
//   publishes nothing while a replay runs).
// - One heartbeat timer for every stream (15 s, Herald's default).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BaselineOptions, RunningBaseline } from './seed-server.ts';

export interface FloorOptions extends BaselineOptions {
  /** Directory for its SQLite file (floor.db), created if missing. */
  dataDir: string;
  /** Replay from this existing event log (Herald's herald.db: same columns) instead, read-only. */
  replayFrom?: string;
}

const HEARTBEAT_MS = 15_000;
const PAGE = 500;
const HEARTBEAT = Buffer.from(':\n\n');

export async function startFloorServer(options: FloorOptions): Promise<RunningBaseline & { stats(): { streams: number } }> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const db = new Database(options.replayFrom ?? path.join(options.dataDir, 'floor.db'), options.replayFrom ? { readonly: true } : {});
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (!options.replayFrom)
    db.exec(
      'CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, topic TEXT NOT NULL, type TEXT NOT NULL, json TEXT NOT NULL)',
    );
  const insert = options.replayFrom ? undefined : db.prepare('INSERT INTO events (id, time_ms, topic, type, json) VALUES (?, ?, ?, ?, ?)');
  const page = db.prepare('SELECT id, type, json FROM events WHERE id > ? ORDER BY id LIMIT ?');
  let lastId = (db.prepare('SELECT MAX(id) FROM events').pluck().get() as number | null) ?? 0;
  const live = new Set<Socket>();

  interface Pending {
    body: Record<string, unknown>;
    res: http.ServerResponse;
  }
  let pending: Pending[] = [];
  const commit = db.transaction((batch: Pending[]) => {
    const time = Date.now();
    return batch.map(({ body }) => {
      const id = ++lastId;
      const type = typeof body.type === 'string' ? body.type : 'notification';
      const topic = typeof body.topic === 'string' ? body.topic : 'default';
      const json = JSON.stringify({ ...body, id: String(id), type, topic, time: new Date(time).toISOString() });
      insert!.run(id, time, topic, type, json);
      return { id, type, json };
    });
  });
  const flush = () => {
    const batch = pending;
    pending = [];
    const stored = commit(batch);
    batch.forEach(({ res }, i) => res.writeHead(201, { 'Content-Type': 'application/json' }).end(stored[i]!.json));
    for (const event of stored) {
      const frame = Buffer.from(`id: ${event.id}\nevent: ${event.type}\ndata: ${event.json}\n\n`);
      for (const socket of live) socket.write(frame);
    }
  };

  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/events' && insert) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          res.writeHead(400).end();
          return;
        }
        if (pending.length === 0) setImmediate(flush);
        pending.push({ body, res });
      });
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/events')) {
      res.useChunkedEncodingByDefault = false;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
      const socket = res.socket!;
      socket.write('retry: 3000\n\n');
      res.on('close', () => live.delete(socket));
      res.on('error', () => {});
      const header = req.headers['last-event-id'];
      if (typeof header === 'string' && /^\d+$/.test(header)) void replay(socket, Number(header));
      else live.add(socket);
      return;
    }
    res.writeHead(404).end();
  });

  async function replay(socket: Socket, afterId: number): Promise<void> {
    let after = afterId;
    for (;;) {
      const rows = page.all(after, PAGE) as Array<{ id: number; type: string; json: string }>;
      let chunk = '';
      for (const row of rows) chunk += `id: ${row.id}\nevent: ${row.type}\ndata: ${row.json}\n\n`;
      if (rows.length > 0) after = rows.at(-1)!.id;
      if (socket.destroyed) return;
      const full = socket.write(chunk);
      if (rows.length < PAGE) break;
      if (!full) await new Promise((resolve) => socket.once('drain', resolve));
    }
    live.add(socket);
  }

  const heartbeat = setInterval(() => {
    for (const socket of live) socket.write(HEARTBEAT);
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    stats: () => ({ streams: live.size }),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        server.closeAllConnections();
        server.close(() => {
          db.close();
          resolve();
        });
      }),
  };
}
