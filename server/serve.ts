// Starts Herald's companion server: the one entry point for `herald serve`, the tests, the
// benchmarks and the desktop app's utility process. Plain Node APIs only (no Electron).
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, DEFAULT_MAX_HISTORY_PAGE_BYTES } from './routes.ts';
import { defaultWebRoot, packageVersion } from './package.ts';
import { LIMITS } from '../events/event.ts';
import { describeError } from '../events/errors.ts';
import { DEFAULT_PORT } from '../events/net.ts';
import { CONNECTIONS_CHECKING_INTERVAL_MS, ConnectionGuard, type ConnectionLimits } from './connections.ts';
import { defaultDataDir } from './data-dir.ts';
import { MAX_HOOK_BODY_BYTES } from './hooks/routes.ts';
import {
  DEFAULT_PUBLISH_RATE,
  HostPolicy,
  OriginPolicy,
  PublishRate,
  SharedPublishRate,
  tokenProblem,
  type PublishLimit,
} from './guard.ts';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_BACKLOG_BYTES, Hub, type HubStats } from './hub.ts';
import { LineLog } from './line-log.ts';
import { ReadTurns } from './read-turns.ts';
import { DEFAULT_MAX_READER_BYTES, ReaderMemory } from './reader-memory.ts';
import { PublishQueue } from './publish-queue.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { RedisStore } from './redis-store.ts';
import type { EventStore } from './store.ts';

// Not `import http from 'node:http'`: the ES module namespace of node:http reads its lazy
// WebSocket/EventSource getters, which load undici (~60 ms of every start, in a CPU profile).
const { createServer } = process.getBuiltinModule('node:http');

export interface ServerOptions {
  /** Default DEFAULT_PORT (5080); 0 = an ephemeral port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Where the SQLite log lives. Default: the user's data dir (HERALD_DATA_DIR, else XDG data home / %APPDATA% / ~/Library/Application Support, + '/herald'). */
  dataDir?: string;
  /** Bearer token; every route but /health needs it; EventSource may pass ?token=. */
  token?: string;
  /** Secret of the GitHub/Gitea/Forgejo webhooks POSTed to /hooks/github; without it that route answers 404. Empty is an error. */
  githubSecret?: string;
  /** Secret token of the GitLab webhooks POSTed to /hooks/gitlab; without it that route answers 404. Empty is an error. */
  gitlabToken?: string;
  /** CORS origins allowed besides the server's own origin. */
  allowedOrigins?: string[];
  /** Host names besides the machine's own that may reach the server (a DNS name, a proxy's name); see HostPolicy. */
  allowedHosts?: string[];
  /** The longest a stream goes without a byte: idle streams get a comment heartbeat this often, default 15000. */
  heartbeatMs?: number;
  /** The `retry:` sent first, default 3000. */
  retryMs?: number;
  /** Default: the newest 100000 events, none older than 30 days. */
  retention?: { maxEvents?: number; maxAgeMs?: number };
  /** Concurrent streams (GET /events + /connect), default 10000; more get 503 too_many_streams. */
  maxStreams?: number;
  /** Per-subscriber unsent bytes, default 4 MiB (at least 64 KiB). A subscriber at the bound gets no
   * more live writes: it is caught up from the log once it drains, or cut off after stallTimeoutMs. */
  maxBacklogBytes?: number;
  /** How long a subscriber at the backlog bound may take to drain before it is cut off, default 10000. */
  stallTimeoutMs?: number;
  /** Per-client token bucket for publishes, default { capacity: 200, refillPerSecond: 50 }.
   * Benchmarks pass { capacity: Infinity, refillPerSecond: Infinity } to turn it off. */
  publishRate?: { capacity: number; refillPerSecond: number };
  /** Directory of the built window UI served at '/', default <repo>/dist/renderer; null = none. */
  webRoot?: string | null;
  /** Default false: a commit survives a killed process but not a power cut; true: fsync every commit (survives both, slower). */
  fsync?: boolean;
  /** Proxies (load balancers) whose X-Forwarded-For names the client: addresses, CIDRs or 'loopback'. Default none: the socket's address is the client. */
  trustProxy?: string[];
  /** Share the port with other processes that set it too (Linux SO_REUSEPORT): several servers on one stream, one per core. Default false. */
  reusePort?: boolean;
  /** An event store already open (tests, embedding); the server closes it when it closes. Default: opened from redis or dataDir. */
  store?: EventStore;
  /** Keep the events on a Redis Stream shared by every server given the same URL and key, instead of SQLite in dataDir. Default: none (SQLite). */
  redis?: RedisServerOptions;
  /** Default: stderr with an ISO timestamp, through a LineLog (never blocks serving; drops and counts lines when stderr is stuck). */
  log?: (line: string) => void;
  /** Default false: an existing herald.db that is empty, not SQLite or not Herald's stops the start with an error.
   * true: it is moved aside (herald.db.broken-<time>) and a new, empty log is started. */
  newLog?: boolean;
  /** How long publishes wait for a log locked by another program before 503, default 1000 (see PublishQueue). */
  storeWaitMs?: number;
  /** Timeouts and the cap on connections that are not streams (server/connections.ts); the defaults suit a public port. */
  connections?: ConnectionLimits;
  /** Bytes held for slow readers, all streams and /history answers together, before the ones holding the most are cut; default 64 MiB. */
  maxReaderBytes?: number;
  /** The most a /history page carries past its first event, default 256 KiB (then `more: true`). */
  maxHistoryPageBytes?: number;
  /** Reader work (replay and /history pages) per turn of the event loop, default 4 ms (see ReadTurns). */
  readTurnBudgetMs?: number;
  /** Streams the live fan-out writes to per turn of the event loop (publishes are answered between turns), default 250 (see Hub). */
  fanOutStreamsPerTurn?: number;
}

