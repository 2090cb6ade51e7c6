// Which events become native notifications, and with what words. Pure: no Electron, no Node I/O;
// time is injected so the rules are tested without sleeping. The Electron layer shows what
// onNotify hands it (escaping markup where the platform reads it) and replaces by tag.

import { GAP_TYPE, RESET_TYPE, firstLine, isWebUrl, jobTitle, lastOutputLine } from '../events/event.ts';
import type { HeraldEvent } from '../events/event.ts';
import type { DoNotDisturb } from '../bridge/contract.ts';

export type Urgency = 'low' | 'normal' | 'critical';

export interface NotificationSpec {
  /** Stable key: a notification with the same tag replaces the earlier one. `job:<id>` for job
   * events, `event:<id>` for others, `summary:<first id>` for burst and backlog summaries,
   * `herald:gap`, `herald:reset`. */
  tag: string;
  title: string;
  /** Plain text (not escaped). */
  body: string;
  urgency: Urgency;
  /** http/https only (checked). */
  url?: string;
  /** The events it covers (a summary covers many). */
  eventIds: string[];
  /** Update in place without sound or popup where the platform allows (job progress). */
  silent: boolean;
}

export interface PolicySettings {
  readonly doNotDisturb: Readonly<DoNotDisturb>;
  readonly mutedTopics: readonly string[];
  /** Notifications paused (tray): until a time (epoch ms) or until resumed (until null); null = not paused. */
  paused: { until: number | null } | null;
}

export interface NotificationPolicyOptions {
  /** Read on every event, so changes apply at once. */
  settings: () => PolicySettings;
  onNotify(n: NotificationSpec): void;
  /** Default Date.now. */
  now?: () => number;
  /** Default setTimeout / clearTimeout. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  /** The sliding window bursts are counted in. Default 10000. */
  burstWindowMs?: number;
  /** More than this many notifying events within burstWindowMs: the rest of the window becomes
   * one summary, shown when the window ends. Default 5. */
  burstThreshold?: number;
  /** Events older than this when they arrive are backlog ("N events while you were away"). Default 120000. */
  backlogAgeMs?: number;
  /** The backlog summary is shown once no backlog event arrived for this long. Default 1500. */
  backlogSettleMs?: number;
}

