// POST /hooks/github on a real server, fed GitHub's own documented example payloads
// (@octokit/webhooks-examples) signed in the test with @octokit/webhooks-methods, a second
// implementation of the signature: every workflow_run action and conclusion, check_suite, ping,
// Gitea and Forgejo signatures, refusals (nothing stored), redelivery, topics, priorities.
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { sign } from '@octokit/webhooks-methods';
import type { CheckSuiteEvent, WorkflowRunEvent } from '@octokit/webhooks-types';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { history, startTestServer, type TestServer } from './harness.ts';

const SECRET = 'It’s a Secret to Everybody';
// The package is one JSON file (its main) with a .d.ts beside it.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

function examplesOf<T>(name: string): T[] {
  const definition = examples.find((d) => d.name === name);
  if (!definition) throw new Error(`@octokit/webhooks-examples has no ${name} examples`);
  return definition.examples as T[];
}
const runs = examplesOf<WorkflowRunEvent>('workflow_run');
const suites = examplesOf<CheckSuiteEvent>('check_suite');
const pings = examplesOf<Record<string, unknown>>('ping');
const pushes = examplesOf<Record<string, unknown>>('push');

/** GitHub's "completed" example with action success (the second one: repository_dispatch on master, workflow_run.name ""). */
const completed = runs.find((r) => r.action === 'completed' && r.workflow_run.conclusion === 'success' && r.workflow_run.name === '')!;
const requested = runs.find((r) => r.action === 'requested')!;

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ githubSecret: SECRET });
});
afterAll(async () => {
  await srv.cleanup();
});

let delivery = 0;
interface Answer {
  status: number;
  body: HeraldEvent & { status?: string; reason?: string; message?: string; error?: { code: string; message: string; field?: string } };
}

async function deliver(
  event: string,
  payload: unknown,
  options: { url?: string; headers?: Record<string, string>; secret?: string; delivery?: string; topic?: string; body?: string } = {},
): Promise<Answer> {
  const body = options.body ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'GitHub-Hookshot/test',
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': options.delivery ?? `delivery-${++delivery}-${Date.now()}`,
    'X-Hub-Signature-256': await sign(options.secret ?? SECRET, body),
    ...options.headers,
  };
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  const url = `${options.url ?? srv.url}/hooks/github${options.topic !== undefined ? `?topic=${options.topic}` : ''}`;
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** A real example with its run changed, e.g. another conclusion: the rest stays GitHub's. */
function variant(
  base: WorkflowRunEvent,
  change: { action?: string; run?: Record<string, unknown>; repository?: Record<string, unknown> },
): WorkflowRunEvent {
  const copy = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
  if (change.action) (copy as unknown as { action: string }).action = change.action;
  Object.assign(copy.workflow_run!, change.run ?? {});
  Object.assign(copy.repository!, change.repository ?? {});
  return copy as unknown as WorkflowRunEvent;
}

async function storedCount(): Promise<number> {
  return (await history(srv.url)).events.length;
}

