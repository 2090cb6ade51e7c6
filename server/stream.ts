// One event stream (GET /events, GET /connect) from headers to close: `retry:` first, then the
// gap or reset notice a resuming client is owed, then the replay from the store, then live events,
// with a comment heartbeat throughout (the hub's one shared timer: see server/hub.ts).
//
// A live stream that falls behind by the hub's bound leaves live delivery and is caught up from
// the store (the same replay) once its socket drains; if it does not drain within stallTimeoutMs
// it has stopped reading and is cut off.
//
// The replay/live seam, for any store (reads are asynchronous, and with Redis the hub is fed by a
// reader that may be behind or ahead of a replay's read): a read that is not full covers every
// event stored up to its throughId. The stream goes live, in the same synchronous step as it
// checks, only when the hub has published nothing newer than that (hub.publishedId <= throughId);
// otherwise it reads again from there. Once live, the hub skips ids at or below the stream's
// lastId, which covers the events the read saw before the hub did. So every event is either in a
// replay page or published to the stream live, never both, never neither. The hub writes live
// events after the publishers are answered, in fan-out rounds; what the seam reads is publishedId,
// which moves in the commit's own step, so it holds while a batch waits for its round (see
// Hub.publish).
//
// A store that cannot be reached (Redis down) does not end the stream: it stays open with its
// heartbeats, and the plan or the page is asked for again until the store answers.
//
// What a replay costs others: each page (at most REPLAY_PAGE_BYTES) is read in one piece of the
// server's ReadTurns and framed and written in another; ReadTurns runs reader work a few
// milliseconds at a time and lets publishes through in between (a replay to a fast reader never
// waits for 'drain', and awaiting a settled promise does not let the event loop read sockets).
// The next page goes out once the socket has handed the last one to the OS, so a reader that
// does not read holds the server to one page, not to the log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GAP_TYPE, RESET_TYPE, type GapInfo, type HeraldEvent } from '../events/event.ts';
import { LAST_EVENT_ID_HEADER, LOG_EPOCH_HEADER, SSE_HEADERS, frameEvent, frameRetry } from '../events/sse.ts';
import { describeError } from '../events/errors.ts';
import { StoreUnavailableError } from './errors.ts';
import { DOCUMENT_HEADERS } from './guard.ts';
import { frameStored, type HeartbeatKind, type Hub, type StreamFlavour, type Subscription } from './hub.ts';
import type { ReadTurns } from './read-turns.ts';
import type { EventStore, ReadPage } from './store.ts';

export interface StreamRequest {
  flavour: StreamFlavour;
  topics: ReadonlySet<string> | null;
  /** Resume after this id; undefined = live events only. */
  resumeAfter: number | undefined;
  /** The log epoch the client's cursor came from, when it sent one. */
  epoch?: string | undefined;
  /** `event`: herald.heartbeat events instead of comments (for a browser's EventSource). */
  heartbeat?: HeartbeatKind;
  /** What the "stream opened" line adds to the stream's name (describeStream), e.g. ` after=41`. */
  asked?: string;
}

export interface StreamContext {
  store: EventStore;
  hub: Hub;
  retryMs: number;
  /** How long a stream whose backlog hit the bound may take to drain before it is cut off. */
  stallTimeoutMs: number;
  /** Told that this connection is now an event stream (server/connections.ts counts the others). */
  connections?: { promote(socket: Socket): void } | undefined;
  /** Where replay pages wait their turn (see server/read-turns.ts). */
  turns: ReadTurns;
  /** Who a request comes from, for log lines (behind a trusted proxy, the client it names). */
  clientAddress(req: IncomingMessage): string;
  log(line: string): void;
}

/**
 * A stream's name in log lines: `/events from 127.0.0.1 topics=all`. Built when a line is written,
 * from what the stream keeps anyway (its request, its topics), not kept as a string per stream.
 */
export function describeStream(subscription: Subscription, context: Pick<StreamContext, 'clientAddress'>): string {
  const path = subscription.flavour === 'typed' ? '/events' : '/connect';
  const topics = subscription.topics ? [...subscription.topics].join(',') : 'all';
  return `${path} from ${context.clientAddress(subscription.res.req)} topics=${topics}`;
}

