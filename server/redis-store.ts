// RedisStore: the event log on a Redis Stream that any number of Herald servers share (`herald
// serve --redis URL`): one feed, whichever server a client publishes to or subscribes on. Node.
//
// Two connections per server, never one per subscriber: `commands` runs the Lua scripts
// (server/redis-lua.ts: append, read, state), and `reader` holds one blocking XREAD that brings
// every new entry, whoever stored it, to this server's followers (the hub), once each, in id
// order. That reader is the only way events reach the hub, so an event another server stored and
// one this server stored reach streams in the same order as their ids.
//
// Redis unreachable: both connections reconnect on their own with backoff (ioredis); commands
// fail at once instead of queueing (a publish gets 503 store_unavailable, never a 201 for what
// was not stored), and nothing is sent twice after a reconnect (a resent append would store
// twice). The reader waits and continues from the last id it handed on, so open streams get
// what was stored meanwhile, once. The server never exits because Redis went away.
import { Redis, type RedisOptions } from 'ioredis';
import type { HeraldEvent } from '../events/event.ts';
import { randomBytes } from './random.ts';
import { StoreUnavailableError } from './errors.ts';
import { DEFAULT_RETENTION, type RetentionOptions } from './log.ts';
import { APPEND_SCRIPT, RATE_SCRIPT, READ_SCRIPT, STATE_SCRIPT } from './redis-lua.ts';
import { parseRedisUrl, type RedisTarget } from './redis-url.ts';
import {
  gapUnder,
  planResumeFrom,
  type AppendEntry,
  type AppendOutcome,
  type EventStore,
  type FollowListener,
  type ReadPage,
  type ResumeAnswer,
  type StoreHealth,
  type StoredEvent,
} from './store.ts';
import { describeError } from '../events/errors.ts';

export const DEFAULT_REDIS_KEY = 'herald:events';
/** How long the reader's XREAD blocks before it checks the feed's epoch (and applies age retention). */
export const DEFAULT_READ_BLOCK_MS = 1000;
/** A command with no answer for this long counts as Redis unreachable. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
/** How long startup waits for Redis before giving up. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The longest wait between reconnection attempts. */
export const MAX_RECONNECT_DELAY_MS = 5000;
/** Entries the reader takes per XREAD. */
const READ_COUNT = 1000;
/** Seconds a 503 tells a publisher to wait. */
const RETRY_AFTER_SECONDS = 2;
/** Redis answers that mean "not now" (loading, failing over, out of memory, disk failing), not "wrong". */
const UNAVAILABLE_REPLIES = /^(LOADING|READONLY|OOM|MISCONF|BUSY|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|UNBLOCKED)\b/;

export interface RedisStoreOptions {
  /** redis://, rediss:// or redis+sentinel:// (see server/redis-url.ts). */
  url: string;
  /** The stream's key; the other keys are named after it. Default DEFAULT_REDIS_KEY. */
  key?: string;
  /** Default DEFAULT_RETENTION. Count retention is approximate (XADD MAXLEN ~): at least maxEvents are kept, and a little more. */
  retention?: RetentionOptions;
  /** Replicas that must confirm each append (WAIT) before a publish is answered; default 0. */
  waitReplicas?: number;
  /** How long WAIT may take, default 1000 ms; fewer confirmations than waitReplicas answer 503. */
  waitTimeoutMs?: number;
  /** Default DEFAULT_READ_BLOCK_MS. */
  readBlockMs?: number;
  /** Default DEFAULT_COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
  /** Default DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Clock for event times and age retention (tests). */
  now?: () => number;
  /** What the store does on its own (lost and regained Redis, a new epoch). Default: nothing. */
  log?: (line: string) => void;
}

interface Scripts {
  heraldAppend(...args: Array<string | number>): Promise<[string, Array<[string, string?, string?, string?, string?]>]>;
  heraldRead(...args: Array<string | number>): Promise<[string, string, RawEntry[]]>;
  heraldState(...args: Array<string | number>): Promise<[string, string, string, number, number]>;
  heraldRate(...args: Array<string | number>): Promise<[number, number]>;
}
type RawEntry = [string, string[]];
type Connection = Redis & Scripts;

