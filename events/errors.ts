// The error body every route answers with, the one table that gives each error code its HTTP
// status, and describeError, how any thrown value is said in one line. Pure: the server builds
// the body, the CLI and the web app read it, everyone describes errors with the same words.

/** Each error code with its HTTP status, once (as ntfy's server/errors.go lists its errors). */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  expectation_failed: 417,
  too_many_requests: 429,
  internal_error: 500,
  too_many_streams: 503,
  store_unavailable: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** [PRODUCT] Errors are JSON `{ "error": { "code", "message" } }` with the right status. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    /** Says what went wrong and what to do next. */
    message: string;
    /** The request field at fault (a body field, a query parameter, a header), when there is one. */
    field?: string;
  };
}

/** Is this a Herald error body? (A proxy in the way answers with its own HTML or JSON.) */
export function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: unknown } | null)?.error as Record<string, unknown> | null | undefined;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof error.code === 'string' &&
    Object.hasOwn(ERROR_STATUS, error.code) &&
    typeof error.message === 'string' &&
    (error.field === undefined || typeof error.field === 'string')
  );
}

/** How deep describeError follows `cause`: a cycle or a pathological chain stops here. */
const MAX_CAUSES = 8;

/**
 * Any thrown value in one line: an Error's message, then the message of each `cause` it does not
 * already say ("fetch failed: connect ECONNREFUSED 127.0.0.1:5080"). With `stack`, the first
 * error's stack instead of its message, for a log that a developer reads.
 */
export function describeError(err: unknown, options: { stack?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err);
  let said = (options.stack ? err.stack : undefined) ?? (err.message || err.name);
  const seen = new Set<unknown>([err]);
  for (let cause = err.cause, depth = 0; cause !== undefined && cause !== null && !seen.has(cause) && depth < MAX_CAUSES; depth++) {
    seen.add(cause);
    const words = cause instanceof Error ? cause.message : String(cause);
    if (words !== '' && !said.includes(words)) said += `: ${words}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return said;
}
