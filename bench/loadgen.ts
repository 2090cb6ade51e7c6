// The load generator: a separate process holding thousands of raw SSE subscriber sockets and the
// publishers, driven by the runner over stdin/stdout (protocol.ts). It publishes and reads the
// deliveries itself, so one monotonic clock (performance.now()) stamps both ends of every latency.
//
// No coordinated omission: an open-loop publish is due at start + i / rate, and its latencies (to
// each subscriber, and its acknowledgement) run from when it was due, not from when the generator
// got round to sending it. A generator that falls behind (its own pause, a busy pool) adds that
// delay to the figures instead of hiding it, and says how late it was (loadgenLateMaxMs).
//
// Subscribers are raw `net` sockets (the eventsource package would measure itself): a hand-written
// GET, the chunked transfer coding undone, SSE frames found by their blank line and the event's
// sequence number read from its `data:` line (`seq=<n>` in the body). Connections are spread over
// source addresses 127.0.0.2, 127.0.0.3, … so that ephemeral ports never run out.
//
// Usage: node bench/loadgen.ts '{"host":"127.0.0.1","port":1234,"streamPath":"/events","publishPath":"/events"}'
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveCommands } from './protocol.ts';
import { LatencyHistogram, type LatencySummary } from './stats.ts';
import { RawHttpConnection } from './http-raw.ts';

export interface LoadTarget {
  host: string;
  port: number;
  /** The SSE stream, e.g. /events (Herald, better-sse) or /connect (the seed server). */
  streamPath: string;
  /** Where a JSON event is POSTed, e.g. /events or /message. */
  publishPath: string;
}

export interface OpenArgs {
  count: number;
  /** Connections per loopback source address (default 5000). */
  perAddress?: number;
  /** Connects in flight at once (default 200). */
  concurrency?: number;
  timeoutMs?: number;
}

export interface BroadcastArgs {
  /** Events per second (open loop: sent on schedule whether or not earlier ones are done). */
  rate: number;
  count: number;
  /** Bytes of filler in each event's body, default 100. */
  padBytes?: number;
  /** How long to wait for the last deliveries after the last publish, default 5000 ms. */
  drainMs?: number;
}

/** What every timed run reports (Deliveries.counts and .end). */
export interface DeliveryCounts {
  subscribers: number;
  published: number;
  publishErrors: number;
  expected: number;
  delivered: number;
  /** Deliveries to healthy subscribers that never came within the drain time. */
  missing: number;
  /** From when each publish was due (open loop) or sent (closed loop) to each delivery. */
  latency: LatencySummary;
  /** From the same moment until the publish's answer was read. */
  ack: LatencySummary;
  durationMs: number;
  loadgenCpuMs: number;
  /** The longest the load generator's own event loop was blocked during the run (ms). */
  loadgenLoopMaxMs: number;
}

export interface BroadcastResult extends DeliveryCounts {
  /** Per event: the time until the last healthy subscriber had it. Only complete events. */
  lastSubscriber: LatencySummary;
  deliveriesPerSecond: number;
  /** The most a publish was sent after it was due (the generator's own lateness, ms). */
  loadgenLateMaxMs: number;
}

export interface SustainedArgs {
  /** Events to publish, as fast as `concurrency` publishers get answers (closed loop). */
  count: number;
  /** Publishes in flight at once (default 4). */
  concurrency?: number;
  padBytes?: number;
  /** How long to wait for the last deliveries after the last answer (default 20000 ms). */
  drainMs?: number;
}

export interface SustainedResult extends DeliveryCounts {
  /** Events per second every subscriber received: count / (first publish → last delivery). */
  eventsPerSecond: number;
  /** Publishes answered per second (a server may answer faster than it delivers). */
  publishesPerSecond: number;
}

export interface PublishLoadArgs {
  concurrency: number;
  durationMs: number;
  /** Stop after this many publishes (default: no count limit). */
  count?: number;
  padBytes?: number;
}

export interface PublishLoadResult {
  completed: number;
  errors: number;
  statuses: Record<string, number>;
  perSecond: number;
  ack: LatencySummary;
  firstId: string | null;
  lastId: string | null;
  durationMs: number;
  loadgenCpuMs: number;
}

