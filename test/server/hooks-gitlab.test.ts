// POST /hooks/gitlab on a real server, fed GitLab's documented Pipeline Hook and Job Hook payloads
// (test/server/fixtures/gitlab-payloads.ts) in every status: the mapping, the secret token,
// redelivery by GitLab's Idempotency-Key or X-Gitlab-Event-UUID, and the unconfigured endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../events/event.ts';
import { JOB_HOOK, PIPELINE_HOOK } from './fixtures/gitlab-payloads.ts';
import { history, startTestServer, type TestServer } from './harness.ts';

const TOKEN = 'gitlab-secret-token';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ gitlabToken: TOKEN });
});
afterAll(async () => {
  await srv.cleanup();
});

let delivery = 0;
interface Answer {
  status: number;
  body: HeraldEvent & { status?: string; reason?: string; error?: { code: string; message: string; field?: string } };
}

async function deliver(
  payload: unknown,
  options: { url?: string; headers?: Record<string, string>; topic?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'X-Gitlab-Event': (payload as { object_kind?: string }).object_kind === 'build' ? 'Job Hook' : 'Pipeline Hook',
    'X-Gitlab-Token': TOKEN,
    'X-Gitlab-Event-UUID': `uuid-${++delivery}-${Date.now()}`,
    ...options.headers,
  };
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  const res = await fetch(`${options.url ?? srv.url}/hooks/gitlab${options.topic ? `?topic=${options.topic}` : ''}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

function pipeline(attrs: Record<string, unknown>): typeof PIPELINE_HOOK {
  const copy = structuredClone(PIPELINE_HOOK);
  Object.assign(copy.object_attributes, attrs);
  return copy;
}

function job(fields: Record<string, unknown>): typeof JOB_HOOK {
  return { ...structuredClone(JOB_HOOK), ...fields } as typeof JOB_HOOK;
}

async function storedCount(): Promise<number> {
  return (await history(srv.url)).events.length;
}

describe('Pipeline Hook', () => {
  it("turns GitLab's example (a successful pipeline) into job.completed with the pipeline's own duration and page", async () => {
    const res = await deliver(PIPELINE_HOOK);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'job.completed',
      topic: 'ci',
      priority: 3,
      url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
      tags: ['ci', 'gitlab'],
      title: '✓ gitlab-org/gitlab-test: Pipeline for branch: master (master) succeeded in 1 min 3 s',
      job: {
        id: '192.168.64.1:3005:pipeline:31',
        name: 'gitlab-org/gitlab-test: Pipeline for branch: master (master)',
        status: 'succeeded',
        exitCode: 0,
        durationMs: 63_000,
      },
    });
    expect(res.body.body).toBe('test\npipeline #3 · merge_request_event · bcbb5ec');
  });

  it.each([
    ['pending', 'job.started', 'running', 2],
    ['waiting_for_resource', 'job.started', 'running', 2],
    ['running', 'job.progress', 'running', 2],
    ['manual', 'job.progress', 'running', 2],
    ['success', 'job.completed', 'succeeded', 3],
    ['failed', 'job.failed', 'failed', 4],
    ['canceled', 'job.failed', 'cancelled', 3],
    ['skipped', 'job.failed', 'cancelled', 3],
  ] as const)('maps status %s to %s (%s, priority %i on the default branch)', async (status, type, jobStatus, priority) => {
    const res = await deliver(pipeline({ id: 1000 + status.length * 10 + status.charCodeAt(1), status }));
    expect(res.status).toBe(201);
    expect(res.body.type).toBe(type);
    expect(res.body.job!.status).toBe(jobStatus);
    expect(res.body.priority).toBe(priority);
    if (jobStatus === 'running') expect(res.body.job!.durationMs).toBeUndefined();
  });

  it('names the failed jobs of a failed pipeline, and keeps a failure off the default branch at default priority', async () => {
    const res = await deliver(pipeline({ id: 2001, status: 'failed', ref: 'feature/login' }));
    expect(res.body.priority).toBe(3);
    expect(res.body.job).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(res.body.body).toContain('failed: test-build (script_failure)');
  });

  it('answers created and canceling with 202 and a reason, storing nothing', async () => {
    const before = await storedCount();
    for (const status of ['created', 'canceling']) {
      const res = await deliver(pipeline({ id: 2002, status }));
      expect(res.status).toBe(202);
      expect(res.body.reason).toContain(status === 'created' ? 'not queued yet' : 'being cancelled');
    }
    expect(await storedCount()).toBe(before);
  });

  it('keeps one job per pipeline from start to end, and takes the later start of a retried pipeline', async () => {
    const id = 2003;
    const events = [];
    for (const status of ['pending', 'running', 'failed', 'running', 'success'])
      events.push((await deliver(pipeline({ id, status }))).body);
    expect(events.map((e) => e.type)).toEqual(['job.started', 'job.progress', 'job.failed', 'job.progress', 'job.completed']);
    expect(new Set(events.map((e) => e.job!.id))).toEqual(new Set(['192.168.64.1:3005:pipeline:2003']));
  });

  it('uses the ?topic= of the hook URL', async () => {
    expect((await deliver(pipeline({ id: 2004 }), { topic: 'deploys' })).body.topic).toBe('deploys');
  });
});

describe('Job Hook', () => {
  it('turns a finished CI job into its own job event, with the job page as url and the retry counted', async () => {
    const res = await deliver(
      job({
        build_status: 'success',
        build_duration: 95.4,
        build_started_at_iso: '2021-02-23T02:42:00Z',
        build_finished_at_iso: '2021-02-23T02:43:35Z',
      }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'job.completed',
      url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977',
      job: {
        id: '192.168.64.1:3005:job:1977',
        name: 'gitlab-org/gitlab-test: test (gitlab-script-trigger)',
        status: 'succeeded',
        exitCode: 0,
        durationMs: 95_400,
      },
    });
    expect(res.body.body).toContain('stage test · pipeline #2366 · retry 2 · 2293ada');
  });

  it('reports a failure with its reason, high on the default branch unless the job may fail', async () => {
    const onMain = await deliver(job({ build_id: 3001, build_status: 'failed', ref: 'master' }));
    const allowed = await deliver(job({ build_id: 3002, build_status: 'failed', ref: 'master', build_allow_failure: true }));
    expect([onMain.body.priority, allowed.body.priority]).toEqual([4, 3]);
    expect(onMain.body.body).toContain('reason: script_failure');
    expect(allowed.body.body).toContain('allowed to fail');
  });

  it("answers GitLab's example as it is (a job just created) with 202, and a start after the job's end too", async () => {
    expect((await deliver(JOB_HOOK)).status).toBe(202);
    const end = await deliver(job({ build_id: 3003, build_status: 'success' }));
    const late = await deliver(job({ build_id: 3003, build_status: 'running' }));
    expect(late.status).toBe(202);
    expect(late.body.reason).toContain(`event ${end.body.id}`);
  });
});

describe('secret token, redelivery, other events', () => {
  it.each([
    ['no token', { 'X-Gitlab-Token': '' }],
    ['a wrong token', { 'X-Gitlab-Token': 'guess' }],
    ['the right token less its last character', { 'X-Gitlab-Token': TOKEN.slice(0, -1) }],
  ])('refuses %s with 401 and stores nothing', async (_what, headers) => {
    const before = await storedCount();
    const res = await deliver(pipeline({ id: 4001 }), { headers });
    expect(res.status).toBe(401);
    expect(res.body.error!.code).toBe('unauthorized');
    expect(await storedCount()).toBe(before);
  });

  it('answers a redelivery with the same X-Gitlab-Event-UUID with the event already stored', async () => {
    const first = await deliver(pipeline({ id: 4002 }), { headers: { 'X-Gitlab-Event-UUID': 'event-uuid-1' } });
    const before = await storedCount();
    const again = await deliver(pipeline({ id: 4002 }), { headers: { 'X-Gitlab-Event-UUID': 'event-uuid-1' } });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body).toEqual(first.body);
    expect(await storedCount()).toBe(before);
  });

  it("prefers GitLab's Idempotency-Key, which stays the same on a resend whose X-Gitlab-Event-UUID is new", async () => {
    const first = await deliver(pipeline({ id: 4003 }), { headers: { 'Idempotency-Key': 'gl-idem-1', 'X-Gitlab-Event-UUID': 'a' } });
    const resend = await deliver(pipeline({ id: 4003 }), { headers: { 'Idempotency-Key': 'gl-idem-1', 'X-Gitlab-Event-UUID': 'b' } });
    expect(resend.status).toBe(200);
    expect(resend.body.id).toBe(first.body.id);
  });

  it('answers other GitLab events with 202 and a reason', async () => {
    const res = await deliver({ object_kind: 'push', ref: 'refs/heads/master' });
    expect(res.status).toBe(202);
    expect(res.body.reason).toContain('Pipeline events');
  });

  it('answers 404 when no GitLab token is configured', async () => {
    const other = await startTestServer();
    try {
      const res = await deliver(PIPELINE_HOOK, { url: other.url });
      expect(res.status).toBe(404);
      expect(res.body.error!.message).toContain('--gitlab-token');
    } finally {
      await other.cleanup();
    }
  });
});
