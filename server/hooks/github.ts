// GitHub's webhooks (and Gitea's and Forgejo's, which send the same shape under their own header
// names): the signature check and the mapping of workflow_run and check_suite to a CiRun. Node
// (node:crypto for the HMAC); the field names are checked against @octokit/webhooks-types.
import type { IncomingHttpHeaders } from 'node:http';
import type { CheckSuiteCompletedEvent, Repository, WorkflowRun, WorkflowRunEvent } from '@octokit/webhooks-types';
import {
  durationBetween,
  titleLine,
  hostOf,
  idText,
  ignored,
  isObject,
  text,
  type CiOutcome,
  type CiRun,
  type HookResult,
} from './ci-job.ts';
import { nodeCrypto } from '../lazy.ts';

/** The headers that name the event and the delivery, GitHub's first; Gitea and Forgejo send their own (Gitea sends GitHub's too). */
const EVENT_HEADERS = ['x-github-event', 'x-gitea-event', 'x-forgejo-event', 'x-gogs-event'] as const;
const DELIVERY_HEADERS = ['X-GitHub-Delivery', 'X-Gitea-Delivery', 'X-Forgejo-Delivery', 'X-Gogs-Delivery'] as const;

/**
 * The signatures a request may carry: GitHub's `sha256=<hex>`, and the bare hex HMAC-SHA256 that
 * Gitea and Forgejo send. Each is the HMAC of the raw body under the hook's secret.
 */
const SIGNATURE_HEADERS = [
  { header: 'x-hub-signature-256', prefix: 'sha256=' },
  { header: 'x-forgejo-signature', prefix: '' },
  { header: 'x-gitea-signature', prefix: '' },
] as const;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks the request's signatures against the secret, in constant time. Every signature header
 * the request carries must hold (a bad one is not rescued by a good one); none at all is a failure.
 */
export function verifyGithubSignature(headers: IncomingHttpHeaders, rawBody: Buffer, secret: string): SignatureCheck {
  const { createHmac, timingSafeEqual } = nodeCrypto();
  const expected = Buffer.from(createHmac('sha256', secret).update(rawBody).digest('hex'), 'ascii');
  let seen = 0;
  for (const { header, prefix } of SIGNATURE_HEADERS) {
    const value = headers[header];
    if (value === undefined) continue;
    seen++;
    const given = typeof value === 'string' ? value.trim() : '';
    const hex = given.toLowerCase().startsWith(prefix) ? given.slice(prefix.length).toLowerCase() : '';
    const actual = Buffer.from(hex, 'ascii');
    // The length of a hex SHA-256 is no secret: only equal-length values are compared, in constant time.
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
      return { ok: false, reason: `${header} does not match this body signed with the secret the server was given (--github-secret)` };
    }
  }
  if (seen === 0)
    return {
      ok: false,
      reason:
        'no signature header (X-Hub-Signature-256, X-Gitea-Signature or X-Forgejo-Signature): set the same secret in the webhook as in --github-secret',
    };
  return { ok: true };
}

