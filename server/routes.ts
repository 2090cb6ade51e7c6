// The HTTP app: routes, request checks and the one error shape. Storage is an EventStore (SQLite
// or Redis, server/store.ts), live fan-out the Hub, who-may-talk the guard; this file only wires requests to them.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  EventValidationError,
  LIMITS,
  TOPIC_PATTERN,
  isEpoch,
  isEventId,
  parseEventInput,
  priorityFromWord,
  type EventInput,
} from '../events/event.ts';
import type { HealthReport, HistoryPage } from '../events/http.ts';
import { LOG_EPOCH_HEADER, SSE_HEADERS } from '../events/sse.ts';
import { closeAfter } from './connections.ts';
import { HttpError, StoreUnavailableError } from './errors.ts';
import { answerPublish, claimFor, idempotencyKeyOf } from './idempotency.ts';
import { RequestGuard, type HostPolicy, type OriginPolicy, type PublishLimit } from './guard.ts';
import { hookRoutes, type HookSecrets } from './hooks/routes.ts';
import type { HeartbeatKind, Hub, StreamFlavour } from './hub.ts';
import type { EventStore, ResumeAnswer, StoredEvent } from './store.ts';
import type { PublishQueue } from './publish-queue.ts';
import type { ReadTurns } from './read-turns.ts';
import type { HeldReader, ReaderMemory } from './reader-memory.ts';
import { serveStream, streamHead, type StreamContext } from './stream.ts';
import { describeError } from '../events/errors.ts';

export interface AppContext {
  store: EventStore;
  hub: Hub;
  queue: PublishQueue;
  /** Which Host headers are this server (against DNS rebinding). */
  hosts: HostPolicy;
  token: string | undefined;
  /** CI webhook secrets; a hook without its secret answers 404. */
  hooks: HookSecrets;
  origins: OriginPolicy;
  /** Publishes per client: in this process, or in Redis for the whole feed. */
  rate: PublishLimit;
  maxStreams: number;
  /** Where reader work (replay pages, /history pages) waits its turn. */
  turns: ReadTurns;
  /** The server-wide bound on bytes held for readers (the hub's too). */
  readers: ReaderMemory;
  /** The most a /history page carries past its first event. */
  maxHistoryPageBytes: number;
  /** Told when a request becomes an event stream (its connection then stops counting as an idle one). */
  connections?: StreamContext['connections'];
  /** Proxies whose X-Forwarded-For names the client (Express's 'trust proxy': addresses, CIDRs, 'loopback'); default none. */
  trustProxy?: readonly string[];
  retryMs: number;
  stallTimeoutMs: number;
  webRoot: string | null;
  version: string;
  startedAt: number;
  log(line: string): void;
}

