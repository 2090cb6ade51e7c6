// GET /events and GET /connect are served without Express (server/routes.ts serveStreamDirectly), so
// that an idle stream costs what Node costs: these hold the line that they still answer exactly
// as the routes Express serves do, through the one RequestGuard: the same headers, the same
// error bodies and statuses, the same client address behind a trusted proxy.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { GAP_TYPE } from '../../events/event.ts';
import { listen, publish, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const TOKEN = 's3cret-token';
const GUARD_HEADERS = ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'vary'];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request (any Host, any request target); a stream's answer is read up to its head and first bytes. */
function request(url: string, options: { method?: string; path: string; headers?: Record<string, string> }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { Host: `${hostname}:${port}`, ...options.headers },
        setHost: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        const done = () => resolve({ status: res.statusCode!, headers: res.headers, body });
        res.on('data', (c: string) => {
          body += c;
          if (res.headers['content-type']?.startsWith('text/event-stream') && body.includes('\n\n')) {
            done();
            req.destroy();
          }
        });
        res.on('end', done);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The headers two answers must share, without the ones that differ by nature (date, length, type). */
function guardHeaders(answer: Answer): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(answer.headers).filter(([name]) => GUARD_HEADERS.includes(name) || name.startsWith('access-control-')),
  );
}