export interface RedisServerOptions {
  /** redis://[[user]:password@]host[:port][/db], rediss://… (TLS) or redis+sentinel://host:26379[,host…]/primary[/db]. */
  url: string;
  /** The stream's key, default 'herald:events'; the servers of one feed use the same. */
  key?: string;
  /** Replicas that must confirm each append (Redis WAIT) before the 201, default 0. */
  waitReplicas?: number;
  /** How long WAIT may take before the publish gets 503, default 1000. */
  waitTimeoutMs?: number;
  /** The reader's XREAD BLOCK, default 1000 (tests shorten it). */
  readBlockMs?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Ends streams (clients reconnect), closes connections, closes the log. */
  close(): Promise<void>;
  /** Live fan-out numbers (streams, cut-off subscribers, largest backlog seen), for tests and benchmarks. */
  stats(): HubStats & {
    lastId: string;
    batches: number;
    largestBatch: number;
    storeWaits: number;
    otherConnections: number;
    evicted: number;
    dropped: number;
    readTurns: number;
    readPieces: number;
  };
}

/** The largest body a request's route takes: CI providers' webhooks are far larger than events. */
function bodyLimitOf(req: http.IncomingMessage): number {
  return req.url?.startsWith('/hooks/') ? MAX_HOOK_BODY_BYTES : LIMITS.bodyBytes;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  // Never process.stderr: a stopped terminal or an unread pipe would stop the server with it.
  const log = options.log ?? new LineLog().write;
  const tokenError = options.token === undefined ? undefined : tokenProblem(options.token);
  if (tokenError) throw new Error(`${tokenError}: give a token of visible characters, or none to run without one.`);
  const host = options.host ?? '127.0.0.1';
  const dataDir = options.dataDir ?? defaultDataDir();
  const store = await openStore(options, dataDir, log);
  const readers = new ReaderMemory(options.maxReaderBytes ?? DEFAULT_MAX_READER_BYTES);
  const turns = new ReadTurns(options.readTurnBudgetMs !== undefined ? { turnBudgetMs: options.readTurnBudgetMs } : {});
  const hub = new Hub({
    readers,
    maxBacklogBytes: Math.max(64 * 1024, options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES),
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    ...(options.fanOutStreamsPerTurn !== undefined ? { fanOutStreamsPerTurn: options.fanOutStreamsPerTurn } : {}),
  });
  followStore(store, hub, log);
  const queue = new PublishQueue(store, options.storeWaitMs !== undefined ? { storeWaitMs: options.storeWaitMs } : {});
  // The server first, the app once the guard has fitted the stream limit to the open-file limit.
  let app: ReturnType<typeof createApp> | undefined;
  const server = createServer({ connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS }, (req, res) => {
    if (guard.refuseDeclaredBody(req, res)) return;
    app!(req, res);
  });
  const guard = new ConnectionGuard(server, {
    ...options.connections,
    maxStreams: options.maxStreams ?? 10_000,
    maxBodyBytes: bodyLimitOf,
    log,
  });
  try {
    app = createApp({
      store,
      hub,
      queue,
      hosts: new HostPolicy(host, options.allowedHosts ?? []),
      token: options.token,
      hooks: {
        ...(options.githubSecret !== undefined ? { githubSecret: options.githubSecret } : {}),
        ...(options.gitlabToken !== undefined ? { gitlabToken: options.gitlabToken } : {}),
      },
      origins: new OriginPolicy(options.allowedOrigins ?? []),
      rate: publishLimit(store, options.publishRate ?? DEFAULT_PUBLISH_RATE),
      maxStreams: guard.maxStreams,
      connections: guard,
      ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
      turns,
      readers,
      maxHistoryPageBytes: options.maxHistoryPageBytes ?? DEFAULT_MAX_HISTORY_PAGE_BYTES,
      retryMs: options.retryMs ?? 3000,
      stallTimeoutMs: options.stallTimeoutMs ?? 10_000,
      webRoot: options.webRoot === undefined ? defaultWebRoot() : options.webRoot,
      version: packageVersion(),
      startedAt: Date.now(),
      log,
    });
  } catch (error) {
    await store.close();
    throw error;
  }

  // Idle keep-alive sockets must not hold close() up; streams are ended explicitly.
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port ?? DEFAULT_PORT, host, reusePort: options.reusePort ?? false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new Error(`Port ${options.port ?? DEFAULT_PORT} on ${host} is in use: stop the other server or pick another with --port.`, {
        cause: error,
      });
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const hooks = [
    options.githubSecret !== undefined ? 'POST /hooks/github' : '',
    options.gitlabToken !== undefined ? 'POST /hooks/gitlab' : '',
  ].filter(Boolean);
  log(
    `listening on ${url} (data in ${store.where}${options.token ? ', token required' : ''}${hooks.length > 0 ? `; CI hooks: ${hooks.join(', ')}` : ''})`,
  );
  store.afterListen?.();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    stats: () => ({
      ...hub.stats(),
      lastId: String(store.followedId),
      batches: queue.stats.batches,
      largestBatch: queue.stats.largestBatch,
      storeWaits: queue.stats.storeWaits,
      ...guard.stats(),
      readTurns: turns.stats().turns,
      readPieces: turns.stats().pieces,
    }),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const answered = queue.close();
        server.closeIdleConnections();
        // Let the final chunk of each stream reach its client (a clean end, so it reconnects), then drop whatever is left.
        await hub.endAll();
        server.closeAllConnections();
        await stopped;
        await answered;
        await store.close();
        log('stopped: streams ended, log closed');
      })();
      return closing;
    },
  };
}

