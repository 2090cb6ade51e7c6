// Herald's one event model, shared by the server, the CLI, the feed client, the desktop app and
// the web UI. This module is pure: no Node, no DOM, no Electron, so every side can import it.

export const JOB_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const KNOWN_TYPES = ['notification', 'job.started', 'job.progress', 'job.completed', 'job.failed'] as const;
export type KnownEventType = (typeof KNOWN_TYPES)[number];

export type Priority = 1 | 2 | 3 | 4 | 5;
export const PRIORITY_NAMES: Record<Priority, string> = { 1: 'min', 2: 'low', 3: 'default', 4: 'high', 5: 'urgent' };

/** "high" → 4: the words publishers may use for a priority (headers, the CLI). */
export function priorityFromWord(word: string): Priority | undefined {
  const byName: Record<string, Priority> = { min: 1, low: 2, default: 3, high: 4, urgent: 5, max: 5 };
  return byName[word.trim().toLowerCase()];
}

export interface JobInfo {
  id: string;
  name?: string;
  status: JobStatus;
  exitCode?: number;
  durationMs?: number;
  host?: string;
  outputTail?: string;
}

/** What the server reports instead of events it no longer holds (see GAP_TYPE). */
export interface GapInfo {
  /** The id the client asked to resume after. */
  afterId: string;
  /** The last id that was lost; the next event the client gets follows it. */
  throughId: string;
  /** How many events were lost. */
  missed: number;
}

/** One event, as stored, streamed and shown. */
export interface HeraldEvent {
  /** Assigned by the server: decimal digits, strictly increasing, never reused. */
  id: string;
  type: string;
  topic: string;
  /** ISO 8601, set by the server. */
  time: string;
  title: string;
  body?: string;
  priority: Priority;
  tags?: string[];
  url?: string;
  job?: JobInfo;
  /** Only on GAP_TYPE events. */
  gap?: GapInfo;
  /** Only on RESET_TYPE events: the epoch of the log that replaced the old one. */
  reset?: ResetInfo;
}

/** What the server says with a reset notice (see RESET_TYPE). */
export interface ResetInfo {
  /** The new log's epoch, for clients that cannot read the stream's headers (a browser's EventSource). */
  epoch: string;
}

/** What a publisher sends: the event without the fields the server sets. */
export type EventInput = Omit<HeraldEvent, 'id' | 'time' | 'gap' | 'reset'>;

/**
 * Types under `herald.` are the server's own and cannot be published. A gap event is sent on the
 * stream (never stored) when a client resumes from an id older than what is retained; its `id` is
 * the last lost id, so a client's cursor moves past the hole and the notice is not repeated.
 */
export const GAP_TYPE = 'herald.gap';
/** EventSource's own event names: an event of that type would be taken for the connection's. */
export const CONNECTION_EVENT_NAMES: readonly string[] = ['open', 'error'];
/**
 * Sent on the stream (never stored, with `id: 0`) when the server's log was replaced since the
 * client's cursor was written: the client names a log epoch that is not this log's (see
 * LOG_EPOCH_HEADER), or, from a client that names none, an id newer than the newest the server
 * holds. Clients move their cursor back to "0" and take the new epoch, so the ids that follow are
 * not taken for duplicates.
 */
export const RESET_TYPE = 'herald.reset';
export const RESERVED_TYPE_PREFIX = 'herald.';
/**
 * The heartbeat as an event, for clients that cannot see comments (a browser's EventSource hides
 * them): sent only to streams that ask with `heartbeat=event`, right after `retry:` and then
 * wherever the comment would go. No `id:`, never stored; its data is `{"intervalMs":N}`, so the
 * client knows how long a silence means a dead connection.
 */
export const HEARTBEAT_TYPE = 'herald.heartbeat';

/**
 * Is this an event as the server sends it? For what a client reads from the network or from a
 * file it did not write alone: /history, the stream, a stored history, a publish's answer.
 */
