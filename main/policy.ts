// Which events become native notifications, and with what words. Pure: no Electron, no Node I/O;
// time is injected so the rules are tested without sleeping.

import type { HeraldEvent } from '../events/event.ts';
import type { DoNotDisturb } from '../bridge/contract.ts';

export type Urgency = 'low' | 'normal' | 'critical';

export interface NotificationSpec {
  /** Stable key: a notification with the same tag replaces the earlier one (`job:<id>` for jobs,
   * `summary` for burst and backlog summaries, `event:<id>` otherwise, `herald:gap`, `herald:reset`). */
  tag: string;
  title: string;
  body: string;
  urgency: Urgency;
  /** http/https only (checked). */
  url?: string;
  /** The events it covers (a summary covers many). */
  eventIds: string[];
  /** Update without sound or popup when the platform allows (job progress). */
  silent: boolean;
}

export interface PolicySettings {
  doNotDisturb: DoNotDisturb;
  mutedTopics: string[];
  /** Notifications paused (tray): until a time (epoch ms) or until resumed (null); null = not paused. */
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
  /** Default 10000. */
  burstWindowMs?: number;
  /** More than this many notifying events within burstWindowMs become one summary. Default 5. */
  burstThreshold?: number;
  /** Events older than this when they arrive are backlog ("N events while you were away"). Default 120000. */
  backlogAgeMs?: number;
}

export declare function urgencyOf(priority: number): Urgency;
export declare function describeEvent(event: HeraldEvent): { title: string; body: string };

export declare class NotificationPolicy {
  constructor(options: NotificationPolicyOptions);
  /** Feed every event here, in order (after it is stored). */
  handle(event: HeraldEvent): void;
  /** Emits any pending summary now and cancels its timer. */
  flush(): void;
  /** Cancels timers; pending summaries are dropped. */
  dispose(): void;
}