/** What a request asks, wherever it is parsed: Express's req, or the direct stream path's parts. */
interface Asked {
  headers: IncomingHttpHeaders;
  /** node:querystring's parse of the query (Express's "simple" query parser is the same function). */
  query: Record<string, unknown>;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The server's request listener. GET and HEAD of /events and /connect, held open for as long as a
 * client listens, are served without Express's per-request machinery (its request and response
 * wrappers, the router's state kept alive with every open stream: ~1.5 KB each); everything
 * else, and any stream request Express must parse (an absolute-form target), goes through
 * Express. Both ways pass the same RequestGuard and answer errors through the same answerError.
 */
export function createApp(appContext: AppContext): Listener {
  const app = express();
  const context: RoutesContext = {
    ...appContext,
    trusted: configureExpress(app, appContext),
    clientAddress: (req: IncomingMessage) => clientAddress(req, context),
  };
  const guard = new RequestGuard({ hosts: context.hosts, origins: context.origins, token: context.token });
  const streams = streamRoutes(context);
  app.use(guardMiddleware(guard));
  addHealthRoute(app, context);
  addWebUi(app, context);
  // Before the token check: a CI provider cannot send --token; the hook's secret is its credential.
  app.use(
    hookRoutes(
      { queue: context.queue, rate: context.rate, log: context.log, clientAddress: (req) => clientAddress(req, context) },
      context.hooks,
    ),
  );
  app.use((req: Request, _res: Response, next: NextFunction) => {
    guard.checkToken(req);
    next();
  });
  addPublishRoutes(app, context);
  // Reached only by what the direct path leaves to Express (an absolute-form request target); the
  // guard's headers are already on the response.
  app.get('/events', (req: Request, res: Response) => streams.typed(req, res, req, NO_HEADERS));
  app.get('/connect', (req: Request, res: Response) => streams.message(req, res, req, NO_HEADERS));
  addHistoryRoute(app, context);
  addFallbacks(app, context);
  return (req, res) => {
    if (!serveStreamDirectly(req, res, guard, streams, context)) app(req, res);
  };
}

/** The app's context as the routes see it: with the compiled --trust-proxy rule. */
interface RoutesContext extends AppContext {
  trusted: TrustProxy;
  clientAddress(req: IncomingMessage): string;
}

/** Express as Herald uses it: no X-Powered-By, no ETag; returns the compiled --trust-proxy rule. */
function configureExpress(app: express.Express, context: AppContext): TrustProxy {
  app.disable('x-powered-by');
  app.set('etag', false);
  // Behind a load balancer every client arrives from its address: with --trust-proxy, the client
  // is the one that proxy names (clientAddress), so the publish rate is per client, not one bucket for all.
  if (context.trustProxy && context.trustProxy.length > 0) app.set('trust proxy', [...context.trustProxy]);
  return app.get('trust proxy fn') as TrustProxy;
}

/** The guard's headers, Host and Origin checks for every request, and the answer to a preflight. */
function guardMiddleware(guard: RequestGuard) {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = guard.admit(req, req.path, (name, value) => res.setHeader(name, value));
    if (req.method === 'OPTIONS') {
      guard.answerPreflight(res, origin);
      return;
    }
    next();
  };
}

/** GET /health, without the token: the server and its store, 503 while the store cannot be reached. */
function addHealthRoute(app: express.Express, context: RoutesContext): void {
  app.get('/health', async (_req: Request, res: Response) => {
    const store = await context.store.health();
    // A store that cannot be reached (Redis down) is a server that cannot take publishes: 503, so
    // a load balancer sends new clients to a server that can (open streams stay open meanwhile).
    if (!store.up) res.status(503);
    const report: HealthReport = {
      status: store.up ? 'ok' : 'store_unreachable',
      ...(store.up
        ? {}
        : { error: { code: 'store_unavailable', message: `The event store cannot be reached: ${store.error ?? 'no answer'}.` } }),
      version: context.version,
      uptimeSeconds: Math.round((Date.now() - context.startedAt) / 1000),
      subscribers: context.hub.size,
      ...(store.storedEvents !== undefined ? { storedEvents: store.storedEvents } : {}),
      lastId: store.lastId,
      epoch: store.epoch,
      store: { kind: store.kind, up: store.up, where: store.where },
    };
    res.json(report);
  });
}

/** The window UI at '/', without the token: static code with no data in it (the page then needs the token for the API like any other client). */
function addWebUi(app: express.Express, context: RoutesContext): void {
  if (context.webRoot) app.use(express.static(context.webRoot, { index: 'index.html', dotfiles: 'ignore', redirect: false }));
  app.get('/', (_req: Request, res: Response) => {
    res
      .status(200)
      .type('html')
      .send(
        '<!doctype html><meta charset="utf-8"><title>Herald</title><h1>Herald server</h1>' +
          '<p>The window UI is not built. Run <code>npm run build:renderer</code> and reload.</p>' +
          '<p>The API works: <code>POST /events</code>, <code>GET /events</code> (SSE), <code>GET /history</code>, <code>GET /health</code>.</p>',
      );
  });
}

