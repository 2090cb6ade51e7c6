// Guard: who may talk to the server. Token auth, the Origin allow-list (a page on another origin
// must not read the stream or publish), the Host check against DNS rebinding, the per-client
// publish rate and the stream count. RequestGuard applies the first three to every request, the
// same one whether Express routes the request or the event stream is served without it
// (server/routes.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { isLoopbackHost } from '../events/net.ts';
import { LAST_EVENT_ID_HEADER, LOG_EPOCH_HEADER } from '../events/sse.ts';
import { HttpError } from './errors.ts';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency.ts';
import { nodeCrypto } from './lazy.ts';

/** Compares in constant time (hashing first makes the lengths equal too). */
export function tokenMatches(given: string, expected: string): boolean {
  const { createHash, timingSafeEqual } = nodeCrypto();
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer T`, else from `?token=T` (a browser EventSource cannot send headers). */
export function requestToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    return match ? match[1] : undefined;
  }
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  return query ?? undefined;
}

/**
 * Why a token given to the server cannot be used, or undefined when it can. [PRODUCT] "An empty
 * token is an error, never 'no auth'": `--token ""` or `HERALD_TOKEN=$UNSET` must not open the
 * server. A token with white space or control characters could never be sent as `Bearer T`.
 */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'the token is empty';
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(token))
    return 'the token contains white space or control characters, which "Authorization: Bearer T" cannot carry';
  return undefined;
}

export function checkToken(req: IncomingMessage, expected: string | undefined): void {
  if (!expected) return;
  const given = requestToken(req);
  const headers = { 'WWW-Authenticate': 'Bearer realm="herald"' };
  if (given === undefined) {
    throw new HttpError(
      'unauthorized',
      'This server needs a token: send "Authorization: Bearer <token>" (or ?token=<token> for EventSource).',
      { headers },
    );
  }
  if (!tokenMatches(given, expected)) {
    throw new HttpError('unauthorized', 'Wrong token: use the one the server was started with (--token or HERALD_TOKEN).', { headers });
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The host name in a Host header, without port and brackets, lower-cased; undefined if malformed. */
export function hostName(hostHeader: string): string | undefined {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return value.slice(1, end);
  }
  const match = /^([^:]+)(?::\d{1,5})?$/.exec(value);
  return match ? match[1] : undefined;
}

/**
 * Which Host headers are this server, against DNS rebinding: a page on evil.test whose name is made
 * to resolve to this machine reaches us with "Host: evil.test", and is refused here before
 * anything else runs, wherever the server listens.
 *
 * - Bound to loopback: only loopback names and addresses (localhost, 127.0.0.1, [::1]) and the
 *   bound address.
 * - Bound elsewhere (0.0.0.0, ::, a LAN address): those, plus the machine's own name (and
 *   name.local), its addresses, and the names given with --allowed-host (a DNS name or a proxy's
 *   name that reaches it). An IP address in Host is taken as is when not on loopback: rebinding
 *   needs a name (the browser sends the name the page was loaded from), and a machine behind NAT
 *   or in a container is reached at addresses it does not see on its own interfaces.
 */
export class HostPolicy {
  readonly #loopbackOnly: boolean;
  readonly #names: Set<string>;

  constructor(boundHost: string, allowedHosts: readonly string[] = [], machine: { hostname?: string } = {}) {
    const bound = boundHost.replace(/^\[|\]$/g, '').toLowerCase();
    this.#loopbackOnly = isLoopbackHost(boundHost);
    this.#names = new Set([...LOOPBACK_NAMES, bound, ...allowedHosts.map((h) => normalizeHostName(h))]);
    if (!this.#loopbackOnly) {
      const hostname = (machine.hostname ?? os.hostname()).toLowerCase();
      if (hostname !== '') {
        this.#names.add(hostname);
        this.#names.add(`${hostname.split('.')[0]}.local`);
      }
    }
  }

  check(req: IncomingMessage): void {
    const header = req.headers.host;
    const name = header ? hostName(header) : undefined;
    if (name !== undefined) {
      const bare = name.replace(/\.$/, '');
      if (this.#names.has(bare)) return;
      if (!this.#loopbackOnly && isIpAddress(bare)) return;
    }
    const fix = this.#loopbackOnly
      ? 'use http://127.0.0.1 or http://localhost'
      : 'use its address or its machine name, or start it with --allowed-host NAME for a name that is meant to reach it';
    throw new HttpError('forbidden', `Host "${header ?? ''}" is not this server: ${fix}.`);
  }
}

/** "Herald.Example.:5080" → "herald.example". */
function normalizeHostName(value: string): string {
  return (hostName(value) ?? value.trim().toLowerCase()).replace(/\.$/, '');
}

function isIpAddress(name: string): boolean {
  return net.isIP(name) !== 0;
}

export function normalizeOrigin(origin: string): string {
  try {
    const url = new URL(origin);
    if (url.origin === 'null') throw new Error('opaque');
    return url.origin;
  } catch {
    throw new Error(`"${origin}" is not an origin like https://example.com`);
  }
}