describe("workflow_run from GitHub's example payloads", () => {
  it("turns a completed run into job.completed: name owner/repo: workflow (branch), the run's url, duration from its own timestamps", async () => {
    const payload = variant(completed, { run: { run_started_at: '2020-10-05T16:33:49Z', updated_at: '2020-10-05T16:37:55Z' } });
    const res = await deliver('workflow_run', payload);
    expect(res.status).toBe(201);
    const run = payload.workflow_run;
    expect(res.body).toMatchObject({
      type: 'job.completed',
      topic: 'ci',
      priority: 3,
      url: run.html_url,
      tags: ['ci', 'github'],
      // workflow_run.name is "" in GitHub's example: the workflow's own name stands in.
      title: '✓ octo-org/octo-repo: test (master) succeeded in 4 min 6 s',
      job: {
        id: `github.com:run:${run.id}:1`,
        name: 'octo-org/octo-repo: test (master)',
        status: 'succeeded',
        exitCode: 0,
        durationMs: 246_000,
      },
    });
    expect(res.body.body).toContain(run.display_title);
    expect(res.body.body).toContain(`run #${run.run_number} · repository_dispatch · 3484a3f`);
  });

  it.each([
    // conclusion, type, status, exitCode, note in the body
    ['success', 'job.completed', 'succeeded', 0, undefined],
    ['failure', 'job.failed', 'failed', 1, undefined],
    ['timed_out', 'job.failed', 'failed', undefined, 'timed out'],
    ['startup_failure', 'job.failed', 'failed', undefined, 'startup failure'],
    ['action_required', 'job.failed', 'failed', undefined, 'action required'],
    ['cancelled', 'job.failed', 'cancelled', undefined, undefined],
    ['skipped', 'job.failed', 'cancelled', undefined, 'skipped'],
    ['stale', 'job.failed', 'cancelled', undefined, 'stale'],
    ['neutral', 'job.completed', 'succeeded', undefined, 'neutral'],
  ] as const)('maps conclusion %s to %s with status %s', async (conclusion, type, status, exitCode, note) => {
    const payload = variant(completed, { run: { id: 9_000_000 + conclusion.length * 100 + conclusion.charCodeAt(0), conclusion } });
    const res = await deliver('workflow_run', payload);
    expect(res.status).toBe(201);
    expect(res.body.type).toBe(type);
    expect(res.body.job!.status).toBe(status);
    expect(res.body.job!.exitCode).toBe(exitCode);
    if (note) expect(res.body.body!.split('\n')[0]).toContain(note);
  });

  it('gives failures on the default branch high priority, and failures elsewhere the default', async () => {
    const onMain = await deliver('workflow_run', variant(completed, { run: { id: 7001, conclusion: 'failure', head_branch: 'master' } }));
    const onBranch = await deliver(
      'workflow_run',
      variant(completed, { run: { id: 7002, conclusion: 'failure', head_branch: 'feature/x' } }),
    );
    const timedOutOnMain = await deliver(
      'workflow_run',
      variant(completed, { run: { id: 7003, conclusion: 'timed_out', head_branch: 'master' } }),
    );
    const successOnMain = await deliver(
      'workflow_run',
      variant(completed, { run: { id: 7004, conclusion: 'success', head_branch: 'master' } }),
    );
    expect([onMain, onBranch, timedOutOnMain, successOnMain].map((r) => r.body.priority)).toEqual([4, 3, 4, 3]);
    expect(onMain.body.title).toMatch(/^✗ octo-org\/octo-repo: test \(master\) failed \(exit 1\)/);
  });

  it('reports requested as job.started and in_progress as job.progress of the same job, both low priority', async () => {
    const id = 8101;
    const queued = await deliver('workflow_run', variant(requested, { run: { id } }));
    const running = await deliver(
      'workflow_run',
      variant(requested, { action: 'in_progress', run: { id, status: 'in_progress', conclusion: null } }),
    );
    const done = await deliver('workflow_run', variant(completed, { run: { id } }));
    expect([queued.status, running.status, done.status]).toEqual([201, 201, 201]);
    expect([queued.body.type, running.body.type, done.body.type]).toEqual(['job.started', 'job.progress', 'job.completed']);
    expect([queued.body.priority, running.body.priority]).toEqual([2, 2]);
    expect(new Set([queued.body.job!.id, running.body.job!.id, done.body.job!.id]).size).toBe(1);
    expect(queued.body.job!.status).toBe('running');
  });

  it('makes a re-run (run_attempt 2) a job of its own', async () => {
    const first = await deliver('workflow_run', variant(completed, { run: { id: 8201, run_attempt: 1, conclusion: 'failure' } }));
    const rerun = await deliver('workflow_run', variant(completed, { run: { id: 8201, run_attempt: 2, conclusion: 'success' } }));
    expect(first.body.job!.id).toBe('github.com:run:8201:1');
    expect(rerun.body.job!.id).toBe('github.com:run:8201:2');
    expect(rerun.body.body).toContain('attempt 2');
  });

  it("does not let a start that arrives after the run's end undo it (202, nothing stored)", async () => {
    const end = await deliver('workflow_run', variant(completed, { run: { id: 8301 } }));
    const before = await storedCount();
    const late = await deliver('workflow_run', variant(requested, { run: { id: 8301 } }));
    expect(late.status).toBe(202);
    expect(late.body.reason).toContain(`event ${end.body.id}`);
    expect(await storedCount()).toBe(before);
  });

  it("answers a completed action without a conclusion (one of GitHub's examples) with 202 and a reason", async () => {
    const odd = runs.find((r) => r.action === 'completed' && r.workflow_run.conclusion === null)!;
    const before = await storedCount();
    const res = await deliver('workflow_run', odd);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'ignored', reason: expect.stringContaining('without a conclusion') });
    expect(await storedCount()).toBe(before);
  });

  it("takes every one of GitHub's workflow_run examples without an error", async () => {
    for (const example of runs) {
      const res = await deliver('workflow_run', example);
      expect([200, 201, 202]).toContain(res.status);
    }
  });

  it('puts the events on the topic given in the hook URL, and refuses a bad one with 400', async () => {
    const res = await deliver('workflow_run', variant(completed, { run: { id: 8401 } }), { topic: 'builds_api' });
    expect(res.body.topic).toBe('builds_api');
    const bad = await deliver('workflow_run', variant(completed, { run: { id: 8402 } }), { topic: 'no%20spaces' });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.field).toBe('topic');
  });

  it("takes a form-encoded delivery (GitHub's default content type), signed over the form body", async () => {
    const payload = variant(completed, { run: { id: 8501 } });
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const res = await deliver('workflow_run', undefined, { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(201);
    expect(res.body.job!.id).toBe('github.com:run:8501:1');
  });
});