/** SQLite in the data directory (the default), or the Redis Stream named by options.redis. */
async function openStore(options: ServerOptions, dataDir: string, log: (line: string) => void): Promise<EventStore> {
  if (options.store) return options.store;
  if (!options.redis)
    return new SqliteStore({
      dataDir,
      retention: options.retention ?? {},
      fsync: options.fsync ?? false,
      newLog: options.newLog ?? false,
      log,
    });
  const redis = options.redis;
  // Loaded only when asked for: a SQLite server (the desktop app's, `herald serve` by default)
  // does not pay for ioredis at start-up.
  const { RedisStore } = await import('./redis-store.ts');
  return RedisStore.open({
    url: redis.url,
    ...(redis.key !== undefined ? { key: redis.key } : {}),
    ...(redis.waitReplicas !== undefined ? { waitReplicas: redis.waitReplicas } : {}),
    ...(redis.waitTimeoutMs !== undefined ? { waitTimeoutMs: redis.waitTimeoutMs } : {}),
    ...(redis.readBlockMs !== undefined ? { readBlockMs: redis.readBlockMs } : {}),
    retention: options.retention ?? {},
    log,
  });
}

/**
 * [issue 12] Limits that must hold for the whole feed are kept in Redis when Redis is in use: a
 * client's publish rate is one bucket whichever server it reaches. (Limits per server, such as
 * maxStreams, stay in each process.)
 */
function publishLimit(store: EventStore, rate: { capacity: number; refillPerSecond: number }): PublishLimit {
  if (isRedisStore(store))
    return new SharedPublishRate(rate, (client, capacity, refill) => store.takePublishToken(client, capacity, refill));
  return new PublishRate(rate);
}

function isRedisStore(store: EventStore): store is RedisStore {
  return store.kind === 'redis';
}

/**
 * Hands what the store stores to the hub, once each, in id order, in the step that stored it (the
 * hub writes to the streams later, after the publishers are answered: see server/hub.ts). A
 * fan-out that throws loses nothing: the event is stored, and a subscriber that missed it gets it
 * when it next resumes.
 */
function followStore(store: EventStore, hub: Hub, log: (line: string) => void): void {
  hub.publishedId = store.followedId;
  store.follow((events) => {
    try {
      hub.publish(events);
    } catch (error) {
      log(`fan-out failed: ${describeError(error)}`);
    }
  });
  // A new epoch (a Redis stream deleted and created again): every cursor our streams hold is
  // from the old log. They end; their clients come back with their cursor and get a reset.
  store.onReset((epoch) => {
    log(`the event log was replaced (new epoch ${epoch}): ending every stream so that clients start over`);
    hub.publishedId = store.followedId;
    void hub.endAll();
  });
}

/** For `herald serve` and the utility process: close gracefully on SIGINT/SIGTERM, then exit. */
export function closeOnSignals(running: RunningServer, options: { exit?: (code: number) => void } = {}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onSignal = (signal: NodeJS.Signals) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    void signal;
    running.close().then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
