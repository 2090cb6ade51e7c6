// The server's errors: HttpError, the one every route answers with (its body and status are
// typed in events/errors.ts), and the event store's: at startup (LogOpenError) and while serving
// (StoreUnavailableError).

import { ERROR_STATUS } from '../events/errors.ts';
import type { ErrorBody, ErrorCode } from '../events/errors.ts';

export type { ErrorCode };

/**
 * The error every route answers with: its code decides its status (ERROR_STATUS in
 * events/errors.ts, the one table), its body is an ErrorBody.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, extra: { field?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = ERROR_STATUS[code];
    this.code = code;
    this.field = extra.field;
    this.headers = extra.headers ?? {};
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

/**
 * The event store cannot take a write (or a read) now: SQLite's write lock is held by another
 * program, the log's files were removed under the running server; for a networked store, the
 * store is unreachable. Answered 503 with Retry-After; nothing of the request was acknowledged.
 */
export class StoreUnavailableError extends Error {
  /** Worth retrying within the same request (a lock held for a moment); false: not until the server is restarted. */
  readonly transient: boolean;
  readonly retryAfterSeconds: number;
  constructor(message: string, extra: { transient: boolean; retryAfterSeconds: number; cause?: unknown }) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'StoreUnavailableError';
    this.transient = extra.transient;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

export type LogOpenProblem = 'data_dir' | 'in_use' | 'locked' | 'empty' | 'not_sqlite' | 'not_herald' | 'damaged' | 'unreadable';

/** Why the event log could not be opened at startup, in words that name the file and say what to do. */
export class LogOpenError extends Error {
  readonly problem: LogOpenProblem;
  /** The file or directory at fault. */
  readonly path: string;
  constructor(problem: LogOpenProblem, path: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LogOpenError';
    this.problem = problem;
    this.path = path;
  }
}