export function isHeraldEvent(value: unknown): value is HeraldEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (
    typeof event.id === 'string' &&
    isEventId(event.id) &&
    typeof event.type === 'string' &&
    typeof event.topic === 'string' &&
    typeof event.time === 'string' &&
    typeof event.title === 'string' &&
    typeof event.priority === 'number'
  );
}

/** The server's own notices (gap, reset): shown as banners, never as history entries. */
export function isNotice(event: HeraldEvent): boolean {
  return event.type === GAP_TYPE || event.type === RESET_TYPE;
}

export function isJobEvent(event: HeraldEvent): boolean {
  return event.job !== undefined && event.type.startsWith('job.');
}

/**
 * The history entry an event belongs to, as the window lists them and the tray counts them: a
 * job's events are one entry (started → completed), any other event its own; notices none.
 */
export function entryKey(event: HeraldEvent): string | undefined {
  if (isNotice(event)) return undefined;
  return isJobEvent(event) ? `job:${event.job!.id}` : `event:${event.id}`;
}

/** A log epoch: a random name the server gives its event log when it creates it. */
export const EPOCH_PATTERN = /^[0-9a-f]{16}$/;

export function isEpoch(value: unknown): value is string {
  return typeof value === 'string' && EPOCH_PATTERN.test(value);
}

export const LIMITS = {
  typeLength: 64,
  topicLength: 64,
  titleLength: 256,
  bodyLength: 4096,
  urlLength: 2048,
  tagCount: 16,
  tagLength: 64,
  jobIdLength: 128,
  jobNameLength: 256,
  jobHostLength: 256,
  outputTailLength: 4096,
  /** The longest job a duration may describe: a year, in milliseconds. */
  jobDurationMs: 365 * 24 * 3600 * 1000,
  /** Topics in one filter (`topic=a,b,…` on /events and /history). */
  filterTopics: 64,
  /** Largest accepted request body, in bytes. */
  bodyBytes: 64 * 1024,
} as const;

export const TYPE_PATTERN = /^[a-z0-9._-]{1,64}$/;
export const TOPIC_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_TOPIC = 'default';
export const DEFAULT_TYPE: KnownEventType = 'notification';
export const DEFAULT_PRIORITY: Priority = 3;

export class EventValidationError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'EventValidationError';
    this.field = field;
  }
}

// Control characters other than tab and newline have no place in text meant for people; they are
// also how forged SSE fields and terminal escapes get in. [PRODUCT] "other control characters (C0
// and C1) are refused": C1 (U+0080–U+009F) too, as U+009B is a terminal's CSI, like ESC [.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const CONTROL_NO_NEWLINE = /[\u0000-\u001f\u007f-\u009f]/;

