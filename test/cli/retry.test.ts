// A publish whose answer is lost is tried again with the same Idempotency-Key, and the server
// stores the event once: through a TCP proxy that lets the request reach the server and then
// resets (or silences) the connection before the answer gets back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { publishWithRetry, isRetryable, type RetryInfo } from '../../cli/publish-retry.ts';
import { PublishError } from '../../cli/publish.ts';
import { FaultProxy } from '../feed/proxy.ts';
import { deadServerUrl, herald, heraldLines, killLeftovers, startHerald, testServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
let proxy: FaultProxy;
beforeAll(async () => {
  srv = await testServer();
  proxy = await FaultProxy.start(srv.server.port);
});
afterAll(async () => {
  await proxy.close();
  await srv.close();
});
afterEach(() => killLeftovers());

const node = (code: string, ...args: string[]) => [process.execPath, '-e', code, ...args];

describe('herald send through a connection that is reset after the request was sent', () => {
  it('tries again with the same key: exit 0, the id of the one event stored, a progress line', async () => {
    proxy.loseAnswers(1, 'reset');
    const r = await herald(['send', '--server', proxy.url, '--topic', 'send-retry', 'deploy finished']);
    expect(r.code).toBe(0);
    const stored = await srv.events('after=0&topic=send-retry');
    // The first try reached the server and was stored; the retry was answered with that event.
    expect(stored).toHaveLength(1);
    expect(r.stdout.toString().trim()).toBe(stored[0]!.id);
    const lines = heraldLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^herald: publishing to ${proxy.url}: connection (reset|closed); trying again in \\d\\.\\d s \\(try 2 of 3\\)$`),
    );
  });

  it('does not try again when the server cannot be reached at all (connection refused)', async () => {
    const url = await deadServerUrl();
    const r = await herald(['send', '--server', url, 'x']);
    expect(r.code).toBe(1);
    expect(heraldLines(r.stderr)).toEqual([
      `herald: cannot reach the Herald server at ${url} (connection refused). Start it with \`herald serve\` or set --server/HERALD_SERVER.`,
    ]);
  });
});

describe('herald run through a connection that loses answers', () => {
  it('stores job.started and the job end exactly once each when their first answers are lost', async () => {
    const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herald-retry-')), 'go');
    const answered = proxy.answers;
    proxy.loseAnswers(1, 'reset'); // job.started's first try
    // The command waits for the test to open its gate, so that the job end's first answer is the one lost next.
    const waitForGate = `const t = setInterval(() => { if (require('fs').existsSync(process.argv[1])) { clearInterval(t); process.exit(3); } }, 20)`;
    const p = startHerald(['run', '--server', proxy.url, '--topic', 'run-retry', '--', ...node(waitForGate, gate)], { input: '' });
    // job.started was stored by its first try; its retry has been answered once an answer got through.
    await srv.waitFor(() => proxy.answers > answered, "the answer to job.started's retry");
    proxy.loseAnswers(1, 'reset'); // the job end's first try
    fs.writeFileSync(gate, '');
    const r = await p.result;
    expect(r.code).toBe(3);
    const events = await srv.events('after=0&topic=run-retry');
    expect(events.map((e) => e.type)).toEqual(['job.started', 'job.failed']);
    expect(events[1]!.job).toMatchObject({ id: events[0]!.job!.id, status: 'failed', exitCode: 3 });
    const lines = heraldLines(r.stderr);
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatch(/^herald: reporting to .*: connection (reset|closed); trying again in \d\.\d s \(try 2 of 3\)$/);
  });
});

describe('publishWithRetry', () => {
  it('tries again after a timeout with the same key; the server stores the event once', async () => {
    proxy.loseAnswers(1, 'stall');
    const retries: RetryInfo[] = [];
    const event = await publishWithRetry(
      { url: proxy.url },
      { topic: 'timeout-retry', title: 'slow network' },
      { timeoutMs: 500, onRetry: (info) => retries.push(info) },
    );
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 2, attempts: 3, detail: 'no answer within 0.5 s' });
    const stored = await srv.events('after=0&topic=timeout-retry');
    expect(stored.map((e) => e.id)).toEqual([event.id]);
  });

  it('gives up after the last try with the reason and how many tries were made', async () => {
    proxy.loseAnswers(3, 'reset');
    const retries: RetryInfo[] = [];
    const failure = await publishWithRetry(
      { url: proxy.url },
      { topic: 'all-lost', title: 'x' },
      { onRetry: (info) => retries.push(info), retryMinMs: 10, retryMaxMs: 20 },
    ).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PublishError);
    expect((failure as PublishError).message).toMatch(/\(tried 3 times\)$/);
    expect(retries.map((r) => r.attempt)).toEqual([2, 3]);
    // Each try reached the server; the key made them one event.
    expect(await srv.events('after=0&topic=all-lost')).toHaveLength(1);
  });

  it('retries only failures that cannot double the event and may go away', () => {
    const err = (reason: ConstructorParameters<typeof PublishError>[0], extra: { status?: number; code?: string } = {}) =>
      new PublishError(reason, 'm', 'd', extra);
    expect(isRetryable(err('timeout'))).toBe(true);
    expect(isRetryable(err('unreachable', { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(err('unreachable', { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryable(err('server', { status: 503 }))).toBe(true);
    expect(isRetryable(err('unreachable', { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRetryable(err('unreachable', { code: 'ENOTFOUND' }))).toBe(false);
    expect(isRetryable(err('rejected', { status: 409 }))).toBe(false);
    expect(isRetryable(err('rejected', { status: 400 }))).toBe(false);
    expect(isRetryable(err('unauthorized', { status: 401 }))).toBe(false);
    expect(isRetryable(err('server', { status: 500 }))).toBe(false);
    expect(isRetryable(err('aborted'))).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
  });
});