describe('check_suite', () => {
  it('turns a completed check suite of another CI app into a job, with its checks page as url', async () => {
    const suite = suites.find((s) => s.action === 'completed' && s.check_suite.app.slug !== 'github-actions')!;
    const res = await deliver('check_suite', suite);
    expect(res.status).toBe(201);
    const { check_suite: cs, repository } = suite;
    expect(res.body).toMatchObject({
      type: 'job.completed',
      url: `${repository.html_url}/commit/${cs.head_sha}/checks?check_suite_id=${cs.id}`,
      job: {
        id: `github.com:check_suite:${cs.id}`,
        name: `Codertocat/Hello-World: octocoders-linter (${cs.head_branch})`,
        status: 'succeeded',
        exitCode: 0,
        durationMs: 43_000,
      },
    });
  });

  it("leaves GitHub Actions' own check suites to workflow_run (202), and answers other actions with 202", async () => {
    const actions = suites.find((s) => s.action === 'completed' && s.check_suite.app.slug === 'github-actions')!;
    const requestedSuite = suites.find((s) => s.action === 'requested')!;
    const before = await storedCount();
    const a = await deliver('check_suite', actions);
    const b = await deliver('check_suite', requestedSuite);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.reason).toContain('workflow_run');
    expect(b.body.reason).toContain('requested');
    expect(await storedCount()).toBe(before);
  });
});

describe('other events', () => {
  it('answers ping with 200 and stores nothing', async () => {
    const before = await storedCount();
    for (const ping of pings) {
      const res = await deliver('ping', ping);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
    }
    expect(await storedCount()).toBe(before);
  });

  it('answers an event it does not handle with 202 and a JSON reason, storing nothing', async () => {
    const before = await storedCount();
    const res = await deliver('push', pushes[0]);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'ignored', reason: expect.stringContaining('push events are not CI runs') });
    expect(await storedCount()).toBe(before);
  });
});