/** The event name (workflow_run, check_suite, ping…) from GitHub's, Gitea's or Forgejo's header. */
export function githubEventName(headers: IncomingHttpHeaders): string | undefined {
  for (const name of EVENT_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** The delivery id, the same on a redelivery: the event's idempotency key. */
export function githubDelivery(headers: IncomingHttpHeaders): { header: string; id: string } | undefined {
  for (const header of DELIVERY_HEADERS) {
    const value = headers[header.toLowerCase()];
    if (typeof value === 'string' && value.trim() !== '') return { header, id: value.trim() };
  }
  return undefined;
}

/** What a GitHub event comes to: a CI run, or why nothing is stored. `ping` is the caller's. */
export function mapGithubEvent(eventName: string, payload: unknown): HookResult {
  if (!isObject(payload)) return ignored('the payload is not a JSON object');
  if (eventName === 'workflow_run') return workflowRun(payload as Partial<WorkflowRunEvent>);
  if (eventName === 'check_suite') return checkSuite(payload as Partial<CheckSuiteCompletedEvent>);
  return ignored(`${eventName} events are not CI runs: Herald takes workflow_run (Workflow runs) and check_suite (Check suites)`);
}

// Gitea's and Forgejo's runs name the attempt's start and end like their API does.
type RunFields = Partial<
  Pick<
    WorkflowRun,
    | 'id'
    | 'name'
    | 'path'
    | 'display_title'
    | 'event'
    | 'head_branch'
    | 'head_sha'
    | 'html_url'
    | 'run_number'
    | 'run_attempt'
    | 'run_started_at'
    | 'created_at'
    | 'updated_at'
    | 'status'
  >
> & {
  conclusion?: string | null;
  started_at?: string;
  completed_at?: string;
};
type RepoFields = Partial<Pick<Repository, 'full_name' | 'default_branch' | 'html_url'>>;

function workflowRun(payload: Partial<WorkflowRunEvent>): HookResult {
  const run = (isObject(payload.workflow_run) ? payload.workflow_run : undefined) as RunFields | undefined;
  const repo = (isObject(payload.repository) ? payload.repository : undefined) as RepoFields | undefined;
  const runId = idText(run?.id);
  if (!run || !runId) return ignored('workflow_run without workflow_run.id');
  const action = String(payload.action);
  const attempt = typeof run.run_attempt === 'number' && run.run_attempt > 0 ? run.run_attempt : 1;
  const workflowFile = text(run.path)?.split('/').pop();
  const workflow =
    text(run.name) ?? text((payload.workflow as { name?: unknown } | undefined)?.name) ?? workflowFile ?? `workflow ${run.id}`;
  const base = {
    provider: 'github' as const,
    host: hostOf(run.html_url) ?? hostOf(repo?.html_url) ?? 'github',
    // [issue 11] Re-runs (run_attempt) are their own jobs.
    runKey: `run:${runId}:${attempt}`,
    repo: text(repo?.full_name) ?? 'unknown repository',
    workflow,
    ...(text(run.head_branch) ? { branch: run.head_branch! } : {}),
    ...(text(repo?.default_branch) ? { defaultBranch: repo!.default_branch! } : {}),
    ...(text(run.html_url) ? { url: run.html_url! } : {}),
    details: [
      titleLine(run.display_title),
      [`run #${run.run_number ?? runId}${attempt > 1 ? `, attempt ${attempt}` : ''}`, text(run.event), text(run.head_sha)?.slice(0, 7)]
        .filter(Boolean)
        .join(' · '),
    ],
  };
  if (action === 'requested') return { kind: 'run', run: { ...base, phase: 'queued' } };
  if (action === 'in_progress') return { kind: 'run', run: { ...base, phase: 'running' } };
  if (action !== 'completed') return ignored(`workflow_run action "${action}" is not reported (requested, in_progress and completed are)`);
  const outcome = githubOutcome(run.conclusion);
  if (!outcome) return ignored('workflow_run completed without a conclusion: nothing to report');
  const durationMs = durationBetween(run.run_started_at ?? run.started_at ?? run.created_at, run.completed_at ?? run.updated_at);
  return { kind: 'run', run: { ...base, phase: 'done', outcome, ...(durationMs !== undefined ? { durationMs } : {}) } };
}

type SuiteFields = Partial<
  Pick<CheckSuiteCompletedEvent['check_suite'], 'id' | 'head_branch' | 'head_sha' | 'created_at' | 'updated_at' | 'latest_check_runs_count'>
> & {
  conclusion?: string | null;
  app?: { slug?: string; name?: string } | null;
};

function checkSuite(payload: Partial<CheckSuiteCompletedEvent>): HookResult {
  const action = String(payload.action);
  if (action !== 'completed') return ignored(`check_suite action "${action}" is not reported (only completed is)`);
  const suite = (isObject(payload.check_suite) ? payload.check_suite : undefined) as SuiteFields | undefined;
  const repo = (isObject(payload.repository) ? payload.repository : undefined) as RepoFields | undefined;
  const suiteId = idText(suite?.id);
  if (!suite || !suiteId) return ignored('check_suite without check_suite.id');
  // Every workflow run has a check suite of its own: reporting both would show each run twice.
  if (suite.app?.slug === 'github-actions') {
    return ignored('check suites of GitHub Actions are reported from workflow_run events: tick "Workflow runs" for them');
  }
  const outcome = githubOutcome(suite.conclusion);
  if (!outcome) return ignored('check_suite completed without a conclusion: nothing to report');
  const repoUrl = text(repo?.html_url);
  const sha = text(suite.head_sha);
  const durationMs = durationBetween(suite.created_at, suite.updated_at);
  const runs = suite.latest_check_runs_count;
  return {
    kind: 'run',
    run: {
      provider: 'github',
      host: hostOf(repoUrl) ?? 'github',
      runKey: `check_suite:${suiteId}`,
      repo: text(repo?.full_name) ?? 'unknown repository',
      workflow: text(suite.app?.name) ?? text(suite.app?.slug) ?? 'checks',
      ...(text(suite.head_branch) ? { branch: suite.head_branch! } : {}),
      ...(text(repo?.default_branch) ? { defaultBranch: repo!.default_branch! } : {}),
      ...(repoUrl && sha ? { url: `${repoUrl}/commit/${sha}/checks?check_suite_id=${suiteId}` } : {}),
      phase: 'done',
      outcome,
      ...(durationMs !== undefined ? { durationMs } : {}),
      details: [
        [typeof runs === 'number' ? `${runs} check run${runs === 1 ? '' : 's'}` : '', sha?.slice(0, 7)].filter(Boolean).join(' · '),
      ],
    },
  };
}

/**
 * A conclusion in Herald's words. Exit codes only where GitHub's word says it (success 0,
 * failure 1); a conclusion GitHub adds later is reported as a failure that names it, so an end is
 * never swallowed.
 */
export function githubOutcome(conclusion: string | null | undefined): CiOutcome | undefined {
  switch (conclusion) {
    case null:
    case undefined:
    case '':
      return undefined;
    case 'success':
      return { status: 'succeeded', exitCode: 0 };
    case 'neutral':
      return { status: 'succeeded', note: 'neutral' };
    case 'failure':
      return { status: 'failed', exitCode: 1 };
    case 'timed_out':
      return { status: 'failed', note: 'timed out' };
    case 'startup_failure':
      return { status: 'failed', note: 'failed to start (startup failure)' };
    case 'action_required':
      return { status: 'failed', note: 'waiting for someone to act on it (action required)' };
    case 'cancelled':
      return { status: 'cancelled' };
    case 'skipped':
      return { status: 'cancelled', note: 'skipped' };
    case 'stale':
      return { status: 'cancelled', note: 'stale (GitHub gave up waiting for it)' };
    default:
      return { status: 'failed', note: `ended "${conclusion}"` };
  }
}