function text(
  input: Record<string, unknown>,
  field: string,
  max: number,
  opts: { multiline?: boolean; required?: boolean } = {},
): string | undefined {
  const raw = input[field];
  if (raw === undefined || raw === null || raw === '') {
    if (opts.required) throw new EventValidationError(field, 'is required');
    return undefined;
  }
  if (typeof raw !== 'string') throw new EventValidationError(field, `must be a string, not ${describe(raw)}`);
  // [PRODUCT] Line breaks may come as LF, CR or CRLF (Windows tools, PowerShell here-strings) and
  // are stored as LF, as text/plain bodies are; every other control character is still refused.
  const value = opts.multiline ? raw.replace(/\r\n?/g, '\n') : raw;
  if (value.length > max) throw new EventValidationError(field, `must be at most ${max} characters (got ${value.length})`);
  if ((opts.multiline ? CONTROL : CONTROL_NO_NEWLINE).test(value)) {
    throw new EventValidationError(
      field,
      opts.multiline ? 'must not contain control characters' : 'must not contain line breaks or control characters',
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Accepts only absolute http: and https: URLs; anything else (javascript:, file:, data:) is refused. */
export function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const EVENT_FIELDS = new Set(['type', 'topic', 'title', 'body', 'priority', 'tags', 'url', 'job', 'message']);
const JOB_FIELDS = new Set(['id', 'name', 'status', 'exitCode', 'durationMs', 'host', 'outputTail']);

/**
 * Checks what a publisher sent and returns the event to store (without id and time). Throws
 * EventValidationError naming the first bad field. `message` is accepted as an alias of `body`
 * (the founding note's POST /message and ntfy-style publishers send it).
 */
export function parseEventInput(raw: unknown): EventInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EventValidationError('body', `must be a JSON object, not ${describe(raw)}`);
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!EVENT_FIELDS.has(key)) {
      if (key === 'id' || key === 'time') throw new EventValidationError(key, 'is set by the server and must not be sent');
      throw new EventValidationError(key, 'is not a known field');
    }
  }

  const type = text(input, 'type', LIMITS.typeLength) ?? DEFAULT_TYPE;
  if (!TYPE_PATTERN.test(type)) throw new EventValidationError('type', 'must be 1 to 64 characters of a-z, 0-9, ".", "_" or "-"');
  if (type.startsWith(RESERVED_TYPE_PREFIX))
    throw new EventValidationError('type', `"${RESERVED_TYPE_PREFIX}*" types are reserved for the server`);
  if (CONNECTION_EVENT_NAMES.includes(type))
    throw new EventValidationError('type', `"${type}" is EventSource's own event name; choose another (e.g. job.${type})`);

  const topic = text(input, 'topic', LIMITS.topicLength) ?? DEFAULT_TOPIC;
  if (!TOPIC_PATTERN.test(topic)) throw new EventValidationError('topic', 'must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-"');

  if (input.body !== undefined && input.message !== undefined) {
    throw new EventValidationError('message', 'send either body or message, not both');
  }
  const body = text(input, input.body !== undefined ? 'body' : 'message', LIMITS.bodyLength, { multiline: true });

  let priority: Priority = DEFAULT_PRIORITY;
  if (input.priority !== undefined && input.priority !== null) {
    const p = input.priority;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 5) {
      throw new EventValidationError('priority', 'must be a whole number from 1 (min) to 5 (urgent)');
    }
    priority = p as Priority;
  }

  let tags: string[] | undefined;
  if (input.tags !== undefined && input.tags !== null) {
    if (!Array.isArray(input.tags)) throw new EventValidationError('tags', 'must be an array of strings');
    if (input.tags.length > LIMITS.tagCount) throw new EventValidationError('tags', `must have at most ${LIMITS.tagCount} entries`);
    tags = input.tags.map((tag, i) => {
      const field = `tags[${i}]`;
      if (typeof tag !== 'string' || tag.length === 0) throw new EventValidationError(field, 'must be a non-empty string');
      if (tag.length > LIMITS.tagLength) throw new EventValidationError(field, `must be at most ${LIMITS.tagLength} characters`);
      if (CONTROL_NO_NEWLINE.test(tag) || tag.includes(','))
        throw new EventValidationError(field, 'must not contain commas, line breaks or control characters');
      return tag;
    });
    if (tags.length === 0) tags = undefined;
  }

  const url = text(input, 'url', LIMITS.urlLength);
  if (url !== undefined && !isWebUrl(url)) throw new EventValidationError('url', 'must be an absolute http: or https: URL');

  let job: JobInfo | undefined;
  if (input.job !== undefined && input.job !== null) job = parseJob(input.job);
  if (type.startsWith('job.') && !job) throw new EventValidationError('job', `is required for ${type} events`);

  let title = text(input, 'title', LIMITS.titleLength);
  if (title === undefined) {
    if (job) title = jobTitle(type, job);
    else if (body !== undefined) title = clip(firstLine(body) ?? body.trim(), LIMITS.titleLength);
    else throw new EventValidationError('title', 'is required (or send a body to take it from)');
  }

  const event: EventInput = { type, topic, title, priority };
  if (body !== undefined) event.body = body;
  if (tags) event.tags = tags;
  if (url !== undefined) event.url = url;
  if (job) event.job = job;
  return event;
}