/** The most a replay page holds: what a reader that stops reading keeps the server holding for it. */
export const REPLAY_PAGE_BYTES = 64 * 1024;
/** Rows read for a page: adapted to the events' size (most pages are full, few rows are read for nothing). */
const FIRST_PAGE_ROWS = 64;
const MAX_PAGE_ROWS = 500;
/** While the store cannot be reached: the first wait before asking again, and the longest. */
const STORE_RETRY_FIRST_MS = 200;
const STORE_RETRY_LONGEST_MS = 5000;
/** SSE_HEADERS without `Connection: keep-alive`: a body delimited by the connection's end cannot keep it alive. */
export const STREAM_HEADERS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SSE_HEADERS).filter(([name]) => name.toLowerCase() !== 'connection'),
);

export function gapNotice(gap: GapInfo, now = new Date()): HeraldEvent {
  const what = gap.missed === 1 ? '1 event was' : `${gap.missed} events were`;
  return {
    id: gap.throughId,
    type: GAP_TYPE,
    topic: 'herald',
    time: now.toISOString(),
    title: `${what} lost while you were away`,
    body: `The server no longer keeps events ${Number(gap.afterId) + 1} to ${gap.throughId} (retention). Open the history for what it still has.`,
    priority: 3,
    gap,
  };
}

export function resetNotice(epoch: string, now = new Date()): HeraldEvent {
  return {
    id: '0',
    type: RESET_TYPE,
    topic: 'herald',
    time: now.toISOString(),
    title: "The server's event log was reset",
    body: 'The server started over with a new event log; what follows is everything it has now.',
    priority: 3,
    reset: { epoch },
  };
}

function frameNotice(notice: HeraldEvent, flavour: StreamFlavour): string {
  return frameEvent({ id: notice.id, ...(flavour === 'typed' ? { event: notice.type } : {}), data: JSON.stringify(notice) });
}

/**
 * The guard's headers as a stream's head carries them (GET and HEAD alike): without the document
 * ones (DOCUMENT_HEADERS), which Node would keep in the head string of every open stream for nothing.
 * `head`: what the guard gave on the direct path; on the Express path they are already set on `res`.
 */
export function streamHead(res: ServerResponse, head: Readonly<Record<string, string>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name in head) if (!DOCUMENT_HEADERS.includes(name)) kept[name] = head[name]!;
  for (const name of DOCUMENT_HEADERS) res.removeHeader(name);
  return kept;
}

/**
 * Serves one event stream. `head`: headers its response head carries besides the stream's own
 * (the guard's, when the request did not go through Express, less the document ones: streamHead), written with them in one go.
 */
export function serveStream(
  req: IncomingMessage,
  res: ServerResponse,
  request: StreamRequest,
  context: StreamContext,
  head: Readonly<Record<string, string>> = {},
): void {
  const { hub, store } = context;
  // The newest id handed to this server's streams as the stream opens: a client with no cursor
  // yet starts from here, so what is published while its first connection is down is replayed, not lost.
  // No chunked coding: the body runs until the connection closes, and an endless stream never
  // gives its connection back anyway. Node answers such a response with `Connection: close` and
  // closes the socket when it ends (STREAM_HEADERS leaves that to it). The body's bytes are then
  // plain bytes on the socket, so once the head is flushed the hub writes each frame straight to
  // the socket: one write per subscriber per fan-out round, not size + CRLF + frame + CRLF in a corked writev.
  context.connections?.promote(req.socket);
  res.useChunkedEncodingByDefault = false;
  res.writeHead(200, {
    ...streamHead(res, head),
    ...STREAM_HEADERS,
    [LAST_EVENT_ID_HEADER]: String(store.followedId),
    [LOG_EPOCH_HEADER]: store.epoch,
  });
  res.flushHeaders();
  const subscription = hub.open(res, {
    topics: request.topics,
    flavour: request.flavour,
    ...(request.heartbeat ? { heartbeat: request.heartbeat } : {}),
  });
  context.log(`stream opened ${describeStream(subscription, context)}${request.asked ?? ''}`);
  follow(subscription, context);
  // A write racing a disconnect is not an error worth a crash: 'close' cleans up.
  res.on('error', ignoreError);
  req.socket.setNoDelay(true);

  hub.deliver(subscription, frameRetry(context.retryMs));
  // The first heartbeat event at once: it tells the client the interval before any silence counts.
  if (request.heartbeat === 'event') hub.deliver(subscription, subscription.heartbeat);
  if (request.resumeAfter === undefined) {
    subscription.lastId = store.followedId;
    hub.goLive(subscription);
    return;
  }
  void resume(subscription, request.resumeAfter, request.epoch, context).catch((error: unknown) => failed(subscription, context, error));
}