export function urgencyOf(priority: number): Urgency {
  if (priority >= 5) return 'critical';
  if (priority <= 2) return 'low';
  return 'normal';
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The words of one event's notification: job events get ✓/✗, name, duration, exit code and the
 * output's last line; others their own title and body. */
export function describeEvent(event: HeraldEvent): { title: string; body: string } {
  const job = event.job;
  if (job) {
    const lines: string[] = [];
    const tail = lastOutputLine(job) ?? firstLine(event.body);
    if (tail) lines.push(tail);
    if (job.host) lines.push(`on ${job.host}`);
    return { title: jobTitle(event.type, job), body: lines.join('\n') };
  }
  if (event.type === GAP_TYPE && event.gap) {
    const g = event.gap;
    return {
      title: `${plural(g.missed, 'event was', 'events were')} lost while you were away`,
      body: `The server no longer kept events ${Number(g.afterId) + 1}–${g.throughId}. The history shows what it still has.`,
    };
  }
  if (event.type === RESET_TYPE) {
    return { title: event.title || "The server's event log was reset", body: "Herald follows the server's new log from its first event." };
  }
  return { title: event.title, body: event.body ?? '' };
}

const FINISHED_TYPES = new Set(['job.completed', 'job.failed']);

/** "12 jobs finished: 10 ✓, 2 ✗" or "12 new events on build, deploy". */
export function describeBurst(events: HeraldEvent[]): { title: string; body: string } {
  if (events.every((e) => e.job && (FINISHED_TYPES.has(e.type) || e.job.status !== 'running'))) {
    const ok = events.filter((e) => e.job!.status === 'succeeded').length;
    const failed = events.filter((e) => e.job!.status === 'failed').length;
    const cancelled = events.length - ok - failed;
    const parts = [`${ok} ✓`, `${failed} ✗`];
    if (cancelled > 0) parts.push(`${cancelled} ⊘`);
    const failedNames = events.filter((e) => e.job!.status === 'failed').map((e) => e.job!.name ?? e.job!.id);
    const body = failedNames.length > 0 ? `Failed: ${listSome(failedNames)}` : '';
    return { title: `${plural(events.length, 'job', 'jobs')} finished: ${parts.join(', ')}`, body };
  }
  return {
    title: `${events.length} new events on ${listSome(topicsByCount(events))}`,
    body: listSome(
      events.map((e) => describeEvent(e).title),
      3,
      '\n',
    ),
  };
}

function topicsByCount(events: HeraldEvent[]): string[] {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.topic, (counts.get(e.topic) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t);
}

function listSome(items: string[], max = 3, sep = ', '): string {
  const shown = items.slice(0, max).join(sep);
  return items.length > max ? `${shown}${sep === '\n' ? '\n' : ' '}and ${items.length - max} more` : shown;
}

function maxUrgency(events: HeraldEvent[]): Urgency {
  // A loop, not Math.max(...): spreading a backlog of ~200k+ events overflows the call stack (RangeError).
  let top = -Infinity;
  for (const e of events) if (e.priority > top) top = e.priority;
  return urgencyOf(top) === 'low' ? 'low' : 'normal';
}

export class NotificationPolicy {
  readonly #options: NotificationPolicyOptions;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (timer: unknown) => void;
  readonly #burstWindowMs: number;
  readonly #burstThreshold: number;
  readonly #backlogAgeMs: number;
  readonly #backlogSettleMs: number;

  /** Arrival times of the last burstThreshold + 1 notifying events in the current window. */
  #recent: number[] = [];
  #burst: HeraldEvent[] = [];
  #burstTimer: unknown;
  #backlog: HeraldEvent[] = [];
  #backlogTimer: unknown;

  constructor(options: NotificationPolicyOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
    this.#burstWindowMs = options.burstWindowMs ?? 10_000;
    this.#burstThreshold = options.burstThreshold ?? 5;
    this.#backlogAgeMs = options.backlogAgeMs ?? 120_000;
    this.#backlogSettleMs = options.backlogSettleMs ?? 1500;
  }

  /** Feed every event here, in order, after it is stored. */
  handle(event: HeraldEvent): void {
    const now = this.#now();
    const s = this.#options.settings();
    if (s.paused && (s.paused.until === null || s.paused.until > now)) return;
    if (s.mutedTopics.includes(event.topic) && event.type !== GAP_TYPE && event.type !== RESET_TYPE) return;
    const dnd = s.doNotDisturb;
    if (dnd.enabled && (dnd.until === null || dnd.until > now) && !(dnd.allowUrgent && event.priority >= 5)) return;

    if (event.type === GAP_TYPE) return this.#notifyOne(event, { tag: 'herald:gap', urgency: 'normal' });
    if (event.type === RESET_TYPE) return this.#notifyOne(event, { tag: 'herald:reset', urgency: 'low' });
    if (event.type === 'job.progress') return this.#notifyOne(event, { silent: true });

    const time = Date.parse(event.time);
    if (Number.isFinite(time) && now - time > this.#backlogAgeMs) {
      this.#backlog.push(event);
      if (this.#backlogTimer !== undefined) this.#clearTimer(this.#backlogTimer);
      this.#backlogTimer = this.#setTimer(() => this.#flushBacklog(), this.#backlogSettleMs);
      return;
    }

    // Urgent events are never folded into a summary.
    if (event.priority >= 5) return this.#notifyOne(event);
    // Only whether more than burstThreshold fell in the window matters: keep that many + 1 times
    // (a catch-up of 10k events kept them all and filtered them per event: quadratic, ~1 s).
    this.#recent.push(now);
    if (this.#recent.length > this.#burstThreshold + 1) this.#recent.shift();
    this.#recent = this.#recent.filter((t) => now - t < this.#burstWindowMs);
    if (this.#burst.length > 0 || this.#recent.length > this.#burstThreshold) {
      this.#burst.push(event);
      if (this.#burstTimer === undefined) {
        this.#burstTimer = this.#setTimer(() => this.#flushBurst(), this.#burstWindowMs);
      }
      return;
    }
    this.#notifyOne(event);
  }

  /** Shows any pending summary now. */
  flush(): void {
    this.#flushBacklog();
    this.#flushBurst();
  }

  /** Cancels timers; pending summaries are dropped. */
  dispose(): void {
    if (this.#burstTimer !== undefined) this.#clearTimer(this.#burstTimer);
    if (this.#backlogTimer !== undefined) this.#clearTimer(this.#backlogTimer);
    this.#burstTimer = this.#backlogTimer = undefined;
    this.#burst = [];
    this.#backlog = [];
    this.#recent = [];
  }

  #notifyOne(event: HeraldEvent, over: Partial<NotificationSpec> = {}): void {
    const { title, body } = describeEvent(event);
    const spec: NotificationSpec = {
      tag: event.job ? `job:${event.job.id}` : `event:${event.id}`,
      title,
      body,
      urgency: urgencyOf(event.priority),
      eventIds: [event.id],
      silent: false,
      ...over,
    };
    if (event.url && isWebUrl(event.url)) spec.url = event.url;
    this.#options.onNotify(spec);
  }

  #flushBurst(): void {
    if (this.#burstTimer !== undefined) this.#clearTimer(this.#burstTimer);
    this.#burstTimer = undefined;
    const events = this.#burst;
    this.#burst = [];
    if (events.length === 0) return;
    if (events.length === 1) return this.#notifyOne(events[0]!);
    this.#options.onNotify({
      tag: `summary:${events[0]!.id}`,
      ...describeBurst(events),
      urgency: maxUrgency(events),
      eventIds: events.map((e) => e.id),
      silent: false,
    });
  }

  #flushBacklog(): void {
    if (this.#backlogTimer !== undefined) this.#clearTimer(this.#backlogTimer);
    this.#backlogTimer = undefined;
    const events = this.#backlog;
    this.#backlog = [];
    if (events.length === 0) return;
    if (events.length === 1) return this.#notifyOne(events[0]!);
    const { title, body } = describeBurst(events);
    this.#options.onNotify({
      tag: `summary:${events[0]!.id}`,
      title: `${events.length} events while you were away`,
      body: `${title}${body ? `\n${body}` : ''}`,
      urgency: maxUrgency(events),
      eventIds: events.map((e) => e.id),
      silent: false,
    });
  }
}