function parseJob(raw: unknown): JobInfo {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new EventValidationError('job', `must be an object, not ${describe(raw)}`);
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!JOB_FIELDS.has(key)) throw new EventValidationError(`job.${key}`, 'is not a known field');
  }
  const sub = (field: string, max: number, opts: { multiline?: boolean; required?: boolean } = {}) => {
    try {
      return text(input, field, max, opts);
    } catch (err) {
      if (err instanceof EventValidationError) throw new EventValidationError(`job.${err.field}`, err.message.slice(err.field.length + 2));
      throw err;
    }
  };
  const id = sub('id', LIMITS.jobIdLength, { required: true })!;
  const status = input.status;
  if (typeof status !== 'string' || !(JOB_STATUSES as readonly string[]).includes(status)) {
    throw new EventValidationError('job.status', `must be one of ${JOB_STATUSES.join(', ')}`);
  }
  const job: JobInfo = { id, status: status as JobStatus };
  const name = sub('name', LIMITS.jobNameLength);
  if (name !== undefined) job.name = name;
  const host = sub('host', LIMITS.jobHostLength);
  if (host !== undefined) job.host = host;
  const tail = sub('outputTail', LIMITS.outputTailLength, { multiline: true });
  if (tail !== undefined) job.outputTail = tail;
  if (input.exitCode !== undefined && input.exitCode !== null) {
    const code = input.exitCode;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < -2147483648 || code > 4294967295) {
      throw new EventValidationError('job.exitCode', 'must be a whole number');
    }
    job.exitCode = code;
  }
  if (input.durationMs !== undefined && input.durationMs !== null) {
    const ms = input.durationMs;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
      throw new EventValidationError('job.durationMs', 'must be a number of milliseconds, 0 or more');
    if (ms > LIMITS.jobDurationMs) throw new EventValidationError('job.durationMs', `must be at most ${LIMITS.jobDurationMs} (a year)`);
    job.durationMs = Math.round(ms);
  }
  return job;
}

/** The first line of a text that is not blank, trimmed; undefined when there is none. */
export function firstLine(text: string | null | undefined): string | undefined {
  return text
    ?.split(/\r\n|\r|\n/)
    .find((line) => line.trim() !== '')
    ?.trim();
}

/** At most `max` characters: a longer text is cut and ends with "…". */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "1.2 s", "3 min 5 s", "2 h 4 min": a duration written for people. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const totalS = Math.round(s);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const rest = totalS % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return rest > 0 ? `${m} min ${rest} s` : `${m} min`;
}

/** The title a job event gets when its publisher sent none: "✓ build succeeded in 3 min 5 s". */
export function jobTitle(type: string, job: JobInfo): string {
  const name = job.name ?? job.id;
  const took = job.durationMs !== undefined ? ` in ${humanDuration(job.durationMs)}` : '';
  let title: string;
  switch (job.status) {
    case 'running':
      title = type === 'job.progress' ? `… ${name} is running` : `▶ ${name} started`;
      break;
    case 'succeeded':
      title = `✓ ${name} succeeded${took}`;
      break;
    case 'failed':
      title = `✗ ${name} failed${job.exitCode !== undefined ? ` (exit ${job.exitCode})` : ''}${took}`;
      break;
    case 'cancelled':
      title = `⊘ ${name} was cancelled${took}`;
      break;
  }
  return clip(title, LIMITS.titleLength);
}

/** Ids are decimal digit strings; they compare as numbers ("10" follows "9"). */
export function compareEventIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True for an id the server could have assigned ("0" means "from the start"). */
export function isEventId(value: string): boolean {
  return /^(0|[1-9]\d{0,17})$/.test(value);
}

/** The last non-empty line of a job's output, for a one-line summary. */
export function lastOutputLine(job: JobInfo): string | undefined {
  if (!job.outputTail) return undefined;
  const lines = job.outputTail
    .split(/\r\n|\r|\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  return lines.at(-1);
}
