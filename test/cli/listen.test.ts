// `herald listen` as a user runs it: a child process against the real server.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { defaultStateFile, eventLine, execEnv, stateLine, useColour } from '../../cli/listen.ts';
import { FaultProxy } from '../feed/proxy.ts';
import { publish, serve, sleep, tempDir, waitFor } from '../feed/support.ts';

const HERALD = path.resolve('bin/herald.js');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Listener {
  child: ChildProcessWithoutNullStreams;
  out: () => string[];
  err: () => string;
  exited: Promise<number | null>;
}

function startListen(args: string[], env: NodeJS.ProcessEnv = {}): Listener {
  const child = spawn(process.execPath, [HERALD, 'listen', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, out: () => out.split('\n').filter((l) => l !== ''), err: () => err, exited };
}

async function setup() {
  const dir = tempDir('listen');
  const server = await serve(path.join(dir, 'data'));
  cleanups.push(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, server };
}

const connected = (l: Listener) =>
  waitFor(
    () => `connected (stderr: ${l.err()})`,
    () => /connected to/.test(l.err()),
  );

describe('herald listen', () => {
  it('prints events as lines, resumes from its --state file after being killed, and exits 0 on SIGTERM', async () => {
    const { dir, server } = await setup();
    const state = path.join(dir, 'listen.json');
    const first = startListen(['--server', server.url, '--state', state]);
    await connected(first);
    await publish(server.url, { topic: 'build', title: 'one', body: '\nfirst line\nsecond line' });
    await publish(server.url, { type: 'deploy.done', topic: 'deploy', title: 'two' });
    await waitFor('2 lines', () => first.out().length >= 2);
    // columns: time, topic (padded to the widest so far, at least 8), title; piped: no colour
    expect(first.out()[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}build {5}one — first line …$/);
    expect(first.out()[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}deploy {4}deploy\.done: two$/);
    expect(first.err()).not.toMatch(/\u001b/);
    await waitFor('cursor saved', () => fs.existsSync(state) && JSON.parse(fs.readFileSync(state, 'utf8')).lastEventId === '2');
    first.child.kill('SIGKILL');
    await first.exited;

    for (let i = 3; i <= 6; i++) await publish(server.url, { title: `e${i}` }); // while it is away
    const second = startListen(['--server', server.url, '--state', state, '--json']);
    await waitFor('4 JSON lines', () => second.out().length >= 4);
    await publish(server.url, { title: 'e7' });
    await waitFor('5 JSON lines', () => second.out().length >= 5);
    const events = second.out().map((l) => JSON.parse(l) as HeraldEvent);
    expect(events.map((e) => e.title)).toEqual(['e3', 'e4', 'e5', 'e6', 'e7']);
    expect(second.err()).toMatch(/resuming after event 2/);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(JSON.parse(fs.readFileSync(state, 'utf8'))).toEqual({ lastEventId: '7', epoch: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('runs --exec for each event with the fields in environment variables, never through the command line', async () => {
    const { dir, server } = await setup();
    const record = path.join(dir, 'record.mjs');
    const log = path.join(dir, 'exec.log');
    fs.writeFileSync(
      record,
      `import fs from 'node:fs';
const keys = ['HERALD_ID','HERALD_TYPE','HERALD_TOPIC','HERALD_TITLE','HERALD_BODY','HERALD_PRIORITY','HERALD_URL','HERALD_TAGS','HERALD_JOB_STATUS','HERALD_JOB_EXIT_CODE','HERALD_EVENT'];
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k]]))) + '\\n');`,
    );
    const shellLog = path.join(dir, 'shell.log');
    // The way people write it: expansions inside double quotes; the shell must not run the title.
    const exec = `node ${JSON.stringify(record)} && printf '%s|%s\\n' "$HERALD_ID" "$HERALD_TITLE" >> ${JSON.stringify(shellLog)}`;
    const l = startListen(['--server', server.url, '--state', path.join(dir, 's.json'), '--exec', exec]);
    await connected(l);
    const pwned = path.join(dir, 'pwned');
    const hostile = [`$(touch ${pwned})`, `x; touch ${pwned}2`, `\`touch ${pwned}3\``];
    for (const title of hostile) await publish(server.url, { title });
    await publish(server.url, {
      type: 'job.failed',
      topic: 'ci',
      title: 'build broke',
      body: 'see log',
      priority: 4,
      url: 'https://ci.example.test/1',
      tags: ['ci', 'main'],
      job: { id: 'b1', status: 'failed', exitCode: 3 },
    });
    await waitFor('4 exec runs', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').trim().split('\n').length >= 4);
    const runs = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(runs.slice(0, 3).map((r) => r.HERALD_TITLE)).toEqual(hostile);
    expect(runs[3]).toMatchObject({
      HERALD_ID: '4',
      HERALD_TYPE: 'job.failed',
      HERALD_TOPIC: 'ci',
      HERALD_TITLE: 'build broke',
      HERALD_BODY: 'see log',
      HERALD_PRIORITY: '4',
      HERALD_URL: 'https://ci.example.test/1',
      HERALD_TAGS: 'ci,main',
      HERALD_JOB_STATUS: 'failed',
      HERALD_JOB_EXIT_CODE: '3',
    });
    expect(JSON.parse(runs[3]!.HERALD_EVENT!)).toMatchObject({ id: '4', job: { id: 'b1', exitCode: 3 } });
    await waitFor('shell log', () => fs.existsSync(shellLog) && fs.readFileSync(shellLog, 'utf8').split('\n').length >= 5);
    expect(fs.readFileSync(shellLog, 'utf8')).toBe(`1|${hostile[0]}\n2|${hostile[1]}\n3|${hostile[2]}\n4|build broke\n`);
    for (const suffix of ['', '2', '3']) expect(fs.existsSync(pwned + suffix)).toBe(false);
  });

  it('stays alive while the server is away longer than eventsource’s own retry, then carries on', async () => {
    const { dir, server } = await setup();
    const proxy = await FaultProxy.start(server.port);
    cleanups.push(() => proxy.close());
    const l = startListen(['--server', proxy.url, '--state', path.join(dir, 's.json')], { XDG_STATE_HOME: dir });
    await connected(l);
    await publish(server.url, { title: 'before' });
    await waitFor('before', () => l.out().length === 1);
    proxy.refuse(true);
    proxy.resetAll();
    await publish(server.url, { title: 'while away' });
    await sleep(4000); // eventsource's default retry is 3 s and its timer does not hold the process
    expect(l.child.exitCode).toBeNull();
    expect(l.err()).toMatch(/reconnecting in \d+ s: connection reset|offline, trying again in \d+ s/);
    proxy.refuse(false);
    // The backoff has grown meanwhile (up to about 16 s here): wait it out.
    await waitFor('while away', () => l.out().length === 2, 30_000);
    expect(l.out()[1]).toMatch(/while away$/);
  }, 45_000);

  it('refuses a bad command line and a damaged state file with a message that says what to do', async () => {
    const { dir, server } = await setup();
    const bad = startListen(['--topic', 'no spaces']);
    expect(await bad.exited).toBe(2);
    expect(bad.err()).toMatch(/--topic "no spaces" is not a topic/);
    const state = path.join(dir, 'broken.json');
    fs.writeFileSync(state, 'not json');
    const broken = startListen(['--server', server.url, '--state', state]);
    expect(await broken.exited).toBe(1);
    expect(broken.err()).toMatch(/broken.json is not valid JSON: fix it or delete it/);
  });
});

describe('herald listen when retrying cannot help', () => {
  it('ends with exit 1 and one sentence when the token is refused (401) or the address has no stream (404)', async () => {
    const { dir } = await setup();
    const guarded = await serve(path.join(dir, 'guarded'), { token: 'right' });
    cleanups.push(() => guarded.close());
    const cases: Array<[string[], RegExp]> = [
      [
        ['--server', guarded.url, '--token', 'wrong'],
        /^herald listen: the server at \S+ refused the token \(HTTP 401\): use the one it was started with \(--token or HERALD_TOKEN\)$/,
      ],
      [['--server', guarded.url], /^herald listen: the server at \S+ needs a token \(HTTP 401\): pass it with --token or HERALD_TOKEN$/],
      [
        ['--server', `${guarded.url}/herald`, '--token', 'right'],
        /^herald listen: there is no Herald event stream at \S+\/herald\/events \(HTTP 404\): --server takes the server's base address/,
      ],
    ];
    for (const [args, sentence] of cases) {
      const l = startListen([...args, '--state', path.join(dir, 's.json')]);
      expect(await l.exited, args.join(' ')).toBe(1);
      const lines = l
        .err()
        .split('\n')
        .filter((line) => line !== '');
      expect(lines[0]).toMatch(/^herald listen: connecting to /);
      expect(lines.slice(1), args.join(' ')).toHaveLength(1);
      expect(lines[1]).toMatch(sentence);
      expect(l.out()).toEqual([]);
    }
  });

  it('keeps retrying a 5xx, saying it once rather than at every attempt', async () => {
    const { dir } = await setup();
    let requests = 0;
    const failing = http.createServer((_req, res) => {
      requests++;
      res
        .writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' })
        .end('{"error":{"code":"unavailable","message":"down"}}');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => failing.close(() => resolve())));
    const url = `http://127.0.0.1:${(failing.address() as { port: number }).port}`;
    const l = startListen(['--server', url, '--state', path.join(dir, 's.json')]);
    await waitFor('three attempts', () => requests >= 3, 20_000);
    expect(l.child.exitCode).toBeNull();
    expect(l.err().match(/HTTP 503/g)).toHaveLength(1);
  }, 30_000);

  it('says in words, once, that an https:// address is a plain-http server', async () => {
    const { dir } = await setup();
    // Node's HTTP server, as Herald's: it answers a TLS hello with "HTTP/1.1 400" in plain text.
    let connections = 0;
    const plain = http.createServer((_req, res) => res.end());
    plain.on('connection', () => connections++);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    const l = startListen([
      '--server',
      `https://127.0.0.1:${(plain.address() as { port: number }).port}`,
      '--state',
      path.join(dir, 's.json'),
    ]);
    await waitFor('three attempts', () => connections >= 3, 20_000);
    await sleep(200);
    expect(l.child.exitCode).toBeNull();
    const lines = l.err().split('\n');
    expect(lines.filter((line) => line.includes('the server does not speak TLS: try http:// instead of https://'))).toHaveLength(1);
    expect(l.err()).not.toMatch(/EPROTO|SSL routines|\n\n/);
  }, 30_000);
});

describe('listen helpers', () => {
  const event: HeraldEvent = {
    id: '9',
    type: 'notification',
    topic: 'ops',
    time: '2030-01-02T03:04:05Z',
    title: 'disk \u001b[31mfull',
    body: 'sda1 at 99%',
    priority: 5,
  };

  it('writes one line per event without terminal escapes, marking high and urgent ones', () => {
    expect(eventLine(event)).toMatch(/ {2}ops {2}\[urgent\] disk \?\[31mfull — sda1 at 99%$/);
    expect(eventLine({ ...event, priority: 4 })).toMatch(/ {2}ops {2}\[high\] disk/);
    expect(eventLine({ ...event, priority: 3 })).toMatch(/ {2}ops {2}disk/);
  });

  it('lines up time, topic and title, and shows the type, tags and link', () => {
    const lines = [
      eventLine({ ...event, topic: 'ci', priority: 3 }, { topicWidth: 8 }),
      eventLine(
        { ...event, topic: 'backups', priority: 3, type: 'backup.done', tags: ['nightly', 'db'], url: 'https://ci.example/7' },
        { topicWidth: 8 },
      ),
      eventLine({ ...event, topic: 'a-very-long-topic-name', priority: 3 }, { topicWidth: 8 }),
    ];
    // the third column starts at one place on every line
    const columnAt = [lines[0]!.indexOf('disk'), lines[1]!.indexOf('backup.done'), lines[2]!.indexOf('disk')];
    expect(new Set(columnAt).size).toBe(1);
    expect(lines[1]!.slice(columnAt[1])).toBe('backup.done: disk ?[31mfull — sda1 at 99%  #nightly #db  ↗ https://ci.example/7');
    expect(lines[2]).toContain('  a-very-…  disk');
    expect(eventLine({ ...event, type: 'notification' })).not.toContain('notification');
  });

  it('shortens a long body to its first line with an ellipsis', () => {
    expect(eventLine({ ...event, body: 'first\nsecond\nthird' })).toMatch(/ — first …$/);
    expect(eventLine({ ...event, body: 'x'.repeat(500) })).toMatch(new RegExp(` — ${'x'.repeat(99)}…$`));
    expect(eventLine({ ...event, title: 'same', body: 'same' })).toMatch(/same$/);
    expect(eventLine({ ...event, body: '\n\n' })).toMatch(/full$/);
  });

  it('colours priority and job state only on a terminal without NO_COLOR', () => {
    const tty = { isTTY: true } as unknown as NodeJS.WritableStream;
    const pipe = {} as NodeJS.WritableStream;
    expect(useColour(tty, {})).toBe(true);
    expect(useColour(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColour(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: set and not empty
    expect(useColour(pipe, {})).toBe(false);
    expect(eventLine(event, { colour: true })).toContain('\u001b[1m\u001b[31m[urgent]\u001b[0m');
    const failed: HeraldEvent = { ...event, title: '✗ build failed', priority: 3, type: 'job.failed', job: { id: 'j', status: 'failed' } };
    expect(eventLine(failed, { colour: true })).toContain('\u001b[31m✗ build failed\u001b[0m');
    expect(eventLine({ ...failed, job: { id: 'j', status: 'succeeded' }, title: '✓ ok' }, { colour: true })).toContain(
      '\u001b[32m✓ ok\u001b[0m',
    );
    expect(eventLine(failed)).not.toContain('\u001b');
    // the event's own escapes are never passed on, coloured or not
    expect(eventLine(event, { colour: true })).toContain('disk ?[31mfull');
  });

  it('keeps one state file per server and topic set, under XDG_STATE_HOME', () => {
    const a = defaultStateFile('http://a:5080', ['x', 'y'], { XDG_STATE_HOME: '/tmp/st' });
    expect(a).toMatch(/^\/tmp\/st\/herald\/listen-[0-9a-f]{16}\.json$/);
    expect(defaultStateFile('http://a:5080', ['y', 'x'], { XDG_STATE_HOME: '/tmp/st' })).toBe(a);
    expect(defaultStateFile('http://a:5080', ['x'], { XDG_STATE_HOME: '/tmp/st' })).not.toBe(a);
    expect(defaultStateFile('http://b:5080', ['x', 'y'], { XDG_STATE_HOME: '/tmp/st' })).not.toBe(a);
  });

  it('describes states for people', () => {
    const now = 1_000_000;
    expect(stateLine({ status: 'reconnecting', since: now, nextAttemptAt: now + 4000, reason: 'connection refused' }, 'u', now)).toBe(
      'reconnecting in 4 s: connection refused',
    );
    expect(
      stateLine(
        {
          status: 'auth-failed',
          since: now,
          nextAttemptAt: now + 300_000,
          reason: 'HTTP 401: the server refused the token; check the token setting',
        },
        'u',
        now,
      ),
    ).toBe('HTTP 401: the server refused the token; check the token setting; trying again in 5 min');
    expect(execEnv(event)).toMatchObject({
      HERALD_URL: '',
      HERALD_TAGS: '',
      HERALD_JOB_STATUS: '',
      HERALD_JOB_EXIT_CODE: '',
      HERALD_PRIORITY: '5',
    });
  });
});
