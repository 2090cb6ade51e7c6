// The HTTP layer under attack, over raw sockets: slow or idle connections are closed on time and
// cannot lock new clients out, and a body larger than the limit is refused from its declared
// size, before it is sent (also for Expect: 100-continue).
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../events/event.ts';
import { history, listen, publish, startTestServer, tempDir, waitFor, type TestServer } from './harness.ts';
import fs from 'node:fs';

let t: TestServer | undefined;
const sockets: net.Socket[] = [];
const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await t?.cleanup();
  t = undefined;
});

interface Raw {
  socket: net.Socket;
  text(): string;
  closed(): boolean;
}

async function raw(port: number): Promise<Raw> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, text: () => text, closed: () => closed };
}

function hasPrlimit(): boolean {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('slow and idle connections', () => {
  it('closes a connection that trickles its request head (slowloris) once headersTimeoutMs has passed', async () => {
    t = await startTestServer({ connections: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } });
    const c = await raw(t.server.port);
    const head = `GET /history HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`;
    let i = 0;
    const timer = setInterval(() => {
      if (!c.closed() && i < head.length) c.socket.write(head[i++]!);
    }, 100);
    try {
      await waitFor(() => c.closed(), 'the slow head to be cut off', 8000);
    } finally {
      clearInterval(timer);
    }
    expect(i).toBeLessThan(head.length); // cut off while still trickling (the whole head takes ~22 s)
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a POST whose body trickles once requestTimeoutMs has passed, and stores nothing', async () => {
    t = await startTestServer({ connections: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } });
    const c = await raw(t.server.port);
    const body = JSON.stringify({ title: 'trickled', body: 'x'.repeat(100) });
    c.socket.write(`POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    let i = 0;
    const timer = setInterval(() => {
      if (!c.closed() && i < body.length) c.socket.write(body[i++]!);
    }, 100);
    try {
      await waitFor(() => c.closed(), 'the slow body to be cut off', 8000);
    } finally {
      clearInterval(timer);
    }
    expect(i).toBeLessThan(body.length);
    expect((await history(t.url)).events).toEqual([]);
  });

  it('idle connections cannot lock new clients out: past the cap the oldest is closed, and the log says so once', async () => {
    t = await startTestServer({ connections: { maxOtherConnections: 20 } });
    const old = await Promise.all(Array.from({ length: 20 }, () => raw(t!.server.port)));
    await new Promise((r) => setTimeout(r, 1100)); // idle for a while: no longer a burst
    const newer = await Promise.all(Array.from({ length: 20 }, () => raw(t!.server.port)));
    await waitFor(() => old.every((c) => c.closed()), 'the oldest idle connections to be closed');
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    expect(newer.every((c) => !c.closed())).toBe(true); // the newer ones are still open: the oldest went first
    expect(t.server.stats().evicted).toBe(20);
    const said = t.lines.filter((l) =>
      l.startsWith('connection limit: 20 connections that are not streams are open (limit 20); closed the oldest'),
    );
    expect(said).toHaveLength(1); // once, not once per connection
  });

  it('a burst of new clients past the cap is not taken for an attack: everyone is answered', async () => {
    t = await startTestServer({ connections: { maxOtherConnections: 20 } });
    const burst = await Promise.all(Array.from({ length: 60 }, () => raw(t!.server.port)));
    for (const c of burst) c.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor(() => burst.every((c) => c.text().startsWith('HTTP/1.1 200 ') || c.closed()), 'every client answered or closed');
    // None was closed before its answer (an idle one, once answered and past a second old, may be).
    expect(burst.filter((c) => !c.text().startsWith('HTTP/1.1 200 '))).toEqual([]);
  });

  it('a stream is not an idle connection: it outlives the timeouts and a flood of idle sockets', async () => {
    t = await startTestServer({ connections: { maxOtherConnections: 10, headersTimeoutMs: 500, requestTimeoutMs: 1000 } });
    const client = listen(`${t.url}/events`);
    await waitFor(() => client.opens === 1, 'stream open');
    await Promise.all(Array.from({ length: 40 }, () => raw(t!.server.port)));
    await new Promise((r) => setTimeout(r, 2500)); // past both timeouts and a few checking intervals
    const event = await publish(t.url, { title: 'still here' });
    await waitFor(() => client.received.length === 1, 'the event on the stream');
    expect(client.events()).toEqual([event]);
    expect(client.opens).toBe(1);
    client.close();
  });

  it.skipIf(!hasPrlimit())(
    'with few file descriptors, a flood of idle sockets still leaves room for /health (a real low ulimit)',
    async () => {
      const dataDir = tempDir();
      const entry = path.resolve('test/server/fixtures/serve-child.ts');
      const child = spawn('prlimit', ['--nofile=300:300', process.execPath, entry, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      await waitFor(() => out.includes('\n'), 'the server child');
      const url = (JSON.parse(out.split('\n')[0]!) as { url: string }).url;
      const port = Number(new URL(url).port);
      expect(err).toContain('the open-file limit is 300: at most');
      const flood = await Promise.all(Array.from({ length: 500 }, () => raw(port).catch(() => undefined)));
      expect(flood.filter(Boolean).length).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
        expect(res.status).toBe(200);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    30_000,
  ); // a server process and 500 connections: slow on a loaded machine
});

describe('bodies refused from their declared size', () => {
  it('answers 413 at once to Content-Length 10^15 with 10 bytes sent, then closes', async () => {
    t = await startTestServer();
    const c = await raw(t.server.port);
    c.socket.write(
      `POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000000000\r\n\r\n{"title":`,
    );
    await waitFor(() => c.text().includes('\r\n\r\n{'), 'the answer');
    expect(c.text()).toMatch(/^HTTP\/1\.1 413 /);
    expect(c.text()).toMatch(/\r\nconnection: close\r\n/i);
    const body = JSON.parse(c.text().slice(c.text().indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toContain(`larger than ${LIMITS.bodyBytes} bytes (Content-Length: 1000000000000000)`);
    await waitFor(() => c.closed(), 'the connection to close', 5000);
  });

  it('answers Expect: 100-continue with a declared 1 MB by 413, never 100 Continue', async () => {
    t = await startTestServer();
    const c = await raw(t.server.port);
    c.socket.write(
      `POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1048576\r\nExpect: 100-continue\r\n\r\n`,
    );
    await waitFor(() => c.text().includes('\r\n\r\n{'), 'the answer');
    expect(c.text()).not.toContain('100 Continue');
    expect(c.text()).toMatch(/^HTTP\/1\.1 413 /);
    await waitFor(() => c.closed(), 'the connection to close', 5000);
  });

  it('still answers 100 Continue to a body within the limit, and stores it', async () => {
    t = await startTestServer();
    const c = await raw(t.server.port);
    const body = '{"title":"continued"}';
    c.socket.write(
      `POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await waitFor(() => c.text().includes('100 Continue'), '100 Continue');
    c.socket.write(body);
    await waitFor(() => /HTTP\/1\.1 201 /.test(c.text()), 'the 201');
    expect((await history(t.url)).events.map((e) => e.title)).toEqual(['continued']);
  });

  it('takes the declared size a route allows: a CI hook up to 1 MiB, an event 64 KiB', async () => {
    t = await startTestServer();
    const ask = async (path: string, length: number) => {
      const c = await raw(t!.server.port);
      c.socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await waitFor(() => /^HTTP\/1\.1 \d{3} /.test(c.text()), 'an answer');
      return c.text().slice(9, 12);
    };
    expect(await ask('/hooks/github', 200 * 1024)).toBe('100');
    expect(await ask('/hooks/github', 2 * 1024 * 1024)).toBe('413');
    expect(await ask('/events', 200 * 1024)).toBe('413');
  });

  it('answers 413 to a chunked body as soon as it passes the limit, without waiting for its end', async () => {
    t = await startTestServer();
    const c = await raw(t.server.port);
    c.socket.write(`POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 5; i++) c.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await waitFor(() => /^HTTP\/1\.1 413 /.test(c.text()), 'the 413 before the body ends');
    await waitFor(() => c.closed(), 'the connection to close', 5000);
    expect((await history(t.url)).events).toEqual([]);
  });
});