describe('redelivery', () => {
  it('answers a redelivery (same X-GitHub-Delivery) with the event already stored: 200, same id, nothing new', async () => {
    const payload = variant(completed, { run: { id: 8601 } });
    const first = await deliver('workflow_run', payload, { delivery: 'redelivered-1' });
    const before = await storedCount();
    const again = await deliver('workflow_run', payload, { delivery: 'redelivered-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await storedCount()).toBe(before);
  });

  it('answers 409 naming the delivery when the same delivery id comes with another run', async () => {
    await deliver('workflow_run', variant(completed, { run: { id: 8701 } }), { delivery: 'reused-delivery' });
    const before = await storedCount();
    const other = await deliver('workflow_run', variant(completed, { run: { id: 8702 } }), { delivery: 'reused-delivery' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'conflict', field: 'X-GitHub-Delivery' });
    expect(other.body.error!.message).toContain('"github:reused-delivery"');
    expect(await storedCount()).toBe(before);
  });
});

describe('signatures', () => {
  const payload = () => variant(completed, { run: { id: 9901 } });

  it.each([
    ['no signature', { 'X-Hub-Signature-256': '' }],
    [
      'a signature made with another secret',
      { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', 'wrong').update('x').digest('hex')}` },
    ],
    ['a signature without its sha256= prefix', { 'X-Hub-Signature-256': createHmac('sha256', SECRET).update('x').digest('hex') }],
    ['a truncated signature', { 'X-Hub-Signature-256': 'sha256=abc' }],
    ['a good GitHub signature beside a bad Gitea one', { 'X-Gitea-Signature': '00'.repeat(32) }],
  ])('refuses %s with 401 and stores nothing', async (_what, headers) => {
    const before = await storedCount();
    const res = await deliver('workflow_run', payload(), { headers });
    expect(res.status).toBe(401);
    expect(res.body.error!.code).toBe('unauthorized');
    expect(await storedCount()).toBe(before);
  });

  it('refuses a body changed after it was signed', async () => {
    const body = JSON.stringify(payload());
    const signature = await sign(SECRET, body);
    const res = await deliver('workflow_run', undefined, {
      body: body.replace('"success"', '"failure"'),
      headers: { 'X-Hub-Signature-256': signature },
    });
    expect(res.status).toBe(401);
  });

  it("takes Gitea's X-Gitea-Signature and Forgejo's X-Forgejo-Signature (bare hex) with their own event and delivery headers", async () => {
    for (const [forge, id] of [
      ['Gitea', 9911],
      ['Forgejo', 9912],
    ] as const) {
      const body = JSON.stringify(variant(completed, { run: { id } }));
      const hex = createHmac('sha256', SECRET).update(body).digest('hex');
      const res = await deliver('', undefined, {
        body,
        headers: {
          'X-GitHub-Event': '',
          'X-GitHub-Delivery': '',
          'X-Hub-Signature-256': '',
          [`X-${forge}-Event`]: 'workflow_run',
          [`X-${forge}-Delivery`]: `${forge}-1`,
          [`X-${forge}-Signature`]: hex,
        },
      });
      expect(res.status).toBe(201);
      expect(res.body.job!.id).toBe(`github.com:run:${id}:1`);
      const again = await deliver('', undefined, {
        body,
        headers: {
          'X-GitHub-Event': '',
          'X-GitHub-Delivery': '',
          'X-Hub-Signature-256': '',
          [`X-${forge}-Event`]: 'workflow_run',
          [`X-${forge}-Delivery`]: `${forge}-1`,
          [`X-${forge}-Signature`]: hex,
        },
      });
      expect(again.status).toBe(200);
    }
  });
});

describe('the endpoint on servers set up otherwise', () => {
  let other: TestServer | undefined;
  afterEach(async () => {
    await other?.cleanup();
    other = undefined;
  });

  it('answers 404 when no GitHub secret is configured, however the request is signed', async () => {
    other = await startTestServer();
    const res = await deliver('workflow_run', completed, { url: other.url });
    expect(res.status).toBe(404);
    expect(res.body.error!.message).toContain('--github-secret');
    expect((await history(other.url)).events).toHaveLength(0);
  });

  it('needs no --token from GitHub (the signature is its credential), while /events still does', async () => {
    other = await startTestServer({ githubSecret: SECRET, token: 'server-token' });
    const res = await deliver('workflow_run', variant(completed, { run: { id: 9801 } }), { url: other.url });
    expect(res.status).toBe(201);
    expect((await fetch(`${other.url}/events`, { method: 'POST', body: 'x' })).status).toBe(401);
  });

  it('takes hooks through a tunnel that sends its own Host to a loopback server, which refuses that Host elsewhere', async () => {
    other = await startTestServer({ githubSecret: SECRET });
    const body = JSON.stringify(variant(completed, { run: { id: 9802 } }));
    const { request } = await import('node:http');
    const post = (path: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${other!.url}${path}`,
          { method: 'POST', headers: { Host: 'abc123.trycloudflare.com', ...headers } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const signature = await sign(SECRET, body);
    expect(
      await post('/hooks/github', {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'workflow_run',
        'X-Hub-Signature-256': signature,
      }),
    ).toBe(201);
    expect(await post('/events', { 'Content-Type': 'application/json' })).toBe(403);
  });

  it('applies the body limit (413) and the publish rate (429)', async () => {
    other = await startTestServer({ githubSecret: SECRET, publishRate: { capacity: 2, refillPerSecond: 0.01 } });
    const huge = await deliver('workflow_run', undefined, { url: other.url, body: `{"pad":"${'x'.repeat(1024 * 1024)}"}` });
    expect(huge.status).toBe(413); // refused from its declared size, before it costs a publish
    await deliver('workflow_run', variant(completed, { run: { id: 9803 } }), { url: other.url });
    await deliver('workflow_run', variant(completed, { run: { id: 9804 } }), { url: other.url });
    const limited = await deliver('workflow_run', variant(completed, { run: { id: 9805 } }), { url: other.url });
    expect(limited.status).toBe(429);
    expect((await history(other.url)).events).toHaveLength(2);
  });

  it('refuses to start with an empty secret', async () => {
    await expect(startTestServer({ githubSecret: '' })).rejects.toThrow(/githubSecret is empty/);
  });
});
