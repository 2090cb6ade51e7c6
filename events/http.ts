// The HTTP answers of the server that are not events or errors, typed once as bridge/contract.ts
// types IPC: the /history page and the /health report. Pure: the server builds them, the web app,
// the CLI and the tests read them through the same types. Errors: events/errors.ts.

import type { GapInfo, HeraldEvent } from './event.ts';
import { isEventId, isHeraldEvent } from './event.ts';
import type { ErrorBody } from './errors.ts';

/** GET /history: a page of stored events, oldest first. */
export interface HistoryPage {
  events: HeraldEvent[];
  /** The id to ask for next (`after=`): the page's last id, or where the page started when empty. */
  next: string;
  /** More events follow `next` (the page is full). */
  more: boolean;
  /** The newest id the server holds. */
  lastId: string;
  /** The epoch of the server's log (see LOG_EPOCH_HEADER); a reader checks it with isEpoch. */
  epoch: string;
  /** The events between `after` and the first one here are no longer kept. */
  gap?: GapInfo;
  /** `after` (or `epoch`) named another log: the page starts from this log's beginning. */
  reset?: true;
}

/** Is this a /history page? Events are checked one by one by the reader (isHeraldEvent). */
export function isHistoryPage(value: unknown): value is HistoryPage {
  const page = value as Record<string, unknown> | null;
  return (
    typeof page === 'object' &&
    page !== null &&
    Array.isArray(page.events) &&
    typeof page.next === 'string' &&
    isEventId(page.next) &&
    typeof page.more === 'boolean' &&
    typeof page.lastId === 'string' &&
    isEventId(page.lastId) &&
    typeof page.epoch === 'string'
  );
}

/** A /history page's events that are events: a reader's defence against what it did not write. */
export function pageEvents(page: HistoryPage): HeraldEvent[] {
  return page.events.filter(isHeraldEvent);
}

export type StoreKind = 'sqlite' | 'redis';

/** GET /health: 200 with status "ok", or 503 with "store_unreachable" and the error. */
export interface HealthReport {
  status: 'ok' | 'store_unreachable';
  /** Only when the store cannot be reached. */
  error?: ErrorBody['error'];
  version: string;
  uptimeSeconds: number;
  /** Open streams. */
  subscribers: number;
  /** Events the log holds, where the store counts them cheaply. */
  storedEvents?: number;
  lastId: string;
  epoch: string;
  store: { kind: StoreKind; up: boolean; where: string };
}