export interface ReplayArgs {
  lastEventId: string;
  expect: number;
  timeoutMs?: number;
}

export interface ReplayResult {
  frames: number;
  firstFrameMs: number | null;
  allFramesMs: number | null;
  status: number | null;
}

/** What the runner reads about subscribers: how many are open, how many the server ended. */
export interface SubscriberCounts {
  open: number;
  stalled: number;
  stalledEnded: number;
  endedByServer: number;
  failed: number;
}

let target: LoadTarget = JSON.parse(process.argv[2] ?? '{}') as LoadTarget;

// ---- subscriber sockets ---------------------------------------------------------------------

class Subscriber {
  readonly socket: net.Socket;
  status = 0;
  #head = '';
  #headDone = false;
  #chunked = false;
  #chunkLeft = 0;
  #crlfLeft = 0;
  #sizeLine = '';
  #carry = '';
  frames = 0;
  stalled = false;
  ended = false;
  failed = false;
  onFrame: ((sub: Subscriber, seq: number) => void) | null = null;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  onData(chunk: string): void {
    if (!this.#headDone) {
      this.#head += chunk;
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.#headDone = true;
      this.status = Number(this.#head.slice(9, 12));
      this.#chunked = /\r\ntransfer-encoding:\s*chunked/i.test(this.#head.slice(0, end));
      chunk = this.#head.slice(end + 4);
      this.#head = '';
    }
    if (this.#chunked) this.#unchunk(chunk);
    else this.#frame(chunk);
  }

  #unchunk(s: string): void {
    let i = 0;
    while (i < s.length) {
      if (this.#chunkLeft > 0) {
        const take = Math.min(this.#chunkLeft, s.length - i);
        this.#frame(take === s.length ? s : s.slice(i, i + take));
        i += take;
        this.#chunkLeft -= take;
        if (this.#chunkLeft === 0) this.#crlfLeft = 2;
      } else if (this.#crlfLeft > 0) {
        i++;
        this.#crlfLeft--;
      } else {
        const nl = s.indexOf('\n', i);
        if (nl < 0) {
          this.#sizeLine += s.slice(i);
          return;
        }
        const size = parseInt(this.#sizeLine + s.slice(i, nl), 16);
        this.#sizeLine = '';
        i = nl + 1;
        if (size > 0) this.#chunkLeft = size;
      }
    }
  }

  /** Finds whole SSE blocks (ending in a blank line); an event is a block with a `data` line. */
  #frame(s: string): void {
    const buf = this.#carry ? this.#carry + s : s;
    let pos = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', pos);
      if (end < 0) break;
      const d = buf.indexOf('data', pos);
      if (d >= 0 && d < end && (d === pos || buf.charCodeAt(d - 1) === 10)) {
        this.frames++;
        const s = buf.indexOf('seq=', d);
        let seq = -1;
        if (s >= 0 && s < end) {
          seq = 0;
          for (let k = s + 4; k < end; k++) {
            const c = buf.charCodeAt(k) - 48;
            if (c < 0 || c > 9) break;
            seq = seq * 10 + c;
          }
        }
        this.onFrame?.(this, seq);
      }
      pos = end + 2;
    }
    this.#carry = pos < buf.length ? buf.slice(pos) : '';
  }
}

const subscribers: Subscriber[] = [];
let now = 0; // performance.now() at the start of the current socket read: one stamp per read
let nextSeq = 1;

function sourceAddress(index: number, perAddress: number): string {
  const n = 2 + Math.floor(index / perAddress); // 127.0.0.2 upward; .1 is left to publishers
  return `127.0.${Math.floor(n / 256)}.${n % 256}`;
}

function openOne(index: number, perAddress: number, onSettled: (ok: boolean) => void): Subscriber {
  const socket = net.connect({ host: target.host, port: target.port, localAddress: sourceAddress(index, perAddress), noDelay: true });
  const sub = new Subscriber(socket);
  socket.setEncoding('latin1');
  let settled = false;
  const settle = (ok: boolean) => {
    if (!settled) {
      settled = true;
      onSettled(ok);
    }
  };
  socket.on('connect', () => {
    socket.write(
      `GET ${target.streamPath} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`,
    );
    settle(true);
  });
  socket.on('data', (chunk: string) => {
    now = performance.now();
    sub.onData(chunk);
  });
  socket.on('error', () => {
    if (!settled) sub.failed = true;
    settle(false);
  });
  socket.on('close', () => {
    sub.ended = true;
    settle(false);
  });
  return sub;
}

async function open(args: OpenArgs): Promise<{ opened: number; failed: number; ms: number; addresses: number }> {
  const perAddress = args.perAddress ?? 5000;
  const concurrency = args.concurrency ?? 200;
  const started = performance.now();
  const deadline = started + (args.timeoutMs ?? 60_000);
  let inFlight = 0;
  let opened = 0;
  let failed = 0;
  const base = subscribers.length;
  await new Promise<void>((resolve) => {
    let next = 0;
    const pump = () => {
      while (inFlight < concurrency && next < args.count && performance.now() < deadline) {
        inFlight++;
        const sub = openOne(base + next++, perAddress, (ok) => {
          inFlight--;
          if (ok) opened++;
          else failed++;
          if (opened + failed === args.count || (inFlight === 0 && performance.now() >= deadline)) resolve();
          else pump();
        });
        subscribers.push(sub);
      }
      if (inFlight === 0) resolve();
    };
    pump();
  });
  return { opened, failed, ms: performance.now() - started, addresses: Math.ceil((base + args.count) / perAddress) };
}

function liveSubscribers(): Subscriber[] {
  return subscribers.filter((s) => !s.ended && !s.failed);
}

function counts(): SubscriberCounts {
  let open = 0,
    stalled = 0,
    stalledEnded = 0,
    endedByServer = 0,
    failed = 0;
  for (const s of subscribers) {
    if (s.failed) failed++;
    else if (s.ended) endedByServer++;
    else open++;
    if (s.stalled) {
      stalled++;
      if (s.ended) stalledEnded++;
    }
  }
  return { open, stalled, stalledEnded, endedByServer, failed };
}

// ---- publishing -----------------------------------------------------------------------------

function eventBody(seq: number, padBytes: number): string {
  // `seq=` leads the body so a subscriber finds it without parsing JSON.
  return JSON.stringify({ title: 'bench', body: `seq=${seq} ${'x'.repeat(padBytes)}` });
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

class PublisherPool {
  readonly #idle: RawHttpConnection[] = [];
  readonly #waiting: ((c: RawHttpConnection) => void)[] = [];
  readonly #all: RawHttpConnection[] = [];

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const c = new RawHttpConnection({ host: target.host, port: target.port, localAddress: '127.0.0.1' });
      this.#all.push(c);
      this.#idle.push(c);
    }
  }

  /** Resolves with the answer and when it was read (performance.now()); waits for a free connection first. */
  async publish(body: string): Promise<{ status: number; body: string; ms: number; at: number }> {
    const conn = this.#idle.pop() ?? (await new Promise<RawHttpConnection>((resolve) => this.#waiting.push(resolve)));
    try {
      return { ...(await conn.request('POST', target.publishPath, body, JSON_HEADERS)), at: performance.now() };
    } finally {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(conn);
      else this.#idle.push(conn);
    }
  }

  close(): void {
    for (const c of this.#all) c.close();
  }
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** How often the warm-up publishes again while some subscriber has not yet had one of its events. */
const WARMUP_REPEAT_MS = 500;

async function warmup(args: { timeoutMs?: number }): Promise<{ confirmed: number; of: number; ms: number; published: number }> {
  // An event that every open subscriber must receive: proves the server has registered each
  // stream (a TCP connect alone does not), whatever the server sends or withholds before it. A
  // server still accepting the last connections when the first warm-up event goes out registers
  // them after it: they miss that one and get the next (one every WARMUP_REPEAT_MS until every
  // subscriber has had one), so no stream enters the measurement unregistered.
  const live = liveSubscribers().filter((s) => !s.stalled);
  const firstSeq = nextSeq;
  const got = new Set<Subscriber>();
  const started = performance.now();
  const pool = new PublisherPool(1);
  let published = 0;
  try {
    await new Promise<void>((resolve) => {
      let repeat: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        clearTimeout(repeat);
        resolve();
      };
      const timer = setTimeout(finish, args.timeoutMs ?? 30_000);
      const check = () => {
        if (got.size >= live.length) finish();
      };
      const publishOne = () => {
        published++;
        pool.publish(eventBody(nextSeq++, 10)).then(check, () => {});
        repeat = setTimeout(publishOne, WARMUP_REPEAT_MS);
      };
      for (const s of live) {
        s.onFrame = (sub, n) => {
          if (n >= firstSeq) {
            got.add(sub);
            check();
          }
        };
      }
      publishOne();
      check();
    });
  } finally {
    pool.close();
    for (const s of live) s.onFrame = null;
  }
  return { confirmed: got.size, of: live.length, ms: performance.now() - started, published };
}

/**
 * Counts the deliveries of events firstSeq … firstSeq + count - 1 to the given subscribers, each
 * latency from `from[i]` (when event i was due, or sent), and per event the latest of them; and
 * the publishers' answers, each acknowledgement from the same `from[i]`.
 */
class Deliveries {
  readonly firstSeq = nextSeq;
  readonly from: Float64Array;
  readonly lastAt: Float64Array;
  readonly received: Uint32Array;
  readonly latency = new LatencyHistogram();
  readonly expected: number;
  readonly ack = new LatencyHistogram();
  delivered = 0;
  lastDeliveryAt = 0;
  published = 0;
  publishErrors = 0;
  #allDone: (() => void) | null = null;
  readonly #subscribers: Subscriber[];

  readonly count: number;
  /** The publishers' connections. */
  readonly pool: PublisherPool;
  readonly startedAt: number;
  readonly #watch = generatorWatch();

  constructor(subscribers: Subscriber[], count: number, connections: number) {
    this.count = count;
    this.pool = new PublisherPool(connections);
    nextSeq += count;
    this.#subscribers = subscribers;
    this.from = new Float64Array(count).fill(NaN);
    this.lastAt = new Float64Array(count);
    this.received = new Uint32Array(count);
    this.expected = subscribers.length * count;
    for (const s of subscribers) s.onFrame = this.#onFrame;
    this.startedAt = performance.now();
  }

  readonly #onFrame = (_sub: Subscriber, seq: number): void => {
    const i = seq - this.firstSeq;
    if (i < 0 || i >= this.count) return; // a heartbeat-like or earlier event
    const ms = now - this.from[i]!;
    this.latency.record(ms);
    if (ms > this.lastAt[i]!) this.lastAt[i] = ms;
    this.received[i]!++;
    this.delivered++;
    this.lastDeliveryAt = now;
    if (this.delivered === this.expected) this.#allDone?.();
  };

  /** Publishes event i and counts its answer. */
  async publish(i: number, padBytes: number | undefined): Promise<void> {
    try {
      const r = await this.pool.publish(eventBody(this.firstSeq + i, padBytes ?? 100));
      if (r.status >= 200 && r.status < 300) {
        this.published++;
        this.ack.record(r.at - this.from[i]!);
      } else this.publishErrors++;
    } catch {
      this.publishErrors++;
    }
  }

  /** The figures every run reports. */
  counts(): Omit<DeliveryCounts, 'durationMs' | 'loadgenCpuMs' | 'loadgenLoopMaxMs'> {
    return {
      subscribers: this.#subscribers.length,
      published: this.published,
      publishErrors: this.publishErrors,
      expected: this.expected,
      delivered: this.delivered,
      missing: this.expected - this.delivered,
      latency: this.latency.summary(),
      ack: this.ack.summary(),
    };
  }

  /** Resolves once every expected delivery came, or after drainMs. */
  async drain(drainMs: number): Promise<void> {
    if (this.delivered >= this.expected) return;
    await new Promise<void>((resolve) => {
      this.#allDone = resolve;
      setTimeout(resolve, drainMs);
    });
  }

  /** Per event every subscriber had: the time until the last of them had it. */
  lastSubscriber(): LatencySummary {
    const last = new LatencyHistogram();
    for (let i = 0; i < this.count; i++)
      if (this.received[i] === this.#subscribers.length && this.#subscribers.length > 0) last.record(this.lastAt[i]!);
    return last.summary();
  }

  /** Stops counting and publishing; the generator's own CPU and longest pause, and the time from the start to the last delivery. */
  end(): { loadgenCpuMs: number; loadgenLoopMaxMs: number; spanMs: number } {
    const generator = this.#watch.stop();
    this.pool.close();
    for (const s of this.#subscribers) s.onFrame = null;
    return { ...generator, spanMs: (this.lastDeliveryAt || performance.now()) - this.startedAt };
  }
}

/** What every timed run measures of the generator itself: its CPU and its longest event-loop pause. */
function generatorWatch(): { stop(): { loadgenCpuMs: number; loadgenLoopMaxMs: number } } {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu = process.cpuUsage();
  return {
    stop: () => {
      loop.disable();
      return { loadgenCpuMs: cpuMs(cpu), loadgenLoopMaxMs: loop.max / 1e6 };
    },
  };
}

async function broadcast(args: BroadcastArgs): Promise<BroadcastResult> {
  const d = new Deliveries(
    liveSubscribers().filter((s) => !s.stalled),
    args.count,
    4,
  );
  const started = d.startedAt;
  const interval = 1000 / args.rate;
  const publishes: Promise<void>[] = [];
  let lateMax = 0;
  let ended: ReturnType<Deliveries['end']>;
  try {
    for (let i = 0; i < args.count; i++) {
      const due = started + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      d.from[i] = due;
      lateMax = Math.max(lateMax, performance.now() - due);
      publishes.push(d.publish(i, args.padBytes));
    }
    await Promise.all(publishes);
    await d.drain(args.drainMs ?? 5000);
  } finally {
    ended = d.end();
  }
  const { spanMs, ...generator } = ended;
  return {
    ...d.counts(),
    lastSubscriber: d.lastSubscriber(),
    deliveriesPerSecond: spanMs > 0 ? (d.delivered / spanMs) * 1000 : 0,
    loadgenLateMaxMs: lateMax,
    durationMs: performance.now() - started,
    ...generator,
  };
}

/**
 * The sustained rate: `count` events published as fast as the publishers are answered, to every
 * healthy subscriber; the rate is how soon the last subscriber has the last event. Nothing may be
 * missing at the end (a server that is behind may catch a subscriber up from its log: that counts).
 */
async function sustained(args: SustainedArgs): Promise<SustainedResult> {
  const count = args.count;
  const concurrency = args.concurrency ?? 4;
  const d = new Deliveries(
    liveSubscribers().filter((s) => !s.stalled),
    count,
    concurrency,
  );
  const started = d.startedAt;
  let next = 0;
  let answeredAt = started;
  let ended: ReturnType<Deliveries['end']>;
  try {
    const worker = async () => {
      while (next < count) {
        const i = next++;
        d.from[i] = performance.now();
        await d.publish(i, args.padBytes);
      }
      answeredAt = performance.now();
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await d.drain(args.drainMs ?? 20_000);
  } finally {
    ended = d.end();
  }
  const { spanMs, ...generator } = ended;
  return {
    ...d.counts(),
    eventsPerSecond: d.delivered === d.expected && spanMs > 0 ? (count / spanMs) * 1000 : 0,
    publishesPerSecond: (d.published / Math.max(1, answeredAt - started)) * 1000,
    durationMs: performance.now() - started,
    ...generator,
  };
}

async function publishLoad(args: PublishLoadArgs): Promise<PublishLoadResult> {
  const ack = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  let completed = 0;
  let errors = 0;
  let issued = 0;
  let firstId: bigint | null = null;
  let lastId: bigint | null = null;
  const limit = args.count ?? Infinity;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + args.durationMs;
  const connections = Array.from(
    { length: args.concurrency },
    () => new RawHttpConnection({ host: target.host, port: target.port, localAddress: '127.0.0.1' }),
  );
  const worker = async (conn: RawHttpConnection) => {
    while (issued < limit && performance.now() < deadline) {
      const seq = nextSeq++;
      issued++;
      try {
        const r = await conn.request('POST', target.publishPath, eventBody(seq, args.padBytes ?? 100), JSON_HEADERS);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status >= 200 && r.status < 300) {
          completed++;
          ack.record(r.ms);
          const m = /"id":"(\d+)"/.exec(r.body);
          if (m) {
            const id = BigInt(m[1]!);
            if (firstId === null || id < firstId) firstId = id;
            if (lastId === null || id > lastId) lastId = id;
          }
        } else errors++;
      } catch {
        errors++;
        statuses.error = (statuses.error ?? 0) + 1;
      }
    }
  };
  try {
    await Promise.all(connections.map(worker));
  } finally {
    for (const c of connections) c.close();
  }
  const durationMs = performance.now() - started;
  return {
    completed,
    errors,
    statuses,
    perSecond: (completed / durationMs) * 1000,
    ack: ack.summary(),
    firstId: firstId === null ? null : String(firstId),
    lastId: lastId === null ? null : String(lastId),
    durationMs,
    loadgenCpuMs: cpuMs(cpu),
  };
}

async function replay(args: ReplayArgs): Promise<ReplayResult> {
  const socket = net.connect({ host: target.host, port: target.port, localAddress: '127.0.0.1', noDelay: true });
  const sub = new Subscriber(socket);
  socket.setEncoding('latin1');
  let firstFrameMs: number | null = null;
  let allFramesMs: number | null = null;
  let started = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, args.timeoutMs ?? 30_000);
      sub.onFrame = () => {
        const ms = performance.now() - started;
        firstFrameMs ??= ms;
        if (sub.frames >= args.expect) {
          allFramesMs = ms;
          clearTimeout(timer);
          resolve();
        }
      };
      socket.on('data', (chunk: string) => sub.onData(chunk));
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.on('connect', () => {
        started = performance.now();
        socket.write(
          `GET ${target.streamPath} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\nLast-Event-ID: ${args.lastEventId}\r\n\r\n`,
        );
      });
    });
  } finally {
    socket.destroy();
  }
  return { frames: sub.frames, firstFrameMs, allFramesMs, status: sub.status || null };
}