/** POST /events (JSON or text) and the seed's POST /message, rate-limited per client. */
function addPublishRoutes(app: express.Express, context: RoutesContext): void {
  // Not express.raw: past its limit it still reads the whole body before answering (and a
  // declared 10^15 bytes is never all sent). This answers 413 as soon as the limit is passed.
  const rawBody = (req: Request, _res: Response, next: NextFunction) => {
    readBody(req, LIMITS.bodyBytes).then((body) => {
      req.body = body;
      next();
    }, next);
  };
  const takeRate = async (req: Request, _res: Response, next: NextFunction) => {
    await context.rate.take(clientAddress(req, context));
    next();
  };
  // [PRODUCT] A repeat with the same Idempotency-Key and event returns the stored event (same id).
  const publish = async (input: EventInput, req: Request, res: Response): Promise<void> => {
    const key = idempotencyKeyOf(req.headers['idempotency-key']);
    answerPublish(res, await context.queue.publishClaimed(input, key === undefined ? undefined : claimFor(key, input)));
  };
  app.post('/events', takeRate, mediaTypeCheck(['json', 'text']), rawBody, async (req: Request, res: Response) => {
    const input = mediaKind(req) === 'json' ? parseEventInput(jsonBody(req)) : parseEventInput(textInput(req));
    await publish(input, req, res);
  });
  app.post('/message', takeRate, mediaTypeCheck(['json']), rawBody, async (req: Request, res: Response) => {
    const input = parseEventInput(jsonBody(req));
    if (input.type !== 'notification')
      throw new EventValidationError('type', 'POST /message publishes notifications only: use POST /events for other types');
    await publish(input, req, res);
  });
}

/** `head`: headers the stream's response head carries besides its own (the guard's, on the direct path). */
type StreamHandler = (req: IncomingMessage, res: ServerResponse, asked: Asked, head: Readonly<Record<string, string>>) => void;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** GET /events ('typed') and GET /connect ('message'): the checks, the stream cap, then the stream (server/stream.ts). */
function streamRoutes(context: RoutesContext): { typed: StreamHandler; message: StreamHandler } {
  const handlerFor =
    (flavour: StreamFlavour): StreamHandler =>
    (req, res, asked, head) => {
      const topics = topicFilter(asked);
      const resumeAfter = resumeId(asked);
      const epoch = resumeEpoch(asked);
      const heartbeat = heartbeatKind(asked);
      // The hub holds every open stream, /events and /connect alike, from its head to its close.
      if (context.hub.size >= context.maxStreams) {
        throw new HttpError('too_many_streams', `This server holds its limit of ${context.maxStreams} streams: try again shortly.`, {
          headers: { 'Retry-After': '10' },
        });
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...streamHead(res, head), ...SSE_HEADERS }).end();
        return;
      }
      const asks =
        (resumeAfter !== undefined ? ` after=${resumeAfter}` : '') +
        (epoch !== undefined && epoch !== context.store.epoch ? ` epoch=${epoch} (not this log's)` : '');
      serveStream(req, res, { flavour, topics, resumeAfter, epoch, heartbeat, asked: asks }, context, head);
    };
  return { typed: handlerFor('typed'), message: handlerFor('message') };
}

/**
 * Serves GET or HEAD /events and /connect without Express: the same guard, token check and
 * stream handler as the Express routes, and errors answered as the Express error handler answers
 * them. Returns false for any other request (Express takes it).
 */
function serveStreamDirectly(
  req: IncomingMessage,
  res: ServerResponse,
  guard: RequestGuard,
  streams: { typed: StreamHandler; message: StreamHandler },
  context: RoutesContext,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  const handler = path === '/events' ? streams.typed : path === '/connect' ? streams.message : undefined;
  if (handler === undefined) return false;
  // The guard's headers go into the head written once (see RequestGuard.admit); an error answer gets them too.
  const head: Record<string, string> = {};
  try {
    guard.admit(req, path, (name, value) => (head[name] = value));
    guard.checkToken(req);
    handler(req, res, { headers: req.headers, query: mark < 0 ? {} : parseQuery(url.slice(mark + 1)) }, head);
  } catch (error) {
    if (!res.headersSent) for (const [name, value] of Object.entries(head)) res.setHeader(name, value);
    answerError(error, req, res, path, context);
  }
  return true;
}