/** Which origins may call the server from a browser: its own, plus those given. */
export class OriginPolicy {
  readonly #allowed: Set<string>;
  constructor(allowedOrigins: readonly string[] = []) {
    this.#allowed = new Set(allowedOrigins.map(normalizeOrigin));
  }

  /** True when the request carries an Origin that may use CORS (a listed one, not our own). */
  isListed(origin: string): boolean {
    return this.#allowed.has(origin);
  }

  /**
   * No Origin (curl, Node, the app's main process): allowed. Our own origin (the web UI we serve):
   * allowed. A listed origin: allowed with CORS. Anything else, including "null": 403, so a page
   * the user happens to visit can neither read the stream nor publish (even with a "simple"
   * text/plain form POST, which browsers send without a preflight).
   */
  check(req: IncomingMessage): OriginKind {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (origin === undefined) {
      // A browser marks what another site makes it fetch (img, script, no-cors fetch); only a
      // top-level navigation (the user following a link) may come from elsewhere without an Origin.
      if ((site === 'cross-site' || site === 'same-site') && req.headers['sec-fetch-mode'] !== 'navigate') {
        throw new HttpError('forbidden', 'Requests made by another site are refused: start the server with --allow-origin for that site.');
      }
      return 'none';
    }
    const host = req.headers.host;
    if (host && (origin === `http://${host.toLowerCase()}` || origin === `https://${host.toLowerCase()}`)) return 'same';
    // Our own page's POSTs carry "Origin: null" under "Referrer-Policy: no-referrer"; the browser-set Sec-Fetch-Site tells them apart.
    if (origin === 'null' && site === 'same-origin') return 'same';
    if (this.#allowed.has(origin)) return 'listed';
    throw new HttpError(
      'forbidden',
      `Origin ${origin} is not allowed: start the server with --allow-origin ${origin} to let that page in.`,
    );
  }
}

/**
 * The guard's headers that govern a document a browser renders (what it may load, what Referer it
 * sends). They mean nothing on an event stream (text/event-stream under nosniff is never rendered,
 * and loads nothing), whose response head Node keeps in memory for as long as the stream is open:
 * a stream's head leaves them out (server/stream.ts). Its error answers keep them.
 */
export const DOCUMENT_HEADERS: readonly string[] = ['Content-Security-Policy', 'Referrer-Policy'];

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The headers a listed origin's page may send (its preflight is answered with them). */
const CORS_ALLOW_HEADERS = `Authorization, Content-Type, Last-Event-ID, Herald-Log-Epoch, ${IDEMPOTENCY_KEY_HEADER}, Title, X-Title, X-Topic, X-Priority, X-Tags, X-Url`;
/** The response headers a listed origin's page may read. */
const CORS_EXPOSE_HEADERS = `Retry-After, ${LAST_EVENT_ID_HEADER}, ${LOG_EPOCH_HEADER}`;

export interface RequestGuardOptions {
  hosts: HostPolicy;
  origins: OriginPolicy;
  /** Bearer token every route but /health, the web UI and the CI hooks needs; undefined = none. */
  token: string | undefined;
}

/**
 * The checks every request passes, in one place for every way a request is served: the security
 * headers, the Host check (DNS rebinding), the Origin check with its CORS headers, the preflight
 * answer, and the token. Throws HttpError (403, 401) for the caller's one error answer.
 */
export class RequestGuard {
  readonly #options: RequestGuardOptions;

  constructor(options: RequestGuardOptions) {
    this.#options = options;
  }

