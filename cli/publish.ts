// Publishing one event to a Herald server: the one HTTP call `herald send` and `herald run` make.
// Every way it can fail becomes a PublishError whose message says what to do next.
import { isEventId, type EventInput, type HeraldEvent } from '../events/event.ts';
import type { ServerTarget } from './options.ts';
import { describeNetworkCode, isCertificateError, networkErrorCode } from '../events/net.ts';
import { terminalLine } from '../events/terminal.ts';

/** What a command sends. The server validates it; priority may be a raw string so the server names the bad field. */
export type EventDraft = Omit<Partial<EventInput>, 'priority'> & { priority?: number | string };

export interface PublishOptions {
  /** Give up after this long without the whole answer (head and body). Default DEFAULT_PUBLISH_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Read at most this much of an answer's body. Default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** Aborts the request (e.g. a second Ctrl-C while `herald run` reports). */
  signal?: AbortSignal;
  /** Sent as Idempotency-Key: the server stores the event once however often it is sent. */
  idempotencyKey?: string;
}

export type PublishFailure = 'unreachable' | 'timeout' | 'aborted' | 'unauthorized' | 'rejected' | 'server';

export class PublishError extends Error {
  readonly reason: PublishFailure;
  /** Short cause for a one-line warning, e.g. "connection refused" or "priority: must be …". */
  readonly detail: string;
  readonly status?: number;
  /** The field the server named in a 400 answer. */
  readonly field?: string;
  /** The socket error code of an 'unreachable' failure (ECONNRESET, UND_ERR_SOCKET…), when known. */
  readonly code?: string;
  constructor(reason: PublishFailure, message: string, detail: string, extra: { status?: number; field?: string; code?: string } = {}) {
    // Both end up on a terminal and may quote the server: no control character gets through raw.
    super(terminalLine(message));
    this.name = 'PublishError';
    this.reason = reason;
    this.detail = terminalLine(detail);
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.field !== undefined) this.field = extra.field;
    if (extra.code !== undefined && extra.code !== '') this.code = extra.code;
  }
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;
/** A Herald answer is one stored event (at most a few KiB) or an error: 64 KiB is plenty, and a
 * server that sends more (an endless body) is not read into memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** POSTs the event as JSON to `<server>/events`; resolves with the stored event (201). */
export async function publish(target: ServerTarget, event: EventDraft, options: PublishOptions = {}): Promise<HeraldEvent> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;

  let response: Response;
  let text: string;
  try {
    response = await fetch(`${target.url}/events`, { method: 'POST', headers, body: JSON.stringify(event), signal });
    // The timeout's signal covers the body too: a body that trickles forever ends with the timeout.
    text = await readCapped(target.url, response, options.maxResponseBytes ?? MAX_RESPONSE_BYTES);
  } catch (err) {
    if (err instanceof PublishError) throw err;
    throw networkError(target.url, err, timeout.aborted, timeoutMs);
  }

  if (response.status === 201 || response.status === 200) {
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch {
      throw new PublishError('server', `the server at ${target.url} answered ${response.status} but not with JSON; is --server pointing at a Herald server?`, `answered ${response.status} without JSON`, { status: response.status });
    }
    const id = (stored as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' || !isEventId(id)) {
      throw new PublishError('server', `the server at ${target.url} answered ${response.status} without a stored event; is --server pointing at a Herald server?`, `answered ${response.status} without an event id`, { status: response.status });
    }
    return stored as HeraldEvent;
  }
  throw httpError(target, response, text);
}

/** The body as text, or a PublishError once it passes maxBytes (the rest is not read: the connection is dropped). */
async function readCapped(url: string, response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      const detail = `answered ${response.status} with more than ${Math.round(maxBytes / 1024)} KiB`;
      throw new PublishError('server', `the server at ${url} ${detail}; is --server pointing at a Herald server?`, detail, { status: response.status });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

function httpError(target: ServerTarget, response: Response, text: string): PublishError {
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    // Not a Herald error body; fall through with the status alone.
  }
  const status = response.status;
  const field = typeof body.error?.field === 'string' ? body.error.field : undefined;
  let said = typeof body.error?.message === 'string' ? body.error.message : '';
  // The server's message usually starts with the field already ("priority: must be …").
  if (field && said && !said.startsWith(`${field}:`) && !said.startsWith(`${field} `)) said = `${field}: ${said}`;
  const extra = field === undefined ? { status } : { status, field };

  if (status === 400) {
    const detail = said || 'the event was refused (400)';
    return new PublishError('rejected', `the server refused the event: ${detail}`, detail, extra);
  }
  if (status === 401) {
    const message = target.token
      ? `the server at ${target.url} refused the token: check --token or HERALD_TOKEN (it must match the one given to \`herald serve --token\`)`
      : `the server at ${target.url} needs a token: pass --token T or set HERALD_TOKEN`;
    return new PublishError('unauthorized', message, target.token ? 'token refused (401)' : 'token required (401)', extra);
  }
  if (status === 429) {
    const after = response.headers.get('retry-after');
    const detail = `too many events (429)${after ? `; try again in ${after} s` : ''}`;
    return new PublishError('rejected', `the server at ${target.url} refused the event: ${detail}`, detail, extra);
  }
  if (status === 413 || status === 415 || status === 403 || status === 409) {
    const detail = said || `refused (${status})`;
    return new PublishError('rejected', `the server at ${target.url} refused the event: ${detail}`, detail, extra);
  }
  const detail = `answered ${status} ${response.statusText}${said ? `: ${said}` : ''}`.trim();
  const hint = status === 404 || status === 405 ? '; is --server pointing at a Herald server?' : '';
  return new PublishError('server', `the server at ${target.url} ${detail}${hint}`, detail, extra);
}

function networkError(url: string, err: unknown, timedOut: boolean, timeoutMs: number): PublishError {
  if (timedOut) {
    const detail = `no answer within ${Number((timeoutMs / 1000).toFixed(1))} s`;
    return new PublishError('timeout', `the Herald server at ${url} gave ${detail}; check that it is running and reachable`, detail);
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return new PublishError('aborted', 'publishing was cancelled', 'cancelled');
  }
  const cause = (err as { cause?: { message?: unknown } } | undefined)?.cause;
  const code = networkErrorCode(err);
  const detail = describeNetworkCode(code) ?? (typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err));
  if (isCertificateError(code)) {
    return new PublishError('unreachable', `cannot reach the Herald server at ${url} (${detail}). For a private CA, set NODE_EXTRA_CA_CERTS=/path/to/ca.pem.`, detail, { code });
  }
  return new PublishError('unreachable', `cannot reach the Herald server at ${url} (${detail}). Start it with \`herald serve\` or set --server/HERALD_SERVER.`, detail, { code });
}