/** GET /history: a JSON page of stored events (after=, last=, topic=, limit=), with the gap or reset a resume would get. */
function addHistoryRoute(app: express.Express, context: RoutesContext): void {
  app.get('/history', async (req: Request, res: Response) => {
    const topics = topicFilter(req);
    const query: HistoryQuery = {
      topics: topics ? [...topics] : null,
      after: queryId(req, 'after'),
      last: queryCount(req, 'last'),
      limit: queryCount(req, 'limit') ?? 100,
    };
    if (query.last !== undefined && query.after !== undefined)
      throw new HttpError('bad_request', 'Send either after or last, not both.', { field: 'last' });
    // The plan first: it says the newest id and the epoch the page belongs to.
    const answer = await context.store.planResume(query.after ?? 0, resumeEpoch(req));
    const body = await historyPage(context, query, answer);
    res.status(200).type('application/json').send(body);
    holdUntilSent(res, context.readers);
  });
}

/** The API's paths: another method on one of them is 405, not 404. */
const API_ROUTES: ReadonlySet<string> = new Set(['/events', '/message', '/connect', '/history', '/health']);

/** 405 for other methods on the API's routes, 404 for any other path, and the one error answer. */
function addFallbacks(app: express.Express, context: RoutesContext): void {
  // One middleware rather than app.all per route (each of which sets up a handler for every HTTP
  // method Node knows: ~4 ms of every start); the path matches as Express's routes match it, in
  // any case and with or without a trailing slash.
  app.use((req: Request) => {
    const route = `/${req.path.toLowerCase().replace(/^\/|\/$/g, '')}`;
    if (API_ROUTES.has(route)) throw new HttpError('method_not_allowed', `${req.method} ${route} is not supported.`);
    throw new HttpError(
      'not_found',
      `No such route: ${req.method} ${req.path}. The API is POST /events, GET /events, GET /history, GET /health.`,
    );
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => answerError(error, req, res, req.path, context));
}

/** The one error answer ({ error: { code, message, field? } } with its status and headers), and its log lines. */
function answerError(error: unknown, req: IncomingMessage, res: ServerResponse, path: string, context: RoutesContext): void {
  const http = toHttpError(error);
  // A store that cannot be reached is said once by the store, not with a stack per request.
  if (http.status >= 500 && !(error instanceof StoreUnavailableError))
    context.log(`error on ${req.method} ${path}: ${describeError(error, { stack: true })}`);
  context.log(
    `rejected ${req.method} ${path} from ${clientAddress(req, context)}: ${http.status} ${http.code}${http.field ? ` (${http.field})` : ''}`,
  );
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (http.status === 413) {
    // The rest of the body is not wanted: answer, then close (see closeAfter).
    closeAfter(req, res, http);
    return;
  }
  for (const [name, value] of Object.entries(http.headers)) res.setHeader(name, value);
  // As Express's res.json sends it: UTF-8 JSON with its length (and no body for HEAD).
  const body = Buffer.from(JSON.stringify(http.toJSON()));
  res.statusCode = http.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}

interface HistoryQuery {
  topics: string[] | null;
  after: number | undefined;
  last: number | undefined;
  limit: number;
}

/** The most a /history page carries past its first event: a reader that never reads holds the server to this much. */
export const DEFAULT_MAX_HISTORY_PAGE_BYTES = 256 * 1024;
/** Bytes of events read in one piece of reader work while filling a /history page (rows adapted to their size). */
const HISTORY_READ_BYTES = 64 * 1024;
const HISTORY_FIRST_READ_ROWS = 16;

/**
 * One /history page as JSON: at most `limit` events and, past the first, at most
 * maxHistoryPageBytes of them (`more: true` and `next` say where to go on). Reads and the page
 * itself are pieces of reader work (server/read-turns.ts): many large pages at once must not hold
 * publishes up. The stored JSON is spliced in as is: no parse and re-serialize per event.
 */
async function historyPage(context: AppContext, query: HistoryQuery, answer: ResumeAnswer): Promise<string> {
  const { store, turns, maxHistoryPageBytes: maxBytes } = context;
  const lastId = String(answer.lastId);
  let rows: StoredEvent[] = [];
  let more = false;
  let notice: Pick<HistoryPage, 'gap' | 'reset'> = {};
  let bytes = 0;
  if (query.last !== undefined) {
    // The newest that fit, oldest first.
    const newest = await turns.run(() => store.readLast(query.last!, query.topics));
    let first = newest.length;
    while (first > 0 && (first === newest.length || bytes + newest[first - 1]!.json.length <= maxBytes)) {
      first -= 1;
      bytes += newest[first]!.json.length;
    }
    rows = newest.slice(first);
  } else {
    const { plan } = answer;
    let gap = plan.kind === 'gap' ? plan.gap : undefined;
    if (plan.kind === 'reset') notice = { reset: true };
    // After a gap, from its end: a read that finds the same hole then owes nothing more.
    let after = plan.kind === 'reset' ? 0 : gap ? Number(gap.throughId) : (query.after ?? 0);
    // limit + 1 rows at most, a chunk of about HISTORY_READ_BYTES at a time: a row past the limit or
    // the byte bound means more.
    let chunkRows = HISTORY_FIRST_READ_ROWS;
    for (;;) {
      const asked = Math.min(chunkRows, query.limit + 1 - rows.length);
      const from = after;
      const chunk = await turns.run(() => store.readAfter(from, { topics: query.topics, limit: asked }));
      if (chunk.gap) {
        // Retention went past this walk between two reads. With events on the page already, the
        // page ends there and the next one (after its last event) is told the gap; with none yet,
        // this page's gap reaches to where retention is now.
        if (rows.length > 0) {
          more = true;
          break;
        }
        const askedAfter = query.after ?? 0;
        gap = { afterId: String(askedAfter), throughId: chunk.gap.throughId, missed: Number(chunk.gap.throughId) - askedAfter };
      }
      for (const row of chunk.events) {
        if (rows.length === query.limit || (rows.length > 0 && bytes + row.json.length > maxBytes)) {
          more = true;
          break;
        }
        rows.push(row);
        bytes += row.json.length;
      }
      if (more || !chunk.full) break;
      after = chunk.throughId;
      const perRow = rows.length > 0 ? bytes / rows.length : HISTORY_READ_BYTES;
      chunkRows = Math.max(8, Math.min(500, Math.ceil(HISTORY_READ_BYTES / perRow)));
    }
    if (gap) notice = { gap };
  }
  const next = rows.length > 0 ? String(rows.at(-1)!.id) : query.last !== undefined ? lastId : String(query.after ?? 0);
  const page: Omit<HistoryPage, 'events'> = { next, more, lastId, epoch: answer.epoch, ...notice };
  // The page's typed rest follows the spliced events (test/server/wire-shapes.test.ts reads the
  // whole as a HistoryPage).
  return turns.run(() => `{"events":[${rows.map((r) => r.json).join(',')}],${JSON.stringify(page).slice(1)}`);
}

/** Counts a response against the bound on bytes held for readers until the socket has taken it. */
function holdUntilSent(res: Response, readers: ReaderMemory): void {
  const socket = res.socket;
  if (!socket) return;
  const reader: HeldReader = { out: socket, cut: () => res.destroy() };
  readers.wrote(reader);
  const done = () => readers.forget(reader);
  res.once('finish', done);
  res.once('close', done);
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof EventValidationError) return new HttpError('bad_request', error.message, { field: error.field });
  if (error instanceof StoreUnavailableError) {
    return new HttpError('store_unavailable', error.message, { headers: { 'Retry-After': String(error.retryAfterSeconds) } });
  }
  const status = (error as { status?: unknown; type?: unknown } | null)?.status;
  const type = (error as { type?: unknown } | null)?.type;
  if (status === 413 || type === 'entity.too.large') return tooLarge(LIMITS.bodyBytes);
  if (status === 415) return new HttpError('unsupported_media_type', 'Send the body uncompressed, as application/json or text/plain.');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError('bad_request', `The request body could not be read: ${describeError(error)}.`, { field: 'body' });
  }
  return new HttpError('internal_error', 'The server failed to handle this request; see its log. Try again.');
}