/**
 * What an open stream keeps besides its Subscription: its close listener and its overflow
 * handler, two closures over one scope that holds only the subscription and the server's context
 * (at 10k idle streams every object kept per stream counts; its log name is not kept either).
 */
function follow(subscription: Subscription, context: StreamContext): void {
  subscription.res.on('close', () => {
    const seconds = ((Date.now() - subscription.openedAt) / 1000).toFixed(1);
    const why = subscription.cutOff
      ? `cut off: ${subscription.cutReason ?? 'it stopped reading'}`
      : subscription.closed
        ? 'server closing'
        : 'client left';
    context.hub.remove(subscription);
    context.log(`stream closed ${describeStream(subscription, context)} after ${seconds} s (${why})`);
  });
  subscription.onOverflow = () => {
    void catchUp(subscription, context).catch((error: unknown) => failed(subscription, context, error));
  };
}

function ignoreError(): void {}

/** A replay or catch-up that threw (not a store that cannot be reached: that one is waited for): the stream ends. */
function failed(subscription: Subscription, context: StreamContext, error: unknown): void {
  context.log(`stream ${describeStream(subscription, context)} replay failed: ${describeError(error)}`);
  subscription.res.destroy();
}

async function resume(subscription: Subscription, resumeAfter: number, epoch: string | undefined, context: StreamContext): Promise<void> {
  const { hub, store } = context;
  const answer = await whenStoreAnswers(subscription, context, () => store.planResume(resumeAfter, epoch));
  if (answer === undefined) return;
  let after = resumeAfter;
  if (answer.plan.kind === 'reset') {
    hub.deliver(subscription, frameNotice(resetNotice(answer.epoch), subscription.flavour));
    after = 0;
  } else if (answer.plan.kind === 'gap') {
    hub.deliver(subscription, frameNotice(gapNotice(answer.plan.gap), subscription.flavour));
    // The notice moved the client's cursor past the hole: read from there, so a read that finds
    // the same hole does not owe the notice twice.
    after = Number(answer.plan.gap.throughId);
  }
  await replay(subscription, after, context);
}

async function catchUp(subscription: Subscription, context: StreamContext): Promise<void> {
  if (!(await drained(subscription, context.stallTimeoutMs))) {
    context.hub.cut(subscription);
    return;
  }
  await replay(subscription, subscription.lastId, context);
}

async function replay(subscription: Subscription, afterId: number, context: StreamContext): Promise<void> {
  const { store, turns } = context;
  const topics = subscription.topics ? [...subscription.topics] : null;
  const page: ReplayPage = {
    after: afterId,
    rows: FIRST_PAGE_ROWS,
    bytes: replayPageBytes(context.hub.maxBacklogBytes),
    done: false,
    again: false,
    written: Promise.resolve(),
  };
  subscription.lastId = afterId;
  for (;;) {
    if (subscription.closed) return;
    const from = page.after;
    const limit = page.rows;
    const read = await whenStoreAnswers(subscription, context, () => turns.run(() => store.readAfter(from, { topics, limit })));
    if (read === undefined || subscription.closed) return;
    await turns.run(() => deliverPage(subscription, read, page, context));
    if (page.done) return;
    if (page.again) continue;
    // The next page once the socket has handed this one to the OS: a reader that stops reading
    // holds one page here, whatever the socket's high-water mark (64 KiB on Node 22+).
    if (!(await settled(subscription, page.written, context.stallTimeoutMs))) {
      context.hub.cut(subscription);
      return;
    }
  }
}

interface ReplayPage {
  /** The last id written (or known to hold nothing for this stream). */
  after: number;
  /** Rows to read for the next page. */
  rows: number;
  bytes: number;
  /** Live, cut off or gone. */
  done: boolean;
  /** Read again at once (the hub had published past the read: see the seam note at the top). */
  again: boolean;
  /** Settles once the page last written has left for the OS. */
  written: Promise<void>;
}

