// GitLab's webhooks: the token check and the mapping of the Pipeline Hook and the Job Hook to a
// CiRun. Field names as GitLab documents them (doc/user/project/integrations/webhook_events.md,
// "Pipeline events" and "Job events"). Node (constant-time compare from the guard).
import type { IncomingHttpHeaders } from 'node:http';
import { tokenMatches } from '../guard.ts';
import {
  durationBetween,
  titleLine,
  hostOf,
  idText,
  ignored,
  isObject,
  text,
  type CiOutcome,
  type CiPhase,
  type CiRun,
  type HookResult,
} from './ci-job.ts';

export type TokenCheck = { ok: true } | { ok: false; reason: string };

/** X-Gitlab-Token against the configured token, in constant time. */
export function verifyGitlabToken(headers: IncomingHttpHeaders, expected: string): TokenCheck {
  const given = headers['x-gitlab-token'];
  if (typeof given !== 'string' || given === '') {
    return { ok: false, reason: 'no X-Gitlab-Token header: set the webhook\'s "Secret token" to the server\'s --gitlab-token' };
  }
  if (!tokenMatches(given, expected)) return { ok: false, reason: 'X-Gitlab-Token is not the token the server was given (--gitlab-token)' };
  return { ok: true };
}

/**
 * The delivery's idempotency key: GitLab's `Idempotency-Key` (GitLab 17.4 and later: the same on
 * every retry and resend of one delivery), else `X-Gitlab-Event-UUID`.
 */
export function gitlabDelivery(headers: IncomingHttpHeaders): { header: string; id: string } | undefined {
  for (const header of ['Idempotency-Key', 'X-Gitlab-Event-UUID']) {
    const value = headers[header.toLowerCase()];
    if (typeof value === 'string' && value.trim() !== '') return { header, id: value.trim() };
  }
  return undefined;
}

/** What a GitLab hook comes to, by its payload's object_kind. */
export function mapGitlabEvent(payload: unknown): HookResult {
  if (!isObject(payload)) return ignored('the payload is not a JSON object');
  const kind = payload.object_kind;
  if (kind === 'pipeline') return pipeline(payload);
  if (kind === 'build') return job(payload);
  return ignored(
    `GitLab ${typeof kind === 'string' ? `"${kind}"` : 'untyped'} events are not CI runs: tick "Pipeline events" (and "Job events" for every CI job)`,
  );
}

/**
 * A GitLab status in Herald's words, or a reason to report nothing. Pipelines and jobs share the
 * words; `created` is left out (every job of a pipeline is created at once, long before it runs).
 */
function gitlabPhase(status: unknown, allowFailure = false): { phase: CiPhase; outcome?: CiOutcome; note?: string } | { ignore: string } {
  switch (status) {
    case 'created':
      return { ignore: 'created, not queued yet: reported once it is pending' };
    case 'waiting_for_resource':
    case 'preparing':
    case 'pending':
    case 'scheduled':
    case 'waiting_for_callback':
      return { phase: 'queued' };
    case 'running':
      return { phase: 'running' };
    case 'manual':
      return { phase: 'running', note: 'waiting for someone to start a manual job' };
    case 'canceling':
      return { ignore: 'being cancelled: reported once it is canceled' };
    case 'success':
      return { phase: 'done', outcome: { status: 'succeeded', exitCode: 0 } };
    case 'failed':
      return {
        phase: 'done',
        outcome: allowFailure
          ? { status: 'failed', exitCode: 1, note: 'failed (allowed to fail)', allowedToFail: true }
          : { status: 'failed', exitCode: 1 },
      };
    case 'canceled':
      return { phase: 'done', outcome: { status: 'cancelled' } };
    case 'skipped':
      return { phase: 'done', outcome: { status: 'cancelled', note: 'skipped' } };
    default:
      return { ignore: `status ${JSON.stringify(status)} is not one Herald knows` };
  }
}

interface Project {
  path_with_namespace?: string;
  web_url?: string;
  default_branch?: string;
}