/** Express's compiled --trust-proxy rule: is this address (hop i from the socket) a proxy we trust? */
type TrustProxy = (address: string, hop: number) => boolean;

/**
 * The client's address: the socket's, or with --trust-proxy the first address in X-Forwarded-For
 * (from the right) that is not a trusted proxy, as Express's req.ip says it (proxy-addr); one
 * answer for requests Express parsed and for streams served without it.
 */
function clientAddress(req: IncomingMessage, context: RoutesContext): string {
  const socketAddress = req.socket.remoteAddress ?? 'unknown';
  const { trusted } = context;
  if (!trusted(socketAddress, 0)) return socketAddress;
  const forwarded = req.headers['x-forwarded-for'];
  const hops =
    typeof forwarded === 'string'
      ? forwarded
          .split(',')
          .map((hop) => hop.trim())
          .filter((hop) => hop !== '')
          .reverse()
      : [];
  let address = socketAddress;
  for (let i = 0; i < hops.length; i++) {
    address = hops[i]!;
    if (!trusted(address, i + 1)) break;
  }
  return address;
}

/** 'json', 'text', or undefined for anything else. curl -d sends x-www-form-urlencoded: that is text to us. */
function mediaKind(req: Request): 'json' | 'text' | undefined {
  const header = req.headers['content-type'];
  if (header === undefined || header.trim() === '') return 'text';
  const [type = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') return undefined;
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return 'json';
  if (type === 'text/plain' || type === 'application/x-www-form-urlencoded') return 'text';
  return undefined;
}

function mediaTypeCheck(accepted: Array<'json' | 'text'>) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const kind = mediaKind(req);
    if (kind === undefined || !accepted.includes(kind)) {
      const want = accepted.includes('text') ? 'application/json or text/plain (UTF-8)' : 'application/json (UTF-8)';
      throw new HttpError(
        'unsupported_media_type',
        `Content-Type ${req.headers['content-type'] ?? '(none)'} is not accepted here: send ${want}.`,
      );
    }
    if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
      throw new HttpError('unsupported_media_type', 'Send the body uncompressed (no Content-Encoding).');
    }
    next();
  };
}

