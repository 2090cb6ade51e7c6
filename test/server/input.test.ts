// Every bad input in the contract gets the right status and a JSON error naming what to fix, and
// stores nothing. Plus the curl-friendly text/plain publish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../events/event.ts';
import { history, startTestServer, type TestServer } from './harness.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.cleanup();
});

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

async function post(
  path: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; json: ErrorBody; headers: Headers }> {
  const res = await fetch(`${t.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as ErrorBody, headers: res.headers };
}

const json = { 'Content-Type': 'application/json' };
const long = (n: number) => 'x'.repeat(n);

const badFields: Array<[string, Record<string, unknown>, string]> = [
  ['type with capitals and spaces', { type: 'Bad Type', title: 't' }, 'type'],
  ['a reserved herald.* type', { type: 'herald.gap', title: 't' }, 'type'],
  ['a type too long', { type: long(65), title: 't' }, 'type'],
  ['a topic with a space', { topic: 'has space', title: 't' }, 'topic'],
  ['a topic too long', { topic: long(65), title: 't' }, 'topic'],
  ['a title too long', { title: long(LIMITS.titleLength + 1) }, 'title'],
  ['a title with a line break', { title: 'two\nlines' }, 'title'],
  ['a title that is a number', { title: 42 }, 'title'],
  ['no title and no body', { topic: 'a' }, 'title'],
  ['a body too long', { title: 't', body: long(LIMITS.bodyLength + 1) }, 'body'],
  ['a body with a control character', { title: 't', body: 'bell\u0007' }, 'body'],
  ['a body with an escape sequence', { title: 't', body: '\u001b[31mred' }, 'body'],
  ['a title with a C1 CSI (U+009B)', { title: '\u009b31mred' }, 'title'],
  ['a body with a C1 OSC (U+009D)', { title: 't', body: '\u009d0;owned\u0007' }, 'body'],
  ['a duration of 1e308 ms', { type: 'job.completed', job: { id: 'j', status: 'succeeded', durationMs: 1e308 } }, 'job.durationMs'],
  ['both body and message', { title: 't', body: 'a', message: 'b' }, 'message'],
  ['priority 0', { title: 't', priority: 0 }, 'priority'],
  ['priority 6', { title: 't', priority: 6 }, 'priority'],
  ['priority as a word in JSON', { title: 't', priority: 'high' }, 'priority'],
  ['a fractional priority', { title: 't', priority: 2.5 }, 'priority'],
  ['tags not an array', { title: 't', tags: 'a' }, 'tags'],
  ['too many tags', { title: 't', tags: Array.from({ length: LIMITS.tagCount + 1 }, (_, i) => `t${i}`) }, 'tags'],
  ['a tag with a comma', { title: 't', tags: ['ok', 'a,b'] }, 'tags[1]'],
  ['an empty tag', { title: 't', tags: [''] }, 'tags[0]'],
  ['a javascript: url', { title: 't', url: 'javascript:alert(1)' }, 'url'],
  ['a file: url', { title: 't', url: 'file:///etc/passwd' }, 'url'],
  ['a relative url', { title: 't', url: '/path' }, 'url'],
  ['a url too long', { title: 't', url: `https://example.com/${long(LIMITS.urlLength)}` }, 'url'],
  ['a job event without job', { type: 'job.completed', title: 't' }, 'job'],
  ['a job with a bad status', { type: 'job.completed', job: { id: 'j', status: 'done' } }, 'job.status'],
  ['a job without id', { type: 'job.completed', job: { status: 'succeeded' } }, 'job.id'],
  ['a job exit code that is not a number', { type: 'job.failed', job: { id: 'j', status: 'failed', exitCode: 'x' } }, 'job.exitCode'],
  ['a negative duration', { type: 'job.failed', job: { id: 'j', status: 'failed', durationMs: -1 } }, 'job.durationMs'],
  ['an unknown job field', { type: 'job.failed', job: { id: 'j', status: 'failed', pid: 1 } }, 'job.pid'],
  [
    'an output tail too long',
    { type: 'job.failed', job: { id: 'j', status: 'failed', outputTail: long(LIMITS.outputTailLength + 1) } },
    'job.outputTail',
  ],
  ['an unknown field', { title: 't', foo: 1 }, 'foo'],
  ['an id (set by the server)', { title: 't', id: '5' }, 'id'],
  ['a time (set by the server)', { title: 't', time: '2020-01-01T00:00:00Z' }, 'time'],
];

describe('POST /events with bad JSON fields', () => {
  it.each(badFields)('refuses %s with 400 naming the field', async (_what, body, field) => {
    const res = await post('/events', JSON.stringify(body), json);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('bad_request');
    expect(res.json.error.field).toBe(field);
    expect(res.json.error.message.length).toBeGreaterThan(5);
  });

  it.each([
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a string', '"hello"'],
    ['invalid JSON', '{"title": '],
    ['an empty body', ''],
  ])('refuses a body that is %s with 400 (field body)', async (_what, body) => {
    const res = await post('/events', body, json);
    expect(res.status).toBe(400);
    expect(res.json.error.field).toBe('body');
  });
});

describe('POST /events size and media type', () => {
  it('refuses a body over the limit with 413', async () => {
    const body = JSON.stringify({ title: 't', body: 'x', pad: long(LIMITS.bodyBytes) });
    const res = await post('/events', body, json);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('payload_too_large');
  });

  it('refuses a text body over the limit with 413 too', async () => {
    const res = await post('/events', long(LIMITS.bodyBytes + 1), { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(413);
  });

  it.each([
    ['application/xml', { 'Content-Type': 'application/xml' }],
    ['multipart/form-data', { 'Content-Type': 'multipart/form-data; boundary=x' }],
    ['a non-UTF-8 charset', { 'Content-Type': 'text/plain; charset=iso-8859-1' }],
    ['a compressed body', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }],
  ])('refuses %s with 415', async (_what, headers) => {
    const res = await post('/events', '{"title":"t"}', headers);
    expect(res.status).toBe(415);
    expect(res.json.error.code).toBe('unsupported_media_type');
  });

  it('refuses text that is not UTF-8 with 400', async () => {
    const res = await post('/events', new Uint8Array([0x66, 0xff, 0xfe, 0x66]), { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(res.json.error.field).toBe('body');
  });
});

describe('POST /events as text/plain (curl -d)', () => {
  it('takes the body as the notification body and the rest from headers and the query', async () => {
    const res = await fetch(`${t.url}/events?topic=builds`, {
      method: 'POST',
      headers: {
        // curl -d sends this content type; the body is still plain text to us
        'Content-Type': 'application/x-www-form-urlencoded',
        Title: Buffer.from('Build ✓ done', 'utf8').toString('latin1'), // raw UTF-8 bytes, as curl sends them
        'X-Priority': 'high',
        'X-Tags': 'ci, main',
        'X-Url': 'https://ci.example/42',
      },
      body: 'All 312 tests passed\n',
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      type: 'notification',
      topic: 'builds',
      title: 'Build ✓ done',
      body: 'All 312 tests passed',
      priority: 4,
      tags: ['ci', 'main'],
      url: 'https://ci.example/42',
    });
    // the title defaults to the body's first line; X-Topic wins over ?topic=
    const res2 = await fetch(`${t.url}/events?topic=ignored`, {
      method: 'POST',
      headers: { 'X-Topic': 'deploys', 'X-Priority': '2' },
      body: 'first line\nsecond',
    });
    expect(res2.status).toBe(201);
    expect(await res2.json()).toMatchObject({ topic: 'deploys', title: 'first line', body: 'first line\nsecond', priority: 2 });
  });

  it.each([
    ['X-Priority: bogus', { 'X-Priority': 'bogus' }, 'priority'],
    ['X-Priority: 9', { 'X-Priority': '9' }, 'priority'],
    ['X-Url: javascript:', { 'X-Url': 'javascript:alert(1)' }, 'url'],
    ['X-Topic with a dot', { 'X-Topic': 'a.b' }, 'topic'],
    ['X-Tags with too many', { 'X-Tags': Array.from({ length: 20 }, (_, i) => `t${i}`).join(',') }, 'tags'],
  ])('refuses %s with 400 naming the field', async (_what, headers, field) => {
    const before = (await history(t.url)).lastId;
    const res = await post('/events', 'hello', { 'Content-Type': 'text/plain', ...headers });
    expect(res.status).toBe(400);
    expect(res.json.error.field).toBe(field);
    expect((await history(t.url)).lastId).toBe(before);
  });

  it('refuses an empty text body without a title', async () => {
    const res = await post('/events', '', { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(res.json.error.field).toBe('title');
  });
});

describe('JSON text from Windows tools', () => {
  it('accepts CRLF and CR in the body and the output tail and stores them as LF', async () => {
    const own = await startTestServer();
    try {
      const windows = { title: 'nightly', body: 'Backup done\r\n3 files\r\n', topic: 'win' };
      let res = await fetch(`${own.url}/events`, { method: 'POST', headers: json, body: JSON.stringify(windows) });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ body: 'Backup done\n3 files\n' });
      const job = { type: 'job.failed', job: { id: 'ps-1', status: 'failed', exitCode: 1, outputTail: 'Compiling\rFAIL x\r\n' } };
      res = await fetch(`${own.url}/events`, { method: 'POST', headers: json, body: JSON.stringify(job) });
      expect(res.status).toBe(201);
      res = await fetch(`${own.url}/message`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ message: 'from the seed\r\nprotocol' }),
      });
      expect(res.status).toBe(201);
      // other control characters are still refused, and nothing of that publish is stored
      res = await fetch(`${own.url}/events`, { method: 'POST', headers: json, body: JSON.stringify({ title: 't', body: 'a\r\n\u0007' }) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.field).toBe('body');
      const stored = (await history(own.url)).events;
      expect(stored.map((e) => e.body ?? e.job?.outputTail)).toEqual([
        'Backup done\n3 files\n',
        'Compiling\nFAIL x\n',
        'from the seed\nprotocol',
      ]);
    } finally {
      await own.cleanup();
    }
  });
});

describe('bad query parameters', () => {
  it.each([
    ['/events?topic=bad!', 'topic'],
    ['/events?lastEventId=abc', 'lastEventId'],
    ['/events?lastEventId=-1', 'lastEventId'],
    ['/connect?topic=a%20b', 'topic'],
    ['/history?limit=0', 'limit'],
    ['/history?limit=1001', 'limit'],
    ['/history?limit=ten', 'limit'],
    ['/history?after=x', 'after'],
    ['/history?after=1&last=5', 'last'],
    ['/events?lastEventId=1&epoch=not-an-epoch', 'epoch'],
    ['/history?after=1&epoch=0123456789ABCDEF0', 'epoch'],
    ['/history?topic=a&topic=b!', 'topic'],
  ])('GET %s is 400 (field %s)', async (path, field) => {
    const res = await fetch(`${t.url}${path}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.field).toBe(field);
  });

  it('refuses a Last-Event-ID header that is not an id', async () => {
    const res = await fetch(`${t.url}/events`, { headers: { 'Last-Event-ID': '12abc' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.field).toBe('Last-Event-ID');
  });

  it('answers unknown routes with 404 and wrong methods with 405, as JSON', async () => {
    let res = await fetch(`${t.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe('not_found');
    res = await fetch(`${t.url}/events`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    // Every API path, as Express matches a route: in any case, with or without a trailing slash.
    for (const [method, path, route] of [
      ['PUT', '/events', '/events'],
      ['GET', '/message', '/message'],
      ['POST', '/history', '/history'],
      ['DELETE', '/health', '/health'],
      ['PATCH', '/connect', '/connect'],
      ['DELETE', '/EVENTS/', '/events'],
      ['PUT', '/History', '/history'],
    ] as const) {
      res = await fetch(`${t.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(((await res.json()) as ErrorBody).error.message).toBe(`${method} ${route} is not supported.`);
    }
    for (const path of ['/events/x', '/eventsx', '/events//', '/']) {
      res = await fetch(`${t.url}${path}`, { method: 'DELETE' });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as ErrorBody).error.code).toBe('not_found');
    }
  });
});

describe('after every rejection', () => {
  it('nothing was stored, and each rejection was logged', async () => {
    const page = await history(t.url);
    // only the two good text/plain publishes above
    expect(page.events.map((e) => e.title)).toEqual(['Build ✓ done', 'first line']);
    expect(page.lastId).toBe('2');
    const health = (await (await fetch(`${t.url}/health`)).json()) as { storedEvents: number };
    expect(health.storedEvents).toBe(2);
    const rejected = t.lines.filter((l) => l.startsWith('rejected '));
    expect(rejected.length).toBeGreaterThanOrEqual(badFields.length + 20);
    expect(rejected).toContain('rejected POST /events from 127.0.0.1: 400 bad_request (foo)');
  });
});
