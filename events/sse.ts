// The Server-Sent Events wire format (WHATWG HTML, "Server-sent events"), written once for the
// server and the benchmarks. Pure functions: a frame is built once per event and the same string
// is written to every subscriber.
//
// A field value that contains CR or LF would end the line early and let the rest forge fields
// (`id:`, `event:`, `retry:`); `data` is split into one `data:` line per line instead, which the
// client joins back with "\n". `id` and `event` are single-line by nature: a line break there is
// a bug in the caller, so it throws. An `id` with NUL is ignored by clients, so it throws too.

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

const LINE_BREAK = /\r\n|\r|\n/;
const BAD_SINGLE_LINE = /[\r\n]/;

export class SseFieldError extends Error {
  constructor(field: string, why: string) {
    super(`SSE ${field} ${why}`);
    this.name = 'SseFieldError';
  }
}

/** One event block, ending with the blank line that dispatches it. No space after the colon is
 * added to data beyond the single one the parser strips, so values round-trip exactly. */
export function frameEvent(frame: SseFrame): string {
  let out = '';
  if (frame.id !== undefined) {
    if (BAD_SINGLE_LINE.test(frame.id)) throw new SseFieldError('id', 'must not contain CR or LF');
    if (frame.id.includes('\u0000')) throw new SseFieldError('id', 'must not contain NUL');
    out += frame.id === '' ? 'id\n' : `id: ${frame.id}\n`;
  }
  if (frame.event !== undefined) {
    if (BAD_SINGLE_LINE.test(frame.event)) throw new SseFieldError('event', 'must not contain CR or LF');
    if (frame.event === '') throw new SseFieldError('event', 'must not be empty');
    out += `event: ${frame.event}\n`;
  }
  for (const line of frame.data.split(LINE_BREAK)) out += line === '' ? 'data\n' : `data: ${line}\n`;
  return `${out}\n`;
}

/** A comment line: ignored by clients, keeps proxies and watchdogs seeing bytes. */
export function frameComment(text = ''): string {
  const lines = text.split(LINE_BREAK);
  return `${lines.map((l) => (l === '' ? ':' : `: ${l}`)).join('\n')}\n\n`;
}

/** Tells the client how long to wait before reconnecting. */
export function frameRetry(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new SseFieldError('retry', 'must be a whole number of milliseconds');
  return `retry: ${ms}\n\n`;
}

/** Response headers for an event stream: no caching, and nothing between us and the client
 * (compression middleware, nginx) may buffer it. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

/** Sent with every stream: the newest stored id when it opened. A client that has no cursor yet
 * takes it as its starting point (the stream itself only says where it is once an event comes). */
export const LAST_EVENT_ID_HEADER = 'Herald-Last-Event-Id';

/**
 * The event log's epoch: a random name the log is given when it is created, so that ids from a log
 * that was wiped or replaced are never taken for ids of this one. The server sends it with every
 * stream (and in /history and /health); a client keeps it with its cursor and sends it back, as
 * this request header or the `epoch` query parameter, beside its Last-Event-ID. When it is not
 * this log's epoch, the stream starts with a reset notice and replays the whole log.
 */
export const LOG_EPOCH_HEADER = 'Herald-Log-Epoch';