/** The request body, or HttpError 413 the moment it passes maxBytes (declared or sent), or 400 when it is cut off. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: unknown) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) done(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = () => done(new HttpError('bad_request', 'The request body was cut off: send it again.', { field: 'body' }));
    const onAborted = onError;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    'payload_too_large',
    `The body is larger than ${maxBytes} bytes: shorten it (put bulky output in a file and link it with url).`,
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function bodyText(req: Request): string {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body)) return '';
  try {
    return UTF8.decode(body);
  } catch {
    throw new HttpError('bad_request', 'The body is not valid UTF-8: send UTF-8 text.', { field: 'body' });
  }
}

function jsonBody(req: Request): unknown {
  const text = bodyText(req);
  if (text.trim() === '')
    throw new HttpError('bad_request', 'The body is empty: send a JSON object such as {"title":"Build done"}.', { field: 'body' });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError('bad_request', `The body is not valid JSON (${describeError(error)}).`, { field: 'body' });
  }
}

/** Node reads header bytes as Latin-1; curl sends UTF-8 titles as raw bytes. Take them back as UTF-8 when they are. */
function headerText(req: Asked, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = req.headers[name];
    if (typeof value !== 'string') continue;
    try {
      return UTF8.decode(Buffer.from(value, 'latin1'));
    } catch {
      return value;
    }
  }
  return undefined;
}

function queryText(req: Asked, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError('bad_request', `Send ${name} once.`, { field: name });
  return value;
}