interface FeedState {
  epoch: string;
  lastId: number;
  oldestId: number | undefined;
  count: number;
}

export class RedisStore implements EventStore {
  readonly kind = 'redis' as const;
  readonly where: string;
  readonly target: RedisTarget;
  #epoch = '';
  #followedId = 0;
  readonly #keys: [string, string, string, string];
  readonly #retention: Required<RetentionOptions>;
  readonly #options: RedisStoreOptions;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #commands: Connection;
  readonly #reader: Connection;
  readonly #followers: FollowListener[] = [];
  readonly #resetListeners: Array<(epoch: string) => void> = [];
  #closed = false;
  #readLoop: Promise<void> | undefined;
  /** Why Redis is unreachable, while it is. */
  #down: string | undefined = 'not connected yet';
  /** The last connection error either connection saw (ioredis's connect() says only "Connection is closed"). */
  #lastProblem: string | undefined;
  /** Startup is done: from now on, losing Redis is said in the log (at startup it is the startup error). */
  #started = false;

  /** Connects, learns the feed's epoch and newest id, and starts the reader. Throws a startup error that names the problem. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    try {
      await store.#start();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  private constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.target = parseRedisUrl(options.url);
    const key = options.key ?? DEFAULT_REDIS_KEY;
    if (key.trim() === '') throw new Error('The Redis key is empty: give a name such as herald:events, or leave --redis-key out.');
    this.#keys = [key, `${key}:meta`, `${key}:claims`, `${key}:claim-ids`];
    this.where = `${this.target.shown} key ${key}`;
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#commands = this.#connect('commands', { commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS });
    // No command timeout on the reader: its XREAD blocks for readBlockMs by design.
    this.#reader = this.#connect('reader', {});
  }

  get epoch(): string {
    return this.#epoch;
  }

  get followedId(): number {
    return this.#followedId;
  }

  async appendBatch(entries: readonly AppendEntry[]): Promise<AppendOutcome[]> {
    if (entries.length === 0) return [];
    const timeMs = this.#now();
    const time = new Date(timeMs).toISOString();
    const args: Array<string | number> = [...this.#keys, newEpoch(), timeMs, this.#retention.maxEvents, this.#minTimeMs(), entries.length];
    for (const { input, claim } of entries) {
      const { type, topic, ...rest } = input;
      // The event's JSON in the field order every store uses ({ id, type, topic, time, ... }),
      // without its opening brace: the script puts the id it assigns in front.
      const tail = JSON.stringify({ type, topic, time, ...rest } satisfies Omit<HeraldEvent, 'id'>).slice(1);
      args.push(type, topic, tail, claim?.key ?? '', claim?.bodyHash ?? '');
    }
    const [epoch, raw] = await this.#call(() => this.#commands.heraldAppend(...args));
    this.#noticeEpoch(epoch);
    const outcomes = raw.map(([kind, id, type, topic, json]): AppendOutcome => {
      if (kind === 'conflict') return { kind: 'conflict', key: '' };
      return { kind: kind === 'repeat' ? 'repeat' : 'stored', event: { id: Number(id), type: type!, topic: topic!, json: json! } };
    });
    // The conflict's key, which the script does not echo.
    outcomes.forEach((outcome, i) => {
      if (outcome.kind === 'conflict') outcome.key = entries[i]!.claim!.key;
    });
    await this.#waitForReplicas();
    return outcomes;
  }

  async readAfter(afterId: number, options: { topics?: readonly string[] | null; limit: number }): Promise<ReadPage> {
    const [epoch, seq, raw] = await this.#call(() => this.#commands.heraldRead(...this.#keys, newEpoch(), afterId, options.limit));
    this.#noticeEpoch(epoch);
    const topics = options.topics && options.topics.length > 0 ? new Set(options.topics) : null;
    const events: StoredEvent[] = [];
    for (const entry of raw) {
      const event = storedEvent(entry);
      if (!topics || topics.has(event.topic)) events.push(event);
    }
    const full = raw.length >= options.limit;
    const lastRead = raw.length > 0 ? entryId(raw.at(-1)![0]) : afterId;
    // Ids are one contiguous run: a first entry past afterId + 1 (or none, with newer ids
    // assigned) means retention trimmed what lay between.
    const gap = gapUnder(afterId, { lastId: Number(seq), oldestId: raw.length > 0 ? entryId(raw[0]![0]) : undefined });
    // Not full: nothing newer was stored when the script ran than the counter it read with it.
    return { events, throughId: full ? lastRead : Math.max(afterId, lastRead, Number(seq)), full, ...(gap ? { gap } : {}) };
  }

  async readLast(count: number, topics?: readonly string[] | null): Promise<StoredEvent[]> {
    const wanted = topics && topics.length > 0 ? new Set(topics) : null;
    const found: StoredEvent[] = [];
    let before = '+';
    // Newest first, a page at a time, until enough match or the stream's start.
    while (found.length < count) {
      const page = 500;
      const raw = (await this.#call(() => this.#commands.xrevrange(this.#keys[0], before, '-', 'COUNT', page))) as RawEntry[];
      for (const entry of raw) {
        const event = storedEvent(entry);
        if (!wanted || wanted.has(event.topic)) found.push(event);
        if (found.length === count) break;
      }
      if (raw.length < page) break;
      before = `(${raw.at(-1)![0]}`;
    }
    return found.reverse();
  }

  async planResume(afterId: number, epoch?: string): Promise<ResumeAnswer> {
    const state = await this.#state();
    return {
      plan: planResumeFrom(afterId, epoch, { epoch: state.epoch, lastId: state.lastId, oldestId: state.oldestId }),
      epoch: state.epoch,
      lastId: state.lastId,
    };
  }

  follow(listener: FollowListener): void {
    this.#followers.push(listener);
  }

  onReset(listener: (epoch: string) => void): void {
    this.#resetListeners.push(listener);
  }

  async health(): Promise<StoreHealth> {
    const base = { kind: 'redis' as const, where: this.where, epoch: this.#epoch, lastId: String(this.#followedId) };
    if (this.#down !== undefined) return { ...base, up: false, error: this.#down };
    try {
      const state = await this.#state();
      return { ...base, up: true, storedEvents: state.count, lastId: String(state.lastId), epoch: state.epoch };
    } catch (error) {
      return { ...base, up: false, error: describeError(error) };
    }
  }

  /**
   * Takes one publish token from a client's bucket kept in Redis: the limit holds for the whole
   * feed, whichever server the client reaches. Returns 0 when taken, else the seconds to wait.
   */
  async takePublishToken(client: string, capacity: number, refillPerSecond: number): Promise<number> {
    const [taken, waitSeconds] = await this.#call(() =>
      this.#commands.heraldRate(`${this.#keys[0]}:rate:${client}`, capacity, refillPerSecond),
    );
    return taken === 1 ? 0 : Math.max(1, waitSeconds);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.disconnect();
    await this.#readLoop;
    try {
      await this.#commands.quit();
    } catch {
      this.#commands.disconnect();
    }
  }

  /** One connection, with Herald's rules: fail at once while disconnected, never resend, reconnect with backoff. */
  #connect(role: 'commands' | 'reader', extra: Partial<RedisOptions>): Connection {
    const target = this.target;
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      connectionName: `herald-${role}`,
      db: target.db,
      retryStrategy: (times) =>
        this.#closed ? null : Math.min(MAX_RECONNECT_DELAY_MS, 100 * 2 ** Math.min(times, 10)) + Math.floor(Math.random() * 100),
      // A replica promoted away from under us answers READONLY: reconnect (Sentinel names the new primary), never resend.
      reconnectOnError: (error) => error.message.startsWith('READONLY'),
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
      ...(target.sentinels
        ? {
            sentinels: target.sentinels,
            name: target.primaryName!,
            ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
          }
        : { host: target.host!, port: target.port! }),
      ...extra,
    };
    const connection = new Redis(options) as Connection;
    connection.defineCommand('heraldAppend', { numberOfKeys: 4, lua: APPEND_SCRIPT });
    connection.defineCommand('heraldRead', { numberOfKeys: 4, lua: READ_SCRIPT });
    connection.defineCommand('heraldState', { numberOfKeys: 4, lua: STATE_SCRIPT });
    connection.defineCommand('heraldRate', { numberOfKeys: 1, lua: RATE_SCRIPT });
    // The commands connection says whether the store is up (/health, the log); the reader's own
    // troubles show in its loop. Without an 'error' listener ioredis would print its own.
    connection.on('error', (error: Error) => {
      this.#lastProblem = connectionProblem(error);
      if (role === 'commands') this.#markDown(this.#lastProblem);
    });
    connection.on('close', () => {
      if (role === 'commands') this.#markDown('the connection to Redis closed');
    });
    connection.on('ready', () => {
      if (role !== 'commands' || this.#down === undefined) return;
      this.#down = undefined;
      if (this.#started) this.#log(`the event store (Redis at ${this.target.shown}) is back`);
    });
    return connection;
  }

  async #start(): Promise<void> {
    try {
      await Promise.all([this.#commands.connect(), this.#reader.connect()]);
    } catch (error) {
      throw new Error(
        `Cannot reach Redis at ${this.target.shown}: ${this.#lastProblem ?? connectionProblem(error)}. Check --redis (or HERALD_REDIS_URL) and that Redis is running there.`,
        { cause: error },
      );
    }
    let state: FeedState;
    try {
      state = await this.#state();
    } catch (error) {
      throw new Error(
        `Redis at ${this.target.shown} refused Herald's first read of ${this.#keys[0]}: ${describeError(error)}. Is that key used by something else? Pick another with --redis-key.`,
        { cause: error },
      );
    }
    this.#epoch = state.epoch;
    this.#followedId = state.lastId;
    await this.#warnWithoutPersistence();
    this.#started = true;
    this.#readLoop = this.#follow();
  }

  #markDown(reason: string): void {
    if (this.#closed || this.#down !== undefined) return;
    this.#down = reason;
    if (this.#started)
      this.#log(
        `the event store (Redis at ${this.target.shown}) cannot be reached: ${reason}; publishes get 503 until it is back, streams stay open`,
      );
  }

  /** The reader: one blocking XREAD at a time, from the last id handed on, for as long as the store is open. */
  async #follow(): Promise<void> {
    let failures = 0;
    let checkState = false;
    while (!this.#closed) {
      try {
        if (checkState) {
          // After a timeout or a reconnect: has the feed been replaced, or has Redis lost writes?
          await this.#state();
          checkState = false;
        }
        const reply = (await this.#reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          this.#options.readBlockMs ?? DEFAULT_READ_BLOCK_MS,
          'STREAMS',
          this.#keys[0],
          `${this.#followedId}-0`,
        )) as Array<[string, RawEntry[]]> | null;
        failures = 0;
        if (this.#closed) return;
        if (!reply) {
          checkState = true;
          continue;
        }
        this.#handOn(reply[0]![1]);
      } catch (error) {
        if (this.#closed) return;
        failures += 1;
        checkState = true;
        if (failures === 1 && !(error instanceof StoreUnavailableError))
          this.#log(
            `the event store's reader lost Redis: ${connectionProblem(error)}; it goes on from id ${this.#followedId} once Redis is back`,
          );
        await sleep(Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  /** Hands new entries to the followers, once each, in id order. An entry of another epoch means the feed was replaced. */
  #handOn(raw: RawEntry[]): void {
    const events: StoredEvent[] = [];
    for (const entry of raw) {
      const fields = fieldsOf(entry[1]);
      if (fields.e !== this.#epoch) {
        this.#noticeEpoch(fields.e ?? '');
        return;
      }
      const event = storedEvent(entry, fields);
      if (event.id > this.#followedId) events.push(event);
    }
    if (events.length === 0) return;
    this.#followedId = events.at(-1)!.id;
    for (const listener of this.#followers) listener(events);
  }

  async #state(): Promise<FeedState> {
    const [epoch, seq, oldest, count, rewound] = await this.#call(() =>
      this.#commands.heraldState(...this.#keys, newEpoch(), this.#minTimeMs(), this.#epoch, this.#followedId),
    );
    if (rewound > 0) {
      this.#log(
        `WARNING: Redis at ${this.target.shown} had lost the newest ${rewound} acknowledged event(s) (it restarted without them: is its persistence on?). ` +
          `Their ids are not handed out again. See "Redis persistence" in docs/deploy.md.`,
      );
    }
    this.#noticeEpoch(epoch);
    return { epoch, lastId: Number(seq), oldestId: oldest === '' ? undefined : entryId(oldest), count };
  }

  /** A new epoch seen in any answer: the feed this server followed is gone; start following the new one. */
  #noticeEpoch(epoch: string): void {
    if (epoch === this.#epoch || epoch === '' || this.#epoch === '') return;
    this.#log(`the feed's stream ${this.#keys[0]} was deleted or replaced: new epoch ${epoch} (was ${this.#epoch})`);
    this.#epoch = epoch;
    // From now on the reader hands on the new stream from its start (the streams open now were
    // all ended; new ones replay and go live over the same seam). Clients come back with a cursor
    // of the old epoch and get a reset.
    this.#followedId = 0;
    for (const listener of this.#resetListeners) listener(epoch);
  }

  async #waitForReplicas(): Promise<void> {
    const wanted = this.#options.waitReplicas ?? 0;
    if (wanted <= 0) return;
    const timeoutMs = this.#options.waitTimeoutMs ?? 1000;
    const confirmed = Number(await this.#call(() => this.#commands.wait(wanted, timeoutMs)));
    if (confirmed < wanted) {
      throw new StoreUnavailableError(
        `The event was stored on the Redis primary, but only ${confirmed} of the ${wanted} replicas --redis-wait asks for confirmed it within ${timeoutMs} ms. ` +
          'Publish again with the same Idempotency-Key to be sure it is kept once.',
        { transient: false, retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
  }

  #minTimeMs(): number {
    return this.#retention.maxAgeMs > 0 ? this.#now() - this.#retention.maxAgeMs : 0;
  }

  /** Runs a Redis call; a connection problem becomes a StoreUnavailableError (answered 503). */
  async #call<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closed)
      throw new StoreUnavailableError('The server is shutting down: try again once it is back.', {
        transient: false,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    try {
      return await run();
    } catch (error) {
      if (isUnavailable(error)) {
        const reason = connectionProblem(error);
        throw new StoreUnavailableError(
          `The event store (Redis at ${this.target.shown}) cannot be reached: ${reason}. Nothing was stored; try again shortly.`,
          {
            transient: false,
            retryAfterSeconds: RETRY_AFTER_SECONDS,
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async #warnWithoutPersistence(): Promise<void> {
    try {
      const reply = (await this.#commands.config('GET', 'appendonly')) as string[];
      if (reply[1] === 'no') {
        this.#log(
          `note: Redis at ${this.target.shown} runs without its append-only file: a 201 means "in Redis's memory", and a Redis crash may lose the newest events. See "Redis persistence" in docs/deploy.md.`,
        );
      }
    } catch {
      // Managed Redis services often refuse CONFIG: nothing to say then.
    }
  }
}

function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

function entryId(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function fieldsOf(list: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]!] = list[i + 1]!;
  return fields;
}

function storedEvent(entry: RawEntry, fields = fieldsOf(entry[1])): StoredEvent {
  return { id: entryId(entry[0]), type: fields.y ?? '', topic: fields.p ?? '', json: fields.j ?? '' };
}

/** True for errors that mean "Redis cannot be reached now" rather than "this request is wrong". */
function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLIES.test(error.message);
  return true;
}

/** A short reason for log lines and 503s, without ioredis's jargon where it has some. */
function connectionProblem(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused (is Redis running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(error.message)) return 'no answer in time';
  if (error.name === 'MaxRetriesPerRequestError' || /Stream isn't writeable|Connection is closed|enableOfflineQueue/i.test(error.message))
    return 'not connected (reconnecting)';
  if (/^(WRONGPASS|NOAUTH)/.test(error.message)) return `${error.message.split('\n')[0]} (check the password in the URL)`;
  return error.message.split('\n')[0]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
