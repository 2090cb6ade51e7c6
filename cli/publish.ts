// Publishing one event to a Herald server: the one HTTP call `herald send` and `herald run` make.
// Every way it can fail becomes a PublishError whose message says what to do next.
import { isHeraldEvent, type EventInput, type HeraldEvent } from '../events/event.ts';
import { describeError, isErrorBody } from '../events/errors.ts';
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

// Not `import http from 'node:http'`: building an ES module namespace for node:http reads every
// export, and its lazy WebSocket/EventSource getters load undici, the very cost this file avoids
// (seen in a CPU profile of `herald send`: 170 ms of undici, http2, tls and crypto).
const http = process.getBuiltinModule('node:http') as typeof import('node:http');

export const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;
/** A Herald answer is one stored event (at most a few KiB) or an error: 64 KiB is plenty, and a
 * server that sends more (an endless body) is not read into memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs the event as JSON to `<server>/events`; resolves with the stored event (201).
 *
 * Over node:http (node:https for an https:// server), not fetch(): the first fetch() in a process
 * loads undici, which cost `herald send` 80-150 ms of its start-up (bench/cli.ts). Node's own
 * client reads NODE_EXTRA_CA_CERTS as fetch() does, so a private CA works the same way.
 */
export async function publish(target: ServerTarget, event: EventDraft, options: PublishOptions = {}): Promise<HeraldEvent> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const body = JSON.stringify(event);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;

  const response = await post(target.url, `${target.url}/events`, headers, body, {
    timeoutMs,
    maxBytes: options.maxResponseBytes ?? MAX_RESPONSE_BYTES,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const { status, text } = response;
  if (status === 201 || status === 200) {
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch {
      throw new PublishError(
        'server',
        `the server at ${target.url} answered ${status} but not with JSON; is --server pointing at a Herald server?`,
        `answered ${status} without JSON`,
        { status },
      );
    }
    if (!isHeraldEvent(stored)) {
      throw new PublishError(
        'server',
        `the server at ${target.url} answered ${status} without a stored event; is --server pointing at a Herald server?`,
        `answered ${status} without an event id`,
        { status },
      );
    }
    return stored;
  }
  throw httpError(target, response);
}

/** What post() read: the status and at most maxBytes of the body. */
interface Answer {
  status: number;
  statusText: string;
  retryAfter: string | undefined;
  text: string;
}

/**
 * One POST, settled once: the answer (head and whole body) within timeoutMs, or a PublishError
 * (timeout, cancelled, unreachable, or a body past maxBytes: the rest is not read, the connection
 * is dropped). The timeout covers the body too: a body that trickles forever ends with it.
 */
function post(
  baseUrl: string,
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal },
): Promise<Answer> {
  const { timeoutMs, maxBytes, signal } = options;
  // https is loaded only for an https:// server: it costs start-up time a plain-http publish does not need.
  const client: Pick<typeof http, 'request'> = url.startsWith('https:')
    ? (process.getBuiltinModule('node:https') as typeof import('node:https'))
    : http;
  if (signal?.aborted) return Promise.reject(new PublishError('aborted', 'publishing was cancelled', 'cancelled'));
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const request = client.request(url, { method: 'POST', headers });
    const finish = (error: PublishError | undefined, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(answer!);
    };
    const timer = setTimeout(() => finish(timeoutError(baseUrl, timeoutMs)), timeoutMs);
    const onAbort = () => finish(new PublishError('aborted', 'publishing was cancelled', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (err) => finish(networkError(baseUrl, err)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          const detail = `answered ${status} with more than ${Math.round(maxBytes / 1024)} KiB`;
          finish(
            new PublishError('server', `the server at ${baseUrl} ${detail}; is --server pointing at a Herald server?`, detail, { status }),
          );
          return;
        }
        chunks.push(chunk);
      });
      // A connection reset in the middle of the body: the answer is lost (a retry may help).
      response.on('error', (err) => finish(networkError(baseUrl, err)));
      response.on('end', () => {
        const retryAfter = response.headers['retry-after'];
        finish(undefined, {
          status,
          statusText: response.statusMessage ?? '',
          retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
          text: Buffer.concat(chunks, size).toString('utf8'),
        });
      });
    });
    request.end(body);
  });
}

function httpError(target: ServerTarget, response: Answer): PublishError {
  const text = response.text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not a Herald error body; fall through with the status alone.
  }
  const status = response.status;
  const error = isErrorBody(body) ? body.error : undefined;
  const field = error?.field;
  let said = error?.message ?? '';
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
    const after = response.retryAfter;
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

function timeoutError(url: string, timeoutMs: number): PublishError {
  const detail = `no answer within ${Number((timeoutMs / 1000).toFixed(1))} s`;
  return new PublishError('timeout', `the Herald server at ${url} gave ${detail}; check that it is running and reachable`, detail);
}

function networkError(url: string, err: unknown): PublishError {
  const code = networkErrorCode(err);
  const detail = describeNetworkCode(code) ?? describeError(err);
  if (isCertificateError(code)) {
    return new PublishError(
      'unreachable',
      `cannot reach the Herald server at ${url} (${detail}). For a private CA, set NODE_EXTRA_CA_CERTS=/path/to/ca.pem.`,
      detail,
      { code },
    );
  }
  return new PublishError(
    'unreachable',
    `cannot reach the Herald server at ${url} (${detail}). Start it with \`herald serve\` or set --server/HERALD_SERVER.`,
    detail,
    { code },
  );
}