/** A text/plain publish: the body is the notification's body; the rest comes from headers (curl-friendly) or the query. */
function textInput(req: Request): Record<string, unknown> {
  // Text from files and Windows tools ends lines with CRLF or CR; the event model takes LF only.
  const body = bodyText(req).replace(/\r\n?/g, '\n').replace(/\n$/, '');
  const input: Record<string, unknown> = {};
  if (body !== '') input.body = body;
  const title = headerText(req, 'title', 'x-title') ?? queryText(req, 'title');
  if (title !== undefined) input.title = title;
  const topic = headerText(req, 'x-topic') ?? queryText(req, 'topic');
  if (topic !== undefined) input.topic = topic;
  const priority = headerText(req, 'x-priority', 'priority') ?? queryText(req, 'priority');
  if (priority !== undefined) {
    const word = priority.trim().toLowerCase();
    input.priority = priorityFromWord(word) ?? (/^\d+$/.test(word) ? Number(word) : word);
  }
  const tags = headerText(req, 'x-tags', 'tags') ?? queryText(req, 'tags');
  if (tags !== undefined)
    input.tags = tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  const url = headerText(req, 'x-url') ?? queryText(req, 'url');
  if (url !== undefined) input.url = url;
  const type = headerText(req, 'x-type') ?? queryText(req, 'type');
  if (type !== undefined) input.type = type;
  return input;
}

function topicFilter(req: Asked): ReadonlySet<string> | null {
  const raw = req.query.topic;
  if (raw === undefined || raw === '') return null;
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(','));
  const topics = new Set<string>();
  for (const value of values) {
    const topic = value.trim();
    if (topic === '') continue;
    if (!TOPIC_PATTERN.test(topic)) {
      throw new HttpError('bad_request', `topic "${topic.slice(0, 80)}" must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-".`, {
        field: 'topic',
      });
    }
    topics.add(topic);
    // A bound on the work and memory one filter costs (each topic is one index walk per page).
    if (topics.size > LIMITS.filterTopics) {
      throw new HttpError(
        'bad_request',
        `topic: at most ${LIMITS.filterTopics} topics in one filter: subscribe to fewer, or leave topic out to get every topic.`,
        { field: 'topic' },
      );
    }
  }
  return topics.size > 0 ? topics : null;
}

function resumeId(req: Asked): number | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') return parseId(header.trim(), 'Last-Event-ID');
  return queryId(req, 'lastEventId');
}

/** `heartbeat=event` asks for herald.heartbeat events instead of comments; `comment` is the default. */
function heartbeatKind(req: Asked): HeartbeatKind {
  const value = queryText(req, 'heartbeat');
  if (value === undefined || value === '' || value === 'comment') return 'comment';
  if (value === 'event') return 'event';
  throw new HttpError('bad_request', 'heartbeat must be "comment" (the default) or "event".', { field: 'heartbeat' });
}

/** The log epoch the client's cursor came from: the Herald-Log-Epoch header, else the `epoch` query. */
function resumeEpoch(req: Asked): string | undefined {
  const header = req.headers[LOG_EPOCH_HEADER.toLowerCase()];
  const fromHeader = typeof header === 'string' && header.trim() !== '';
  const value = fromHeader ? header.trim() : queryText(req, 'epoch');
  if (value === undefined || value === '') return undefined;
  if (!isEpoch(value)) {
    throw new HttpError(
      'bad_request',
      `${fromHeader ? LOG_EPOCH_HEADER : 'epoch'} must be a log epoch as the server sent it (16 hex digits), or left out.`,
      {
        field: fromHeader ? LOG_EPOCH_HEADER : 'epoch',
      },
    );
  }
  return value;
}

function queryId(req: Asked, name: string): number | undefined {
  const value = queryText(req, name);
  if (value === undefined || value === '') return undefined;
  return parseId(value, name);
}

function parseId(value: string, field: string): number {
  if (!isEventId(value))
    throw new HttpError('bad_request', `${field} must be an event id (decimal digits, 0 for everything kept).`, { field });
  return Number(value);
}

function queryCount(req: Asked, name: string): number | undefined {
  const value = queryText(req, name);
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
    throw new HttpError('bad_request', `${name} must be a whole number from 1 to 1000.`, { field: name });
  }
  return Number(value);
}
