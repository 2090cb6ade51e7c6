import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deadServerUrl, herald, killLeftovers, testServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await testServer();
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => killLeftovers());

describe('herald send', () => {
  it('publishes an event with every flag and prints its id', async () => {
    const r = await herald([
      'send',
      '--server',
      srv.url,
      '--topic',
      'builds',
      '--title',
      'Build',
      '--priority',
      'high',
      '--tags',
      'ci, nightly',
      '--url',
      'https://example.com/build/7',
      '--type',
      'build.done',
      'build',
      'done',
    ]);
    expect(r.stderr.toString()).toBe('');
    expect(r.code).toBe(0);
    const id = r.stdout.toString().trim();
    expect(id).toMatch(/^\d+$/);
    const stored = (await srv.events()).find((e) => e.id === id);
    expect(stored).toMatchObject({
      type: 'build.done',
      topic: 'builds',
      title: 'Build',
      body: 'build done',
      priority: 4,
      tags: ['ci', 'nightly'],
      url: 'https://example.com/build/7',
    });
  });

  it('reads the message from stdin when it is left out, and with "-"', async () => {
    const piped = await herald(['send', '--topic', 'stdin'], { env: { HERALD_SERVER: srv.url }, input: 'from a pipe ✓\nsecond line\n' });
    expect(piped.code).toBe(0);
    const dash = await herald(['send', '--topic', 'stdin', '-'], { env: { HERALD_SERVER: srv.url }, input: 'dash' });
    expect(dash.code).toBe(0);
    const events = await srv.events('after=0&topic=stdin');
    expect(events.map((e) => e.body)).toEqual(['from a pipe ✓\nsecond line', 'dash']);
    expect(events[0]!.title).toBe('from a pipe ✓');
  });

  it('prints the whole stored event with --json', async () => {
    const r = await herald(['send', '--server', srv.url, '--json', 'json please']);
    expect(r.code).toBe(0);
    const event = JSON.parse(r.stdout.toString());
    expect(event).toMatchObject({ type: 'notification', topic: 'default', title: 'json please', priority: 3 });
    expect(event.id).toMatch(/^\d+$/);
    expect(typeof event.time).toBe('string');
  });

  it('reports the field the server refused and stores nothing (exit 1)', async () => {
    const before = await srv.events();
    const bad = await herald(['send', '--server', srv.url, '--url', 'javascript:alert(1)', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.toString()).toContain('url:');
    expect(await srv.events()).toEqual(before);
  });

  it('says how to start a server when none answers (exit 1)', async () => {
    const url = await deadServerUrl();
    const r = await herald(['send', 'anyone there?'], { env: { HERALD_SERVER: url } });
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toBe(
      `herald: cannot reach the Herald server at ${url} (connection refused). Start it with \`herald serve\` or set --server/HERALD_SERVER.\n`,
    );
  });

  it('refuses a bad command line with exit 2 before sending anything', async () => {
    const before = await srv.events();
    const flag = await herald(['send', '--server', srv.url, '--colour', 'red', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.toString()).toContain("'--colour'");
    const empty = await herald(['send', '--server', srv.url]);
    expect(empty.code).toBe(2);
    expect(empty.stderr.toString()).toContain('nothing to send');
    const typo = await herald(['send', '--server', srv.url, '--priorty', '4', 'x']);
    expect(typo.code).toBe(2);
    expect(typo.stderr.toString()).toBe(
      "herald send: Unknown option '--priorty': did you mean --priority?\nRun 'herald send --help' for usage.\n",
    );
    const badUrl = await herald(['send', '--server', 'ftp://example.com', 'x']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr.toString()).toContain('--server must be an http:// or https:// URL');
    expect(await srv.events()).toEqual(before);
  });
});

describe('--priority', () => {
  it('is checked before sending, with the usage message and exit 2, in the same words as herald run', async () => {
    const before = await srv.events();
    for (const value of ['7', '0', 'loud']) {
      const send = await herald(['send', '--server', srv.url, '--priority', value, 'too loud']);
      expect(send.code, value).toBe(2);
      expect(send.stderr.toString()).toBe(
        `herald send: --priority must be 1 to 5 or min, low, default, high, urgent; not "${value}"\nRun 'herald send --help' for usage.\n`,
      );
      const run = await herald(['run', '--server', srv.url, '--priority', value, '--', 'true']);
      expect(run.code, value).toBe(2);
      expect(run.stderr.toString()).toBe(send.stderr.toString().replaceAll('herald send', 'herald run'));
    }
    expect(await srv.events()).toEqual(before);
  });
});

describe('herald send to a server with a token', () => {
  let guarded: TestServer;
  beforeAll(async () => {
    guarded = await testServer({ token: 's3cret' });
  });
  afterAll(async () => {
    await guarded.close();
  });

  it('asks for --token/HERALD_TOKEN on 401 and works with it', async () => {
    const none = await herald(['send', '--server', guarded.url, 'no token']);
    expect(none.code).toBe(1);
    expect(none.stderr.toString()).toContain('needs a token: pass --token T or set HERALD_TOKEN');
    const wrong = await herald(['send', '--server', guarded.url, '--token', 'nope', 'wrong token']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.toString()).toContain('refused the token');
    const right = await herald(['send', 'right token'], { env: { HERALD_SERVER: guarded.url, HERALD_TOKEN: 's3cret' } });
    expect(right.code).toBe(0);
    expect((await guarded.events()).map((e) => e.body)).toEqual(['right token']);
  });
});
