// The HTTP server's own limits, below the routes: how long a client may take to send a request,
// how many connections may be open, and bodies refused from their declared size before a byte of
// them is read. Node (node:http); no Express, so it holds whatever serves the routes.
//
// What an attack from outside did without them: 1,100 idle sockets held every file descriptor
// and locked legitimate clients out for 91 s (Node's default headersTimeout is 60 s, checked
// every 30 s); a POST body trickled for 300 s (requestTimeout); `Content-Length: 10^15` with 10
// bytes sent got no answer at all, and `Expect: 100-continue` with a declared 1 MB got
// `100 Continue`.
//
// Connections come in two kinds. Event streams are meant to stay open: they are counted and
// capped by the app (maxStreams, 503 past it). Every other connection (a request on its way in,
// one being answered, an idle keep-alive) counts against maxOtherConnections; when one more
// arrives past that, the oldest other connection is closed if it has been open a while (a burst
// of clients reconnecting at once is not an attack: those may go past the cap, up to the room
// left). When all connections together reach the hard cap, the oldest other one is closed
// whatever its age. So idle or trickling sockets cannot take the place of new clients, streams
// keep their room, and everything stays below the process's open-file limit
// (server.maxConnections, one above the hard cap, is the last guard and logged when hit).
import fs from 'node:fs';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { HttpError } from './errors.ts';

export interface ConnectionLimits {
  /** Open connections that are not event streams, default DEFAULT_MAX_OTHER_CONNECTIONS; past it the oldest is closed. */
  maxOtherConnections?: number;
  /** A request's head must arrive within this, default DEFAULT_HEADERS_TIMEOUT_MS. */
  headersTimeoutMs?: number;
  /** A whole request (head and body) must arrive within this, default DEFAULT_REQUEST_TIMEOUT_MS. Streams are not
   * affected: their request is complete once its head is in. */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_OTHER_CONNECTIONS = 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
/** How often Node looks for requests past their timeouts (its default, 30 s, let a 60 s timeout run to 91 s). */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;
/** File descriptors kept for everything but client sockets: the log's files, the listening socket, stdio, the thread pool's files. */
const RESERVED_FDS = 64;
/** After a 413 the client may still be sending; its bytes are read and dropped this long, so it can read the answer, then the socket closes. */
const LINGER_MS = 2000;
/** At most one log line about a limit per this long (an attack must not flood the log too). */
/** Below the hard cap, a connection younger than this is not closed to make room (a burst of reconnecting clients). */
const EVICT_MIN_AGE_MS = 1000;
const LOG_EVERY_MS = 10_000;

export class ConnectionGuard {
  /** The stream limit, lowered when the open-file limit cannot hold the one asked for. */
  readonly maxStreams: number;
  readonly maxOtherConnections: number;
  readonly #maxBodyBytes: (req: http.IncomingMessage) => number;
  readonly #log: (line: string) => void;
  /** Connections that are not streams, oldest first (a Set keeps insertion order), with when they opened. */
  readonly #others = new Map<Socket, number>();
  readonly #streams = new Set<Socket>();
  /** All connections together may not pass this: the oldest other one is closed first. */
  readonly #hardCap: number;
  #evicted = 0;
  #dropped = 0;
  readonly #lastSaid = new Map<string, number>();