function pipeline(payload: Record<string, unknown>): HookResult {
  const attrs = isObject(payload.object_attributes) ? payload.object_attributes : undefined;
  const pipelineId = idText(attrs?.id);
  if (!attrs || !pipelineId) return ignored('pipeline event without object_attributes.id');
  const state = gitlabPhase(attrs.status);
  if ('ignore' in state) return ignored(`pipeline ${pipelineId} ${state.ignore}`);
  const project = (isObject(payload.project) ? payload.project : {}) as Project;
  const commit = isObject(payload.commit) ? payload.commit : {};
  const webUrl = text(project.web_url);
  const failedJobs =
    state.outcome?.status === 'failed' && Array.isArray(payload.builds)
      ? payload.builds
          .filter((b) => isObject(b) && b.status === 'failed' && b.allow_failure !== true)
          .map(
            (b) =>
              `${(b as { name?: unknown }).name}${text((b as { failure_reason?: unknown }).failure_reason) ? ` (${(b as { failure_reason: string }).failure_reason})` : ''}`,
          )
      : [];
  const durationMs = typeof attrs.duration === 'number' ? attrs.duration * 1000 : durationBetween(attrs.created_at, attrs.finished_at);
  const run: CiRun = {
    provider: 'gitlab',
    host: hostOf(webUrl) ?? 'gitlab',
    // A retried pipeline keeps its id (its failed jobs run again): its new end replaces the old one.
    runKey: `pipeline:${pipelineId}`,
    repo: text(project.path_with_namespace) ?? 'unknown project',
    workflow: text(attrs.name) ?? 'pipeline',
    ...(text(attrs.ref) ? { branch: attrs.ref as string } : {}),
    ...(attrs.tag !== true && text(project.default_branch) ? { defaultBranch: project.default_branch! } : {}),
    phase: state.phase,
    ...(state.outcome ? { outcome: state.outcome } : {}),
    ...(state.phase === 'done' && durationMs !== undefined ? { durationMs } : {}),
    ...(text(attrs.url) ? { url: attrs.url as string } : webUrl ? { url: `${webUrl}/-/pipelines/${pipelineId}` } : {}),
    details: [
      state.note ?? '',
      titleLine((commit.title as string | undefined) ?? (commit.message as string | undefined)),
      failedJobs.length > 0
        ? `failed: ${failedJobs.slice(0, 5).join(', ')}${failedJobs.length > 5 ? ` and ${failedJobs.length - 5} more` : ''}`
        : '',
      [`pipeline #${idText(attrs.iid) ?? pipelineId}`, text(attrs.source), text(attrs.sha)?.slice(0, 7)].filter(Boolean).join(' · '),
    ],
  };
  return { kind: 'run', run };
}

function job(payload: Record<string, unknown>): HookResult {
  const buildId = idText(payload.build_id);
  if (!buildId) return ignored('job event without build_id');
  const allowFailure = payload.build_allow_failure === true;
  const state = gitlabPhase(payload.build_status, allowFailure);
  if ('ignore' in state) return ignored(`job ${buildId} ${state.ignore}`);
  const project = (isObject(payload.project) ? payload.project : {}) as Project;
  const repository = isObject(payload.repository) ? payload.repository : {};
  const webUrl = text(project.web_url) ?? text(repository.homepage);
  const commit = isObject(payload.commit) ? payload.commit : {};
  const durationMs =
    typeof payload.build_duration === 'number'
      ? payload.build_duration * 1000
      : durationBetween(
          payload.build_started_at_iso ?? payload.build_started_at,
          payload.build_finished_at_iso ?? payload.build_finished_at,
        );
  const retries = typeof payload.retries_count === 'number' && payload.retries_count > 0 ? payload.retries_count : 0;
  const stage = text(payload.build_stage);
  const run: CiRun = {
    provider: 'gitlab',
    host: hostOf(webUrl) ?? 'gitlab',
    // A retried job is a new job with an id of its own.
    runKey: `job:${buildId}`,
    repo: text(project.path_with_namespace) ?? text(payload.project_name) ?? 'unknown project',
    workflow: text(payload.build_name) ?? `job ${buildId}`,
    ...(text(payload.ref) ? { branch: payload.ref as string } : {}),
    ...(payload.tag !== true && text(project.default_branch) ? { defaultBranch: project.default_branch! } : {}),
    phase: state.phase,
    ...(state.outcome ? { outcome: state.outcome } : {}),
    ...(state.phase === 'done' && durationMs !== undefined ? { durationMs } : {}),
    ...(webUrl ? { url: `${webUrl}/-/jobs/${buildId}` } : {}),
    details: [
      state.note ?? '',
      state.outcome?.status === 'failed' && text(payload.build_failure_reason) ? `reason: ${payload.build_failure_reason as string}` : '',
      titleLine(commit.message as string | undefined),
      [
        stage ? `stage ${stage}` : '',
        `pipeline #${idText(payload.pipeline_id) ?? '?'}`,
        retries > 0 ? `retry ${retries}` : '',
        text(payload.sha)?.slice(0, 7),
      ]
        .filter(Boolean)
        .join(' · '),
    ],
  };
  return { kind: 'run', run };
}
