// The SSE stream through the real eventsource client: framing, the founding note's /connect,
// heartbeats, retry, topic filters.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { EventSource } from 'eventsource';
import type { HeraldEvent } from '../../events/event.ts';
import { history, listen, publish, rawStream, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer({ heartbeatMs: 100, retryMs: 1234 });
});
afterEach(async () => {
  await t.cleanup();
});

describe('SSE framing', () => {
  it('delivers values with LF, CRLF, CR, blank lines, non-ASCII and forged fields exactly as stored', async () => {
    const client = listen(`${t.url}/events`);
    await waitFor(() => client.opens === 1, 'open');
    const bodies = [
      'line one\nline two',
      '\n\nstarts with blank lines\n\n\nand has more\n\n',
      'ends with LF\n',
      'Grüße, 東京, emoji 🚀, RTL ‏שלום‏',
      'x\nid: 999\nevent: evil\nretry: 1\ndata: forged\n\n: comment',
      ' leading space and trailing space ',
      'data: looks like a field',
    ];
    const sent: HeraldEvent[] = [];
    for (const body of bodies) sent.push(await publish(t.url, { title: 'T ✓ "quoted" \\ back', body }));
    // text/plain publishes: CRLF and lone CR line breaks become LF (JSON bodies must use LF).
    for (const text of ['windows\r\nline\r\n\r\nbreaks', 'old mac\rbreaks']) {
      const res = await fetch(`${t.url}/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain; charset=utf-8', Title: 'crlf' },
        body: text,
      });
      expect(res.status).toBe(201);
      sent.push((await res.json()) as HeraldEvent);
    }
    await waitFor(() => client.received.length === sent.length, 'all events');
    client.close();
    expect(client.events()).toEqual(sent);
    expect(client.received.map((r) => r.lastEventId)).toEqual(sent.map((e) => e.id));
    expect(client.received.every((r) => r.type === 'notification')).toBe(true);
    expect(sent.map((e) => e.body)).toEqual([...bodies, 'windows\nline\n\nbreaks', 'old mac\nbreaks']);
    // what the stream carried is what the log holds
    expect((await history(t.url)).events).toEqual(sent);
  });

  it('sends retry first, an id/event/data frame per event, and comment heartbeats', async () => {
    const raw = await rawStream(`${t.url}/events`);
    expect(raw.res.status).toBe(200);
    expect(raw.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(raw.res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(raw.res.headers.get('x-accel-buffering')).toBe('no');
    expect(raw.res.headers.get('content-encoding')).toBeNull();
    await waitFor(() => raw.text.length > 0, 'first bytes');
    expect(raw.text.startsWith('retry: 1234\n\n')).toBe(true);
    const e = await publish(t.url, { type: 'job.completed', title: 'done', job: { id: 'j1', status: 'succeeded' } });
    await waitFor(() => raw.text.includes(`id: ${e.id}\n`), 'event frame');
    expect(raw.text).toContain(`id: ${e.id}\nevent: job.completed\ndata: ${JSON.stringify(e)}\n\n`);
    await waitFor(() => (raw.text.match(/^: heartbeat\n\n/gm) ?? []).length >= 2, 'two heartbeats');
    await raw.close();
  });

  it('sends the stream without chunked coding: the body runs until the connection closes', async () => {
    const socket = net.connect(t.server.port, '127.0.0.1');
    let raw = '';
    let ended = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (raw += chunk));
    socket.on('end', () => (ended = true));
    socket.on('error', () => {});
    socket.write(`GET /connect HTTP/1.1\r\nHost: 127.0.0.1:${t.server.port}\r\n\r\n`);
    await waitFor(() => raw.includes('\r\n\r\nretry: 1234\n\n'), 'head and retry');
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).toLowerCase().split('\r\n');
    expect(head[0]).toBe('http/1.1 200 ok');
    expect(head).toContain('connection: close');
    expect(head.some((line) => line.startsWith('transfer-encoding:') || line.startsWith('content-length:'))).toBe(false);
    const e = await publish(t.url, { title: 'plain' });
    // The frame right after the head's blank line and retry: no chunk-size line anywhere.
    const body = `retry: 1234\n\nid: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`;
    await waitFor(() => raw.includes(`id: ${e.id}\n`) && raw.endsWith('\n\n'), 'event frame');
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/: heartbeat\n\n/g, '')).toBe(body);
    // The server ending the stream closes the connection: the client's end of the body.
    await t.server.close();
    await waitFor(() => ended, 'end of the connection');
    socket.destroy();
  });

  it('answers HEAD with the stream headers and no stream', async () => {
    const res = await fetch(`${t.url}/events`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(t.server.stats().streams).toBe(0);
  });

  it('filters by topic (topic=a,b)', async () => {
    const client = listen(`${t.url}/events?topic=builds,deploys`);
    await waitFor(() => client.opens === 1, 'open');
    await publish(t.url, { title: 'a', topic: 'builds' });
    await publish(t.url, { title: 'b', topic: 'other' });
    await publish(t.url, { title: 'c', topic: 'deploys' });
    await publish(t.url, { title: 'd' });
    await waitFor(() => client.received.length === 2, 'two events');
    await publish(t.url, { title: 'e', topic: 'builds' });
    await waitFor(() => client.received.length === 3, 'third event');
    client.close();
    expect(client.events().map((e) => e.title)).toEqual(['a', 'c', 'e']);
  });

  it('logs a line when a stream opens and closes', async () => {
    const client = listen(`${t.url}/events?topic=x`);
    await waitFor(() => client.opens === 1, 'open');
    client.close();
    await waitFor(() => t.lines.some((l) => l.startsWith('stream closed /events')), 'close line');
    expect(t.lines.some((l) => l.startsWith('stream opened /events from 127.0.0.1 topics=x'))).toBe(true);
    expect(t.lines.find((l) => l.startsWith('stream closed'))).toMatch(/client left/);
  });
});

describe("the founding note's protocol", () => {
  it('works with its own client code: new EventSource(url + "/connect"), a message listener, JSON.parse(event.data)', async () => {
    const messages: unknown[] = [];
    const eventSource = new EventSource(`${t.url}/connect`);
    eventSource.addEventListener('message', (event) => {
      messages.push(JSON.parse(event.data));
    });
    await new Promise<void>((resolve) => eventSource.addEventListener('open', () => resolve()));
    const res = await fetch(`${t.url}/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Hello from POST /message', message: 'multi\nline' }),
    });
    expect(res.status).toBe(201);
    const stored = (await res.json()) as HeraldEvent;
    expect(stored).toMatchObject({ type: 'notification', title: 'Hello from POST /message', body: 'multi\nline' });
    const job = await publish(t.url, { type: 'job.started', job: { id: 'j', status: 'running' } });
    await waitFor(() => messages.length === 2, 'two messages');
    eventSource.close();
    // /connect carries every type as a plain message, with ids
    expect(messages).toEqual([stored, job]);
  });

  it('/connect frames have ids and no event line, and resume like /events', async () => {
    const first = await publish(t.url, { title: 'one' });
    await publish(t.url, { title: 'two' });
    const raw = await rawStream(`${t.url}/connect`, { 'Last-Event-ID': first.id });
    await waitFor(() => raw.text.includes('"two"'), 'replayed event');
    await raw.close();
    expect(raw.text).not.toContain('event:');
    expect(raw.text).toMatch(/^retry: 1234\n\nid: 2\ndata: \{"id":"2"/);
  });

  it('POST /message refuses non-notification types and non-JSON bodies', async () => {
    let res = await fetch(`${t.url}/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'deploy.done', title: 'x' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('type');
    res = await fetch(`${t.url}/message`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
    expect(res.status).toBe(415);
    expect((await history(t.url)).events).toEqual([]);
  });
});