  /**
   * `maxBodyBytes`: the largest body the request's route takes (a declared Content-Length past it
   * is refused here, unread).
   */
  constructor(
    server: http.Server,
    options: ConnectionLimits & {
      maxStreams: number;
      maxBodyBytes: (req: http.IncomingMessage) => number;
      log: (line: string) => void;
      fileLimit?: number | undefined;
    },
  ) {
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#log = options.log;
    let maxStreams = options.maxStreams;
    let maxOther = options.maxOtherConnections ?? DEFAULT_MAX_OTHER_CONNECTIONS;
    const fileLimit = options.fileLimit === undefined ? openFileLimit() : options.fileLimit;
    // Room for every stream, the other connections, and as many again for bursts.
    let hardCap = maxStreams + 2 * maxOther;
    if (fileLimit !== undefined) {
      const usable = Math.max(16, fileLimit - RESERVED_FDS);
      if (hardCap > usable) {
        // Streams first (they are what the server is for): the other kind keeps a sixteenth.
        maxOther = Math.max(16, Math.min(maxOther, Math.floor(usable / 16)));
        maxStreams = Math.max(1, Math.min(maxStreams, usable - 2 * maxOther));
        hardCap = usable;
        this.#log(
          `the open-file limit is ${fileLimit}: at most ${maxStreams} streams and ${maxOther} other connections (raise it with \`ulimit -n\` for more)`,
        );
      }
    }
    this.maxStreams = maxStreams;
    this.maxOtherConnections = maxOther;
    this.#hardCap = hardCap;
    server.maxConnections = hardCap + 1;
    server.headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    server.requestTimeout = Math.max(server.headersTimeout, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('drop', () => {
      this.#dropped += 1;
      this.#logAtMostEvery('drop', `connection limit reached (${server.maxConnections}): ${this.#dropped} new connections refused so far`);
    });
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // [RFC 9110 10.1.1] A server that will not take the body answers with a final status instead of 100.
      if (this.refuseDeclaredBody(req, res)) return;
      res.writeContinue();
      server.emit('request', req, res);
    });
  }

  /** A request became an event stream: its connection no longer counts against maxOtherConnections. */
  promote(socket: Socket): void {
    if (this.#others.delete(socket)) this.#streams.add(socket);
  }

  /** Connections open now and closed to make room (for tests and benchmarks). */
  stats(): { otherConnections: number; evicted: number; dropped: number } {
    return { otherConnections: this.#others.size, evicted: this.#evicted, dropped: this.#dropped };
  }

  /**
   * Answers 413 at once, from the declared Content-Length, for a body larger than the limit (and
   * closes the connection without reading it). Returns true when it did.
   */
  refuseDeclaredBody(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const declared = req.headers['content-length'];
    if (declared === undefined || !/^\d+$/.test(declared)) return false;
    const maxBytes = this.#maxBodyBytes(req);
    if (Number(declared) <= maxBytes) return false;
    const error = new HttpError(
      'payload_too_large',
      `The body is larger than ${maxBytes} bytes (Content-Length: ${declared}): shorten it (put bulky output in a file and link it with url).`,
    );
    closeAfter(req, res, error);
    return true;
  }

  /** One listener for every socket (`this` is the socket): not a closure and a once-wrapper per connection. */
  readonly #forget = (() => {
    const others = this.#others;
    const streams = this.#streams;
    return function forget(this: Socket): void {
      others.delete(this);
      streams.delete(this);
    };
  })();

  #admit(socket: Socket): void {
    const now = performance.now();
    this.#others.set(socket, now);
    // 'close' comes once.
    socket.on('close', this.#forget);
    if (this.#others.size <= this.maxOtherConnections) return;
    const [oldest, openedAt] = this.#others.entries().next().value!;
    const full = this.#others.size + this.#streams.size > this.#hardCap;
    if (!full && now - openedAt < EVICT_MIN_AGE_MS) return;
    this.#others.delete(oldest);
    oldest.destroy();
    this.#evicted += 1;
    this.#logAtMostEvery(
      'evict',
      `connection limit: ${this.#others.size} connections that are not streams are open (limit ${this.maxOtherConnections}); closed the oldest (from ${oldest.remoteAddress ?? 'unknown'}) to let a new one in (${this.#evicted} so far)`,
    );
  }

  #logAtMostEvery(key: string, line: string): void {
    const now = Date.now();
    if (now - (this.#lastSaid.get(key) ?? 0) < LOG_EVERY_MS) return;
    this.#lastSaid.set(key, now);
    this.#log(line);
  }
}

/**
 * Sends the error with `Connection: close`, then reads and drops whatever the client still sends
 * for a moment (closing a socket with unread bytes resets it, and the client may lose the answer),
 * then closes it.
 */
export function closeAfter(req: http.IncomingMessage, res: http.ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const body = Buffer.from(JSON.stringify(error.toJSON()));
  res.shouldKeepAlive = false;
  res.writeHead(error.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, Connection: 'close' });
  res.end(body);
  const socket = req.socket;
  req.on('data', () => {});
  req.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** The soft limit on open files (Linux; Node raises it to the hard limit when it starts), or undefined where unknown. */
export function openFileLimit(): number | undefined {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match || match[1] === 'unlimited') return undefined;
    return Number(match[1]);
  } catch {
    return undefined;
  }
}
