// A CI run as Herald sees it, whatever provider sent it, and the job event it becomes: the one
// shape GitHub's, Gitea's, Forgejo's and GitLab's payloads are read into. Pure.
import { LIMITS, clip, firstLine, isWebUrl, type EventInput, type JobStatus, type Priority } from '../../events/event.ts';

export const DEFAULT_CI_TOPIC = 'ci';

/** Where a run is: waiting for a runner, running, or over (with how it ended). */
export type CiPhase = 'queued' | 'running' | 'done';

export interface CiOutcome {
  status: Exclude<JobStatus, 'running'>;
  /** Only where the provider's word maps to one: success 0, failure 1. */
  exitCode?: number;
  /** The provider's own word when the status alone would hide it ("timed out", "skipped"). */
  note?: string;
  /** A failure that may not count (GitLab's allow_failure): never high priority. */
  allowedToFail?: boolean;
}

export interface CiRun {
  provider: 'github' | 'gitlab';
  /** The provider's host (github.com, gitlab.example.com): the job id's namespace. */
  host: string;
  /** What makes this run one job: the run (and attempt) or pipeline id, with its kind. */
  runKey: string;
  /** owner/repo, group/project. */
  repo: string;
  /** Workflow, pipeline, check suite or CI job name. */
  workflow: string;
  branch?: string;
  defaultBranch?: string;
  phase: CiPhase;
  outcome?: CiOutcome;
  durationMs?: number;
  url?: string;
  /** Lines for the body: commit title, run number, why it ended. */
  details: string[];
}

/** What a hook payload comes to: a job event to store, or a reason it stores nothing. */
export type HookResult = { kind: 'run'; run: CiRun } | { kind: 'ignored'; reason: string };

export function ignored(reason: string): HookResult {
  return { kind: 'ignored', reason };
}

/** What a run becomes before validation: an event without its title (derived from the job). */
export type CiEventDraft = Omit<EventInput, 'title'>;

/**
 * The job event for a run. One job per run: the job id comes from the provider's run (or
 * pipeline) id, so the run's start and its end are one history row and the end replaces the
 * start's notification. Failures on the default branch are high priority; everything else is
 * default, and the start and progress of a run low (as `herald run`'s job.started).
 */
export function ciJobEvent(run: CiRun, topic: string): CiEventDraft {
  const name = clip(oneLine(`${run.repo}: ${run.workflow}${run.branch ? ` (${run.branch})` : ''}`), LIMITS.jobNameLength);
  // No job.host: the run's page (url) already names the provider, and its runner is not known.
  const job: NonNullable<EventInput['job']> = { id: jobId(run), name, status: 'running' };
  let type: string;
  let priority: Priority;
  if (run.phase !== 'done' || !run.outcome) {
    type = run.phase === 'queued' ? 'job.started' : 'job.progress';
    priority = 2;
  } else {
    const { status, exitCode, allowedToFail } = run.outcome;
    job.status = status;
    if (exitCode !== undefined) job.exitCode = exitCode;
    type = status === 'succeeded' ? 'job.completed' : 'job.failed';
    const onDefaultBranch = run.branch !== undefined && run.branch === run.defaultBranch;
    priority = status === 'failed' && onDefaultBranch && !allowedToFail ? 4 : 3;
  }
  if (run.durationMs !== undefined && Number.isFinite(run.durationMs) && run.durationMs >= 0) job.durationMs = Math.round(run.durationMs);
  const event: CiEventDraft = { type, topic, priority, tags: ['ci', run.provider], job };
  const lines = [...(run.outcome?.note ? [run.outcome.note] : []), ...run.details].map(oneLine).filter((l) => l !== '');
  if (lines.length > 0) event.body = clip(lines.join('\n'), LIMITS.bodyLength);
  if (run.url !== undefined && run.url.length <= LIMITS.urlLength && isWebUrl(run.url)) event.url = run.url;
  return event;
}

/** `<host>:<runKey>`, hashed down when a long host would not fit the job id's limit. */
function jobId(run: CiRun): string {
  const id = `${run.host}:${run.runKey}`;
  if (id.length <= LIMITS.jobIdLength) return id;
  return `${run.host.slice(0, LIMITS.jobIdLength - run.runKey.length - 2)}…:${run.runKey}`.slice(0, LIMITS.jobIdLength);
}

// C0 and C1 controls (and DEL): a provider's text (commit messages, names) is shown to people.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]+/g;

/** One line of text: controls and line breaks become a space, runs of space one. */
export function oneLine(text: string): string {
  return text.replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
}

/** The title line of a commit message or a run's title, as one line ('' when there is none). */
export function titleLine(text: string | null | undefined): string {
  return oneLine(firstLine(text) ?? '');
}

/**
 * A provider timestamp in ms: ISO 8601 (GitHub, GitLab's *_iso and newer fields) or GitLab's
 * older "2016-08-12 15:23:28 UTC" / "2021-04-28 21:50:00 +0200". undefined when absent or unreadable.
 */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const gitlab = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ?(UTC|[+-]\d{2}:?\d{2})$/.exec(value.trim());
  const iso = gitlab
    ? `${gitlab[1]}T${gitlab[2]}${gitlab[3] === 'UTC' ? 'Z' : gitlab[3]!.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`
    : value.trim();
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

/** end − start in ms, when both are readable and in order. */
export function durationBetween(start: unknown, end: unknown): number | undefined {
  const a = parseTime(start);
  const b = parseTime(end);
  return a !== undefined && b !== undefined && b >= a ? b - a : undefined;
}

/** The host of a URL (github.com), or undefined. */
export function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

/** A non-empty string, or undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** A finite number or a numeric string (ids), as a string; else undefined. */
export function idText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return value;
  return undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
