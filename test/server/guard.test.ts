// Who may talk to the server: token auth, Origin refusal and CORS for allowed origins, the Host
// check against DNS rebinding, the publish rate, the stream limit; and the web UI's headers.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventSource } from 'eventsource';
import { history, listen, publish, startTestServer, tempDir, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const TOKEN = 's3cret-token';

/** fetch cannot set Host; a raw request can. */
function rawRequest(
  url: string,
  options: { method?: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers, setHost: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        if (res.headers['content-type']?.startsWith('text/event-stream')) req.destroy();
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('auth', () => {
  it('needs the token on every route but /health, by header or ?token=', async () => {
    t = await startTestServer({ token: TOKEN });
    for (const [method, route] of [
      ['GET', '/events'],
      ['GET', '/connect'],
      ['GET', '/history'],
      ['POST', '/events'],
      ['POST', '/message'],
    ] as const) {
      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${TOKEN}` }] as Array<Record<string, string>>) {
        const res = await fetch(`${t.url}${route}`, {
          method,
          headers: { 'Content-Type': 'application/json', ...headers },
          ...(method === 'POST' ? { body: '{"title":"x"}' } : {}),
        });
        expect(res.status, `${method} ${route} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
    }
    expect((await fetch(`${t.url}/events?token=wrong`)).status).toBe(401);
    expect((await fetch(`${t.url}/health`)).status).toBe(200);

    const stored = await publish(t.url, { title: 'with header' }, { Authorization: `Bearer ${TOKEN}` });
    const page = await history(t.url, `after=0&token=${TOKEN}`);
    expect(page.events).toEqual([stored]);
    expect(page.lastId).toBe('1'); // nothing from the refused publishes

    // eventsource with ?token= (a browser cannot send headers) and with the header through fetch
    const byQuery = listen(`${t.url}/events?token=${TOKEN}&lastEventId=0`);
    const byHeader = listen(`${t.url}/events?lastEventId=0`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    await waitFor(() => byQuery.received.length === 1 && byHeader.received.length === 1, 'events with token');
    byQuery.close();
    byHeader.close();

    // without it, the eventsource client is refused for good (status 401 is fatal to it)
    const refused = new EventSource(`${t.url}/events`);
    const error = await new Promise<{ code?: number }>((resolve) => refused.addEventListener('error', (e) => resolve(e as never)));
    expect(error.code).toBe(401);
    expect(refused.readyState).toBe(EventSource.CLOSED);
  });
});

describe('auth settings', () => {
  it('will not start with an empty token (it never means "no auth") or one that cannot be sent', async () => {
    const dataDir = tempDir();
    try {
      await expect(startTestServer({ token: '', dataDir })).rejects.toThrow(
        'the token is empty: give a token of visible characters, or none to run without one.',
      );
      await expect(startTestServer({ token: 'a b', dataDir })).rejects.toThrow(/white space/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('cross-origin requests', () => {
  it('refuses a foreign Origin on the stream and on publishes, and stores nothing', async () => {
    t = await startTestServer();
    const evil = { Origin: 'https://evil.example' };
    let res = await fetch(`${t.url}/events`, { headers: evil });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await fetch(`${t.url}/connect`, { headers: evil })).status).toBe(403);
    expect((await fetch(`${t.url}/history`, { headers: evil })).status).toBe(403);
    // the "simple" form post a hostile page can send without a preflight
    res = await fetch(`${t.url}/events`, { method: 'POST', headers: { ...evil, 'Content-Type': 'text/plain' }, body: 'pwned' });
    expect(res.status).toBe(403);
    res = await fetch(`${t.url}/message`, {
      method: 'POST',
      headers: { ...evil, 'Content-Type': 'application/json' },
      body: '{"title":"pwned"}',
    });
    expect(res.status).toBe(403);
    res = await fetch(`${t.url}/events`, { method: 'POST', headers: { Origin: 'null', 'Content-Type': 'text/plain' }, body: 'pwned' });
    expect(res.status).toBe(403);
    // a preflight from it gets no CORS grant
    res = await fetch(`${t.url}/events`, { method: 'OPTIONS', headers: { ...evil, 'Access-Control-Request-Method': 'POST' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    // what another site makes the browser fetch without an Origin (an <img>, a <script src>) is refused too
    res = await fetch(`${t.url}/history`, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' } });
    expect(res.status).toBe(403);
    res = await fetch(`${t.url}/events`, { headers: { 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors' } });
    expect(res.status).toBe(403);
    expect((await history(t.url)).events).toEqual([]);
    expect(t.lines.filter((l) => / 403 forbidden/.test(l)).length).toBeGreaterThanOrEqual(8);
    // a user following a link from elsewhere still gets the page
    const port = t.server.port;
    expect(
      (
        await rawRequest(t.url, {
          path: '/',
          headers: { Host: `127.0.0.1:${port}`, 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' },
        })
      ).status,
    ).toBe(200);
  });

  it('gives CORS headers to allowed origins (and preflights), and accepts its own origin', async () => {
    t = await startTestServer({ allowedOrigins: ['https://dash.example'] });
    const allowed = { Origin: 'https://dash.example' };
    let res = await fetch(`${t.url}/events`, {
      method: 'OPTIONS',
      headers: { ...allowed, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://dash.example');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    // credentialed requests (EventSource withCredentials, fetch credentials: 'include') need this, and the exact origin
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    res = await fetch(`${t.url}/events`, {
      method: 'POST',
      headers: { ...allowed, 'Content-Type': 'application/json' },
      body: '{"title":"from the dashboard"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://dash.example');
    expect(res.headers.get('vary')).toMatch(/Origin/);
    res = await fetch(`${t.url}/history`, { headers: allowed });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://dash.example');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const abort = new AbortController();
    const stream = await fetch(`${t.url}/events`, { headers: allowed, signal: abort.signal });
    expect(stream.headers.get('access-control-allow-origin')).toBe('https://dash.example');
    expect(stream.headers.get('access-control-allow-credentials')).toBe('true');
    abort.abort();
    // our own origin (the web UI we serve) needs no CORS grant and is accepted
    res = await fetch(`${t.url}/history`, { headers: { Origin: t.url } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    // our own page's POST under Referrer-Policy: no-referrer arrives as Origin: null, marked same-origin by the browser
    res = await fetch(`${t.url}/events`, {
      method: 'POST',
      headers: { Origin: 'null', 'Sec-Fetch-Site': 'same-origin', 'Content-Type': 'text/plain' },
      body: 'from our own page',
    });
    expect(res.status).toBe(201);
    // another origin is still refused
    expect((await fetch(`${t.url}/history`, { headers: { Origin: 'https://dash.example.evil' } })).status).toBe(403);
  });
});

describe('DNS rebinding', () => {
  it('refuses a Host that is not one of its own names when bound to loopback', async () => {
    t = await startTestServer();
    const port = t.server.port;
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', `[::2]:${port}`]) {
      const res = await rawRequest(t.url, { path: '/events', headers: { Host: host } });
      expect(res.status, host).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe('forbidden');
      const post = await rawRequest(t.url, {
        method: 'POST',
        path: '/events',
        headers: { Host: host, 'Content-Type': 'text/plain' },
        body: 'rebound',
      });
      expect(post.status, host).toBe(403);
    }
    expect((await rawRequest(t.url, { path: '/health', headers: { Host: 'evil.example' } })).status).toBe(403);
    for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, '127.0.0.1', `[::1]:${port}`, 'LOCALHOST']) {
      const res = await rawRequest(t.url, { path: '/history', headers: { Host: host } });
      expect(res.status, host).toBe(200);
    }
    expect((await history(t.url)).events).toEqual([]);
  });
});

describe('DNS rebinding off loopback', () => {
  it("bound to 0.0.0.0 without a token, a page on another name is refused; the machine's names, addresses and --allowed-host are served", async () => {
    t = await startTestServer({ host: '0.0.0.0', allowedHosts: ['herald.example.com'] });
    const url = `http://127.0.0.1:${t.server.port}`;
    const port = t.server.port;
    for (const host of ['evil.test', `evil.test:${port}`, `rebind.evil.test:${port}`, `${os.hostname()}.evil.test`]) {
      expect((await rawRequest(url, { path: '/history', headers: { Host: host } })).status, host).toBe(403);
      const post = await rawRequest(url, {
        method: 'POST',
        path: '/events',
        headers: { Host: host, 'Content-Type': 'text/plain' },
        body: 'rebound',
      });
      expect(post.status, host).toBe(403);
      expect(JSON.parse(post.body).error.message).toContain('--allowed-host NAME');
    }
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `${os.hostname()}:${port}`,
      os.hostname().toUpperCase(),
      `herald.example.com:${port}`,
      'herald.example.com.',
      `10.1.2.3:${port}`,
      `[fd00::1]:${port}`,
    ]) {
      expect((await rawRequest(url, { path: '/history', headers: { Host: host } })).status, host).toBe(200);
    }
    expect((await history(url)).events).toEqual([]);
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After past the publish rate, per client, storing nothing', async () => {
    t = await startTestServer({ publishRate: { capacity: 3, refillPerSecond: 0.5 } });
    for (let i = 0; i < 3; i++) await publish(t.url, { title: `ok ${i}` });
    const res = await fetch(`${t.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title":"one too many"}',
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too_many_requests');
    const text = await fetch(`${t.url}/events`, { method: 'POST', body: 'also too many' });
    expect(text.status).toBe(429);
    expect((await history(t.url)).events.map((e) => e.title)).toEqual(['ok 0', 'ok 1', 'ok 2']);
    // reading is not rate limited
    expect((await fetch(`${t.url}/history`)).status).toBe(200);
  });

  it('answers 503 too_many_streams with Retry-After past maxStreams, and frees the slot on close', async () => {
    t = await startTestServer({ maxStreams: 2 });
    const a = listen(`${t.url}/events`);
    const b = listen(`${t.url}/connect`);
    await waitFor(() => a.opens === 1 && b.opens === 1, 'two streams');
    const res = await fetch(`${t.url}/events`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('10');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    a.close();
    await waitFor(() => t!.server.stats().streams === 1, 'slot freed');
    const c = listen(`${t.url}/events`);
    await waitFor(() => c.opens === 1, 'third stream after a close');
    b.close();
    c.close();
  });
});

describe('the web UI', () => {
  it('serves webRoot at / with a strict CSP, nosniff and no-referrer, without needing the token', async () => {
    const webRoot = tempDir('herald-web-');
    fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>Herald</title><script src="/app.js"></script>');
    fs.writeFileSync(path.join(webRoot, 'app.js'), 'console.log("hi")');
    try {
      t = await startTestServer({ webRoot, token: TOKEN });
      const res = await fetch(`${t.url}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>Herald</title>');
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const js = await fetch(`${t.url}/app.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      // the API still needs the token
      expect((await fetch(`${t.url}/history`)).status).toBe(401);
    } finally {
      fs.rmSync(webRoot, { recursive: true, force: true });
    }
  });

  it('explains how to build the UI when webRoot has no index.html', async () => {
    const webRoot = tempDir('herald-web-empty-');
    try {
      t = await startTestServer({ webRoot });
      const res = await fetch(`${t.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('npm run build:renderer');
    } finally {
      fs.rmSync(webRoot, { recursive: true, force: true });
    }
  });
});

describe('/health', () => {
  it('reports version, uptime, subscribers, stored events and the last id', async () => {
    t = await startTestServer();
    await publish(t.url, { title: 'one' });
    const client = listen(`${t.url}/events`);
    await waitFor(() => client.opens === 1, 'open');
    const health = (await (await fetch(`${t.url}/health`)).json()) as Record<string, unknown>;
    client.close();
    const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(health).toMatchObject({ status: 'ok', version, subscribers: 1, storedEvents: 1, lastId: '1' });
    expect(typeof health.uptimeSeconds).toBe('number');
  });
});