describe('the event stream, served without Express', () => {
  it('answers its errors with the same body, status and guard headers as a route Express serves', async () => {
    t = await startTestServer({ token: TOKEN, allowedOrigins: ['https://dash.example'] });
    const listed = { Origin: 'https://dash.example' };
    // 401, for a page on a listed origin too: the CORS headers let it read why.
    const stream401 = await request(t.url, { path: '/events', headers: listed });
    const history401 = await request(t.url, { path: '/history', headers: listed });
    expect(stream401.status).toBe(401);
    expect(JSON.parse(stream401.body)).toEqual(JSON.parse(history401.body));
    expect(guardHeaders(stream401)).toEqual(guardHeaders(history401));
    expect(stream401.headers['access-control-allow-origin']).toBe('https://dash.example');
    expect(stream401.headers['www-authenticate']).toBe(history401.headers['www-authenticate']);
    expect(stream401.headers['content-type']).toBe(history401.headers['content-type']);
    // 403 for a Host that is not this server's (DNS rebinding), and for a foreign Origin.
    for (const headers of [{ Host: 'evil.example' }, { Origin: 'https://evil.example' }] as Record<string, string>[]) {
      const onStream = await request(t.url, { path: `/connect?token=${TOKEN}`, headers });
      const onHistory = await request(t.url, { path: `/history?token=${TOKEN}`, headers });
      expect(onStream.status).toBe(403);
      expect(JSON.parse(onStream.body)).toEqual(JSON.parse(onHistory.body));
      expect(guardHeaders(onStream)).toEqual(guardHeaders(onHistory));
    }
    // 400 for a bad query, naming the field, as /history names it.
    const badTopic = await request(t.url, { path: `/events?token=${TOKEN}&topic=no%20spaces`, headers: listed });
    const badHistoryTopic = await request(t.url, { path: `/history?token=${TOKEN}&topic=no%20spaces`, headers: listed });
    expect(badTopic.status).toBe(400);
    expect(JSON.parse(badTopic.body)).toEqual(JSON.parse(badHistoryTopic.body));
    expect(guardHeaders(badTopic)).toEqual(guardHeaders(badHistoryTopic));
    const twice = await request(t.url, { path: `/events?token=${TOKEN}&heartbeat=event&heartbeat=comment` });
    expect(twice.status).toBe(400);
    expect(JSON.parse(twice.body)).toMatchObject({ error: { code: 'bad_request', field: 'heartbeat' } });
    // Other methods are still Express's: 405.
    expect((await request(t.url, { method: 'PUT', path: `/events?token=${TOKEN}` })).status).toBe(405);
  });

  it('opens with the guard headers in its one head, for GET and HEAD, and a listed origin gets its CORS headers', async () => {
    t = await startTestServer({ token: TOKEN, allowedOrigins: ['https://dash.example'] });
    const history = await request(t.url, { path: `/history?token=${TOKEN}`, headers: { Origin: 'https://dash.example' } });
    for (const method of ['GET', 'HEAD']) {
      const stream = await request(t.url, { method, path: `/events?token=${TOKEN}`, headers: { Origin: 'https://dash.example' } });
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      // The document headers (CSP, Referrer-Policy) are left out of a stream's head, which Node
      // keeps for the stream's lifetime; the rest are the guard's, as on any answer.
      const { 'content-security-policy': csp, 'referrer-policy': referrer, ...rest } = guardHeaders(history);
      expect(csp).toBeDefined();
      expect(referrer).toBe('no-referrer');
      expect(guardHeaders(stream)).toEqual(rest);
      if (method === 'GET') expect(stream.body).toMatch(/^retry: \d+\n\n/);
    }
  });

  it('keeps the stream cap: 503 too_many_streams with Retry-After and the guard headers', async () => {
    t = await startTestServer({ maxStreams: 1 });
    const first = listen(`${t.url}/events`);
    await waitFor(() => first.opens === 1, 'the first stream');
    const refused = await request(t.url, { path: '/events' });
    first.close();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('10');
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'too_many_streams' } });
    for (const name of GUARD_HEADERS) expect(refused.headers[name]).toBeDefined();
  });

  it('resumes from ?lastEventId or Last-Event-ID with the topic filter, as before', async () => {
    t = await startTestServer({ retention: { maxEvents: 3 } });
    for (const topic of ['a', 'b', 'a', 'a', 'b']) await publish(t.url, { title: topic, topic });
    const byQuery = listen(`${t.url}/events?topic=a&lastEventId=1`, { types: ['notification', GAP_TYPE] });
    const byHeader = listen(`${t.url}/events?topic=b`, { types: ['notification', GAP_TYPE], headers: { 'Last-Event-ID': '1' } });
    await waitFor(() => byQuery.received.length === 3 && byHeader.received.length === 2, 'the gap and the kept events of each topic');
    byQuery.close();
    byHeader.close();
    expect(byQuery.received.map((r) => [r.type, r.lastEventId])).toEqual([
      [GAP_TYPE, '2'],
      ['notification', '3'],
      ['notification', '4'],
    ]);
    expect(byHeader.received.map((r) => [r.type, r.lastEventId])).toEqual([
      [GAP_TYPE, '2'],
      ['notification', '5'],
    ]);
  });

  it('names the client a trusted proxy forwards, in its log lines as in the publish rate', async () => {
    t = await startTestServer({ trustProxy: ['loopback'] });
    const forwarded = { 'X-Forwarded-For': '203.0.113.7, 127.0.0.1' };
    await request(t.url, { path: '/events', headers: forwarded });
    await request(t.url, { path: '/events?topic=no%20spaces', headers: forwarded });
    await waitFor(() => t!.lines.some((l) => l.startsWith('stream opened /events from 203.0.113.7 ')), 'the stream log line');
    expect(t.lines).toContain('rejected GET /events from 203.0.113.7: 400 bad_request (topic)');
    // An untrusted proxy's header is not believed.
    await t.cleanup();
    t = await startTestServer();
    await request(t.url, { path: '/events', headers: forwarded });
    await waitFor(
      () => t!.lines.some((l) => l.startsWith('stream opened /events from 127.0.0.1 ')),
      'the stream log line, without a trusted proxy',
    );
  });

  it('still serves a request whose target is an absolute URL (left to Express)', async () => {
    t = await startTestServer();
    const stream = await request(t.url, { path: `${t.url}/events?lastEventId=0` });
    expect(stream.status).toBe(200);
    expect(stream.body).toMatch(/^retry: \d+\n\n/);
    const {
      'content-security-policy': _csp,
      'referrer-policy': _referrer,
      ...rest
    } = guardHeaders(await request(t.url, { path: '/history' }));
    expect(guardHeaders(stream)).toEqual(rest);
  });
});