/** Half the per-stream bound, at most REPLAY_PAGE_BYTES: after a drain the socket holds < 16 KiB, so a page always fits. */
function replayPageBytes(maxBacklogBytes: number): number {
  return Math.max(16 * 1024, Math.min(REPLAY_PAGE_BYTES, Math.floor(maxBacklogBytes / 2)));
}

/** Frames and writes what a read returned, up to a page, in one step; goes live when the read saw everything and the hub nothing newer. */
function deliverPage(subscription: Subscription, read: ReadPage, page: ReplayPage, context: StreamContext): void {
  const { hub } = context;
  page.again = false;
  if (subscription.closed) {
    page.done = true;
    return;
  }
  let chunk = '';
  let bytes = 0;
  let used = 0;
  if (read.gap) {
    // Retention went past this replay while it waited (a log pruned down to its bound after
    // start-up, or a slow reader at the back of a full log): the client is told, as a resume
    // from here would be, never left with a silent hole. [PRODUCT] gap notices say what was lost.
    chunk = frameNotice(gapNotice(read.gap), subscription.flavour);
    bytes = Buffer.byteLength(chunk);
    page.after = Math.max(page.after, Number(read.gap.throughId));
  }
  for (const row of read.events) {
    const frame = frameStored(row, subscription.flavour);
    const size = Buffer.byteLength(frame);
    if (used > 0 && bytes + size > page.bytes) break;
    chunk += frame;
    bytes += size;
    used += 1;
    page.after = row.id;
  }
  if (chunk !== '') {
    let written: () => void = () => {};
    page.written = new Promise((resolve) => (written = resolve));
    if (!hub.deliver(subscription, chunk, written)) {
      page.done = true;
      return;
    }
  }
  const whole = used === read.events.length;
  if (whole) page.after = Math.max(page.after, read.throughId);
  subscription.lastId = page.after;
  if (whole && !read.full) {
    // The seam (see the note at the top): this read covers everything up to `after`. If the hub
    // has published nothing newer, going live now misses nothing; else read what it has.
    if (hub.publishedId <= page.after) {
      hub.goLive(subscription);
      page.done = true;
      return;
    }
    page.again = true;
    return;
  }
  // Enough rows next time to fill a page of this size, not many more.
  const perRow = used > 0 ? bytes / used : page.bytes;
  page.rows = Math.max(8, Math.min(MAX_PAGE_ROWS, Math.ceil(page.bytes / perRow) + 1));
}

/**
 * Runs a store call, and again after a wait while the store cannot be reached (the stream stays
 * open and gets its heartbeats meanwhile). Undefined once the stream has closed.
 */
async function whenStoreAnswers<T>(subscription: Subscription, context: StreamContext, call: () => Promise<T>): Promise<T | undefined> {
  let waitMs = STORE_RETRY_FIRST_MS;
  let told = false;
  for (;;) {
    if (subscription.closed) return undefined;
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      if (!told) context.log(`stream ${describeStream(subscription, context)} waits for the event store: ${error.message}`);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    waitMs = Math.min(STORE_RETRY_LONGEST_MS, waitMs * 2);
  }
}

/** Resolves true once `written` settles, false if that takes longer than timeoutMs or the stream closes first. */
function settled(subscription: Subscription, written: Promise<void>, timeoutMs: number): Promise<boolean> {
  if (subscription.closed) return Promise.resolve(false);
  const out = subscription.out;
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      out.off('close', onClose);
      resolve(ok && !subscription.closed);
    };
    const onClose = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    out.on('close', onClose);
    void written.then(() => finish(true));
  });
}

/** Resolves true once the socket has drained (at once if it needs no drain), false if it stays full for timeoutMs or closes. */
function drained(subscription: Subscription, timeoutMs: number): Promise<boolean> {
  const out = subscription.out; // the hub writes to the socket, so the socket says when it has drained
  if (subscription.closed) return Promise.resolve(false);
  if (!out.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      out.off('drain', onDrain);
      out.off('close', onClose);
      resolve(ok && !subscription.closed);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}