/** Stops reading on `count` healthy subscribers (the last ones opened): their kernel buffers fill
 * and the server's writes to them back up. */
function stall(args: { count: number }): SubscriberCounts {
  const live = liveSubscribers().filter((s) => !s.stalled);
  for (const s of live.slice(live.length - args.count)) {
    s.stalled = true;
    s.socket.pause();
  }
  return counts();
}

/** Reads the stalled subscribers again, so one the server has ended sees its end of stream. */
async function unstall(args: { waitMs?: number }): Promise<SubscriberCounts> {
  for (const s of subscribers) if (s.stalled) s.socket.resume();
  await new Promise((resolve) => setTimeout(resolve, args.waitMs ?? 1000));
  return counts();
}

/** Closes the newest subscribers until `keep` remain (a smaller scenario without reconnecting). */
async function closeTo(args: { keep: number }): Promise<SubscriberCounts> {
  for (const s of subscribers.splice(args.keep)) s.socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  return counts();
}

async function closeAll(): Promise<SubscriberCounts> {
  const before = counts();
  for (const s of subscribers) s.socket.destroy();
  subscribers.length = 0;
  await new Promise((resolve) => setTimeout(resolve, 200));
  return before;
}

serveCommands(
  { pid: process.pid },
  {
    target: (t: LoadTarget) => {
      target = t;
      return target;
    },
    open,
    warmup,
    broadcast,
    sustained,
    publishLoad,
    replay,
    stall,
    unstall,
    counts,
    closeTo,
    closeAll,
    usage: () => ({ cpu: process.cpuUsage(), memory: process.memoryUsage() }),
  },
  async () => {
    for (const s of subscribers) s.socket.destroy();
  },
);