  /**
   * Gives the headers every answer carries to `set` and checks Host and Origin; a listed origin
   * gets its CORS headers. `path` is the request's path without its query. `set` is the
   * response's setHeader, or (for an event stream) an object its head is written from in one go:
   * headers set one by one are kept by Node for the response's lifetime (~1 KB per open stream).
   */
  admit(req: IncomingMessage, path: string, set: (name: string, value: string) => void): OriginKind {
    set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    set('X-Content-Type-Options', 'nosniff');
    set('Referrer-Policy', 'no-referrer');
    set('Vary', 'Origin');
    // CI hooks carry their own credential (a signature, a secret token) and reach a loopback
    // server through tunnels that send their own Host; a rebinding page cannot sign a body.
    if (!path.startsWith('/hooks/')) this.#options.hosts.check(req);
    const origin = this.#options.origins.check(req);
    if (origin === 'listed') {
      set('Access-Control-Allow-Origin', req.headers.origin!);
      // Listed origins only, echoed (never "*", which browsers refuse with credentials): lets a page
      // there open `new EventSource(url, { withCredentials: true })` or fetch with credentials.
      set('Access-Control-Allow-Credentials', 'true');
      set('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
    }
    return origin;
  }

  /** Answers an OPTIONS request (a CORS preflight for a listed origin) with 204. */
  answerPreflight(res: ServerResponse, origin: OriginKind): void {
    res.setHeader('Allow', 'GET, HEAD, POST, OPTIONS');
    if (origin === 'listed') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', CORS_ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.statusCode = 204;
    res.end();
  }

  /** 401 unless the request carries the server's token (when it has one). */
  checkToken(req: IncomingMessage): void {
    checkToken(req, this.#options.token);
  }
}

/** Where a request comes from, as OriginPolicy sees it. */
export type OriginKind = 'none' | 'same' | 'listed';

export interface RateOptions {
  /** Burst size: publishes allowed at once. */
  capacity: number;
  /** Steady rate: tokens added per second. */
  refillPerSecond: number;
}

export const DEFAULT_PUBLISH_RATE: RateOptions = { capacity: 200, refillPerSecond: 50 };

/** Who keeps the publish buckets: this process (PublishRate), or a store every server shares (SharedPublishRate). */
export interface PublishLimit {
  /** Takes one token for this client, or throws 429 with the seconds until one is back. */
  take(client: string): void | Promise<void>;
}

/** A token bucket per client address. Idle, full buckets are forgotten so memory stays bounded. */
export class PublishRate implements PublishLimit {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;
  readonly #maxClients: number;

  constructor(options: RateOptions, extra: { now?: () => number; maxClients?: number } = {}) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0))
      throw new Error('publishRate needs capacity >= 1 and refillPerSecond > 0');
    this.#capacity = options.capacity;
    this.#refillPerMs = options.refillPerSecond / 1000;
    this.#now = extra.now ?? Date.now;
    this.#maxClients = extra.maxClients ?? 10_000;
  }

  /** Takes one token for this client, or throws 429 with the seconds until one is back. */
  take(client: string): void {
    if (this.#capacity === Infinity) return;
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxClients) this.#forgetFull(now);
      bucket = { tokens: this.#capacity, at: now };
      this.#buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#refillPerMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    throw tooManyPublishes(client, Math.max(1, Math.ceil((1 - bucket.tokens) / this.#refillPerMs / 1000)));
  }

  #forgetFull(now: number): void {
    for (const [client, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#refillPerMs >= this.#capacity) this.#buckets.delete(client);
    }
    // Still full of busy clients: drop the oldest rather than grow.
    if (this.#buckets.size >= this.#maxClients) {
      const first = this.#buckets.keys().next();
      if (!first.done) this.#buckets.delete(first.value);
    }
  }
}

/**
 * The same token bucket per client, kept where every server reads it (Redis, server/redis-store.ts),
 * so the limit holds for the whole feed whichever server a client reaches. `bucket` takes a token
 * and answers 0, or the seconds until one is back.
 */
export class SharedPublishRate implements PublishLimit {
  readonly #options: RateOptions;
  readonly #bucket: (client: string, capacity: number, refillPerSecond: number) => Promise<number>;

  constructor(options: RateOptions, bucket: (client: string, capacity: number, refillPerSecond: number) => Promise<number>) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0))
      throw new Error('publishRate needs capacity >= 1 and refillPerSecond > 0');
    this.#options = options;
    this.#bucket = bucket;
  }

  async take(client: string): Promise<void> {
    if (this.#options.capacity === Infinity) return;
    const waitSeconds = await this.#bucket(client, this.#options.capacity, this.#options.refillPerSecond);
    if (waitSeconds > 0) throw tooManyPublishes(client, waitSeconds);
  }
}

function tooManyPublishes(client: string, seconds: number): HttpError {
  return new HttpError('too_many_requests', `Too many publishes from ${client}: wait ${seconds} s and try again.`, {
    headers: { 'Retry-After': String(seconds) },
  });
}
