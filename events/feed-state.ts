// The feed client's state, as the tray, the window and `herald listen` show it. Pure types: the
// feed client (Node) reports it, and the window<->host contract (bridge/contract.ts) carries it.

export type FeedStatus =
  /** First connection attempt in progress. */
  | 'connecting'
  /** The stream is open and healthy. */
  | 'open'
  /** The stream failed; another attempt is scheduled at nextAttemptAt. */
  | 'reconnecting'
  /** Several attempts in a row could not reach the server (network down, server not running). */
  | 'offline'
  /** The server answered 401 or 403: the token in the settings is wrong. Retried only slowly. */
  | 'auth-failed'
  /** Stopped for good: closed by the app, or the server answered 204. */
  | 'stopped';

export interface FeedState {
  status: FeedStatus;
  /** When this status began (epoch ms). */
  since: number;
  /** When the next connection attempt is due (epoch ms), while one is scheduled. */
  nextAttemptAt?: number;
  /** Failed attempts in a row. */
  attempt?: number;
  /** What went wrong last, written for people ("connection refused", "HTTP 503"). */
  reason?: string;
  /** The HTTP status of the last failed attempt, when there was one. */
  httpStatus?: number;
  /** The last event id handled (the cursor). */
  lastEventId?: string;
}
