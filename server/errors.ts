// The one error shape every route answers with: { "error": { code, message, field? } }, and the
// error the event store raises while serving (StoreUnavailableError).

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'conflict'
  | 'too_many_requests'
  | 'too_many_streams'
  | 'store_unavailable'
  | 'internal_error';

export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  constructor(status: number, code: ErrorCode, message: string, extra: { field?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.field = extra.field;
    this.headers = extra.headers ?? {};
  }

  toJSON(): { error: { code: ErrorCode; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

/**
 * The event store cannot take a write (or a read) now: for a networked store (Redis), the store
 * is unreachable. Answered 503 with Retry-After; nothing of the request was acknowledged.
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
