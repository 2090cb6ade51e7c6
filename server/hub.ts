// Hub: live fan-out of stored events to every open stream.
//
// Publishers never wait for the fan-out. The store tells the hub of a commit in the commit's own
// synchronous step (publish(): it records publishedId, which the replay/live seam reads, and queues
// the events), and the publishers of the batch are answered in that same step's microtasks; the
// writes to the subscribers happen afterwards, in fan-out rounds: a round takes every committed
// event queued so far and visits each stream once, at most fanOutStreamsPerTurn streams per turn
// of the event loop, so a publish that arrives meanwhile is read, committed and answered between
// two turns instead of waiting behind thousands of socket writes. Why this cannot lose or repeat
// an event for a stream that opens, or comes back from overflow, while a batch commits: see
// "The seam, with deferred writes" at publish() below.
//
// One write per subscriber per round, not per event: each event is framed once (per wire
// flavour), the round's frames are joined once into one Buffer, and that same Buffer (or the part
// past a stream's lastId) is written to every subscriber that takes them all; a stream whose topic
// filter leaves some out gets one chunk of just the frames it matches. Writes go straight to the
// socket once the response head is out (the body is not chunked, see server/stream.ts): no cork,
// no nextTick, no HTTP bookkeeping per subscriber. Each subscriber's unsent bytes (what Node holds for its socket) never pass
// maxBacklogBytes: a live event that would take it past the bound is not written; the stream
// leaves live delivery instead ("overflow") and its owner catches it up from the log once the
// socket drains, or cuts it off if it does not drain in time (a client that stopped reading).
// Either way memory per subscriber is bounded and nothing is lost: the log has every event, and
// a cut-off client comes back with Last-Event-ID. All subscribers together are bounded too: every
// write is reported to the server's ReaderMemory, which cuts the ones holding the most when the
// total passes its bound (server/reader-memory.ts).
//
// One heartbeat timer serves every stream (a timer per stream woke the process thousands of times
// a minute at 10k idle streams). It ticks every heartbeatMs / 2 and writes the heartbeat comment
// to each stream that had no bytes written since the previous tick and has none in flight (bytes
// in flight already show the client the connection is alive). So an idle stream gets one heartbeat
// per heartbeatMs, a busy one none, and no client waits longer than heartbeatMs for a byte.
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { frameComment, frameEvent } from '../events/sse.ts';
import type { StoredEvent } from './log.ts';
import { HEARTBEAT_TYPE } from '../events/event.ts';
import { ReaderMemory, type HeldReader } from './reader-memory.ts';

/** 'typed' = GET /events (`event: <type>`); 'message' = the founding note's GET /connect (no `event:` line). */
export type StreamFlavour = 'typed' | 'message';
/** How a stream's heartbeat is written: an SSE comment (default), or a herald.heartbeat event. */
export type HeartbeatKind = 'comment' | 'event';

export interface HubOptions {
  /** Per-subscriber unsent bytes before it is cut off (default 4 MiB). */
  maxBacklogBytes?: number;
  /** The longest a stream goes without a byte: idle streams get a comment heartbeat this often (default 15000). */
  heartbeatMs?: number;
  /** The server-wide bound on bytes held for readers, shared with /history. Default: a ReaderMemory of its own. */
  readers?: ReaderMemory;
  /** Streams written per turn of the event loop in a fan-out round, default DEFAULT_FAN_OUT_STREAMS_PER_TURN. */
  fanOutStreamsPerTurn?: number;
}

/** An event's frame as a stream of that flavour carries it. */
export function frameStored(event: StoredEvent, flavour: StreamFlavour): string {
  return flavour === 'typed'
    ? frameEvent({ id: String(event.id), event: event.type, data: event.json })
    : frameEvent({ id: String(event.id), data: event.json });
}

export const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** ~250 socket writes of ~15 µs: a publish that arrives during a round waits a few ms at most, not the whole round. */
export const DEFAULT_FAN_OUT_STREAMS_PER_TURN = 250;
const HEARTBEAT = Buffer.from(frameComment('heartbeat'));
/** Streams written per turn of the event loop during a heartbeat sweep. */
const HEARTBEAT_BATCH = 250;

/** One open event stream (a response), from its first byte to its close. */
export class Subscription implements HeldReader {
  readonly res: ServerResponse;
  /** Where the body goes: the response's socket (the head is already on it). */
  readonly out: Writable;
  readonly topics: ReadonlySet<string> | null;
  readonly flavour: StreamFlavour;
  readonly openedAt = Date.now();
  /** Receives live events only once its replay is done (see Hub.goLive). */
  live = false;
  /** The id of the last stored event written to it (replay and live). */
  lastId = 0;
  /** Called when a live event did not fit under the bound: the stream is no longer live. */
  onOverflow: (() => void) | undefined;
  closed = false;
  cutOff = false;
  /** Why it was cut off, for the log line. */
  cutReason: string | undefined;
  /** The most unsent bytes ever held for it, for tests and /health. */
  maxBacklogSeen = 0;
  /** The hub's heartbeat tick during which bytes were last written to it. */
  wroteInTick = 0;
  /** What its heartbeat is: the shared comment, or the shared herald.heartbeat event. */
  readonly heartbeat: Buffer;
  /** The hub it belongs to (for ReaderMemory's cut: a method, not a closure per stream). */
  readonly hub: Hub;
  constructor(hub: Hub, res: ServerResponse, topics: ReadonlySet<string> | null, flavour: StreamFlavour, heartbeat: Buffer) {
    this.hub = hub;
    this.res = res;
    this.out = res.socket ?? res;
    this.topics = topics;
    this.flavour = flavour;
    this.heartbeat = heartbeat;
  }
  /** ReaderMemory's way to cut it, when the readers together hold too much and it holds the most. */
  cut(heldBytes: number): void {
    this.hub.cut(
      this,
      `the server holds its limit of ${this.hub.readers.maxBytes} bytes for slow readers, and this one held the most (${heldBytes} bytes unsent)`,
    );
  }
  get backlogBytes(): number {
    return this.out.writableLength;
  }
  wants(topic: string): boolean {
    return this.topics === null || this.topics.has(topic);
  }
}

export interface HubStats {
  streams: number;
  live: number;
  cutOff: number;
  /** Times a live subscriber fell behind by the bound and was caught up from the log. */
  overflows: number;
  /** The largest unsent backlog any subscriber ever reached. */
  maxBacklogSeen: number;
  /** Whether the shared heartbeat timer is running (it runs only while a stream is open). */
  heartbeatRunning: boolean;
  /** Committed events the fan-out has not written yet (queued, or in the round under way). */
  fanOutPending: number;
  /** Heartbeat comments written, all streams together. */
  heartbeats: number;
  /** Bytes Node holds for all streams now, each socket asked (for tests: what ReaderMemory bounds). */
  streamBytesNow: number;
  /** Streams for which Node holds bytes now. */
  streamsHolding: number;
  /** ReaderMemory's figures (streams and /history answers together). */
  readerBytes: number;
  readerBytesPeak: number;
  cutForMemory: number;
}

/** One fan-out round: the committed events it writes, framed lazily per flavour, and the streams left to visit. */
interface FanOutRound {
  events: readonly StoredEvent[];
  /** Per flavour, each event's frame (framed on first use). */
  frames: Partial<Record<StreamFlavour, Buffer[]>>;
  /** Per flavour, all the frames in one Buffer (joined on first use). */
  whole: Partial<Record<StreamFlavour, { bytes: Buffer; ends: number[] }>>;
  subscriptions: Iterator<Subscription>;
}

export class Hub {
  readonly maxBacklogBytes: number;
  readonly heartbeatMs: number;
  /** The newest id handed to publish(): the replay/live seam compares its reads with it. */
  publishedId = 0;
  readonly readers: ReaderMemory;
  readonly #subscriptions = new Set<Subscription>();
  #cutOffCount = 0;
  #overflowCount = 0;
  #maxBacklogSeen = 0;
  #heartbeatCount = 0;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  /** Counts heartbeat ticks; each write stamps its stream with the current one. */
  #tick = 0;
  /** The streams the current tick has yet to visit (a Set iterator sees adds and deletes as they happen). */
  #sweep: Iterator<Subscription> | undefined;
  /** The herald.heartbeat frame (it names this hub's interval), for streams that ask for events. */
  readonly #heartbeatEvent: Buffer;
  readonly #fanOutStreamsPerTurn: number;
  /** Committed events not yet in a fan-out round, in id order (one array per commit). */
  #pending: (readonly StoredEvent[])[] = [];
  /** The round under way: its events, their frames, and the streams it has yet to visit. */
  #round: FanOutRound | undefined;
  #fanOutScheduled = false;

  constructor(options: HubOptions = {}) {
    this.maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.readers = options.readers ?? new ReaderMemory();
    this.#heartbeatEvent = Buffer.from(frameEvent({ event: HEARTBEAT_TYPE, data: JSON.stringify({ intervalMs: this.heartbeatMs }) }));
    this.#fanOutStreamsPerTurn = Math.max(1, options.fanOutStreamsPerTurn ?? DEFAULT_FAN_OUT_STREAMS_PER_TURN);
  }

  /** Registers a stream; it gets live events after goLive(). `heartbeat: 'event'` sends it
   * herald.heartbeat events instead of comments, the first one at once. */
  open(
    res: ServerResponse,
    options: { topics: ReadonlySet<string> | null; flavour: StreamFlavour; heartbeat?: HeartbeatKind },
  ): Subscription {
    const subscription = new Subscription(
      this,
      res,
      options.topics,
      options.flavour,
      options.heartbeat === 'event' ? this.#heartbeatEvent : HEARTBEAT,
    );
    subscription.wroteInTick = this.#tick;
    this.#subscriptions.add(subscription);
    if (this.#heartbeatTimer === undefined) {
      this.#heartbeatTimer = setInterval(() => this.#beat(), Math.max(1, Math.floor(this.heartbeatMs / 2)));
      // A server with nothing else to do may exit: the heartbeat alone must not keep it up.
      this.#heartbeatTimer.unref();
    }
    return subscription;
  }

  goLive(subscription: Subscription): void {
    if (!subscription.closed) subscription.live = true;
  }

  remove(subscription: Subscription): void {
    subscription.closed = true;
    subscription.live = false;
    this.#subscriptions.delete(subscription);
    this.readers.forget(subscription);
    if (this.#subscriptions.size === 0 && this.#heartbeatTimer !== undefined) {
      clearInterval(this.#heartbeatTimer);
      this.#heartbeatTimer = undefined;
    }
  }

  get size(): number {
    return this.#subscriptions.size;
  }

  /**
   * Takes a commit's events (in id order, from the store, in the commit's synchronous step) for
   * the next fan-out round, which runs once the publishers have been answered (see the top).
   *
   * The seam, with deferred writes. publishedId moves here, in the commit's step, not when the
   * round writes: so from the moment an event is committed, (1) a replay that read before the
   * commit sees publishedId past its read and reads again (server/stream.ts deliverPage), and (2)
   * a replay that reads after the commit has the event in its page, and goes live with lastId at
   * or past it; a stream opened without a cursor starts at store.followedId, past it too. A round
   * writes an event only to streams that are live when it visits them and whose lastId is below
   * the event's id. So a stream that goes live while the batch waits for its round, or while the
   * round is under way, skips what its replay already gave it and gets the rest from this round
   * or the next: every event once, in id order. Rounds run one after another, each over events
   * newer than the last, so a stream never gets an older event after a newer one.
   */
  publish(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    this.publishedId = events.at(-1)!.id;
    // No stream now: one opened later starts past these events (the seam above).
    if (this.#subscriptions.size === 0) return;
    this.#pending.push(events);
    this.#scheduleFanOut();
  }

  /** Committed events not written yet (queued or in the round under way), for tests and /health. */
  get fanOutPending(): number {
    let count = 0;
    for (const events of this.#pending) count += events.length;
    return count + (this.#round?.events.length ?? 0);
  }

  #scheduleFanOut(): void {
    if (this.#fanOutScheduled) return;
    this.#fanOutScheduled = true;
    // setImmediate, not a microtask: the publishers' answers are written in the microtasks of the
    // commit's step, so they leave first; and between two turns of a round the loop reads sockets.
    setImmediate(this.#continueFanOut);
  }

  /** One turn of fan-out: starts a round over what is pending if none is under way, then visits up to fanOutStreamsPerTurn streams. */
  readonly #continueFanOut = (): void => {
    this.#fanOutScheduled = false;
    this.#fanOutTurn(this.#fanOutStreamsPerTurn);
    if (this.#round !== undefined || this.#pending.length > 0) this.#scheduleFanOut();
  };

  #fanOutTurn(maxStreams: number): void {
    let round = this.#round;
    if (round === undefined) {
      if (this.#pending.length === 0) return;
      const events = this.#pending.length === 1 ? this.#pending[0]! : this.#pending.flat();
      this.#pending = [];
      round = this.#round = { events, frames: {}, whole: {}, subscriptions: this.#subscriptions.values() };
    }
    for (let n = 0; n < maxStreams; n++) {
      // A Set iterator sees adds and deletes as they happen: a stream opened during the round is
      // visited too, and skips what it has by its lastId.
      const next = round.subscriptions.next();
      if (next.done) {
        this.#round = undefined;
        return;
      }
      this.#deliverLive(next.value, round);
    }
  }

  /**
   * Writes to one stream, in one write, the round's events it wants and does not have yet: the
   * round's whole batch (framed and joined once per flavour, shared by every stream that takes it
   * all), a part of it (from its lastId on), or, under a topic filter that leaves some out, its
   * own chunk of just the frames it matches. If the chunk would take the stream past its bound,
   * the frames that fit go one by one, then the stream leaves live delivery (as one write per
   * event did before: the same bytes, the same overflow point).
   */
  #deliverLive(subscription: Subscription, round: FanOutRound): void {
    if (!subscription.live) return;
    const { events } = round;
    const count = events.length;
    if (events[count - 1]!.id <= subscription.lastId) return;
    let from = 0;
    while (events[from]!.id <= subscription.lastId) from += 1;
    const frames = this.#framesOf(round, subscription.flavour);
    // The events it takes: every one from `from` on, or (under a filter that leaves some out) these.
    let picked: number[] | undefined;
    if (subscription.topics !== null) {
      const wanted: number[] = [];
      for (let i = from; i < count; i++) if (subscription.wants(events[i]!.topic)) wanted.push(i);
      if (wanted.length === 0) return;
      if (wanted.length < count - from) picked = wanted;
    }
    let chunk: Buffer;
    let lastIndex: number;
    if (picked === undefined) {
      const whole = this.#wholeOf(round, subscription.flavour);
      chunk = from === 0 ? whole.bytes : whole.bytes.subarray(whole.ends[from - 1]);
      lastIndex = count - 1;
    } else {
      chunk = picked.length === 1 ? frames[picked[0]!]! : Buffer.concat(picked.map((i) => frames[i]!));
      lastIndex = picked.at(-1)!;
    }
    if (subscription.out.writableLength + chunk.length <= this.maxBacklogBytes) {
      this.#write(subscription, chunk);
      subscription.lastId = events[lastIndex]!.id;
      return;
    }
    const taken = picked !== undefined ? picked.length : count - from;
    for (let k = 0; k < taken; k++) {
      const i = picked !== undefined ? picked[k]! : from + k;
      const frame = frames[i]!;
      if (subscription.out.writableLength + frame.length > this.maxBacklogBytes) {
        subscription.live = false;
        this.#overflowCount += 1;
        subscription.onOverflow?.();
        return;
      }
      // Frame by frame, the socket may hand some to the OS as it goes: the rest may fit after all.
      this.#write(subscription, frame);
      subscription.lastId = events[i]!.id;
    }
  }

  /** Every event of the round framed for this flavour (once per round). */
  #framesOf(round: FanOutRound, flavour: StreamFlavour): Buffer[] {
    let frames = round.frames[flavour];
    if (frames === undefined) {
      frames = round.events.map((event) => Buffer.from(frameStored(event, flavour)));
      round.frames[flavour] = frames;
    }
    return frames;
  }

  /** The round's frames for this flavour joined in one Buffer, and where each ends in it (once per round). */
  #wholeOf(round: FanOutRound, flavour: StreamFlavour): { bytes: Buffer; ends: number[] } {
    let whole = round.whole[flavour];
    if (whole === undefined) {
      const frames = this.#framesOf(round, flavour);
      const ends: number[] = [];
      let end = 0;
      for (const frame of frames) ends.push((end += frame.length));
      whole = { bytes: frames.length === 1 ? frames[0]! : Buffer.concat(frames, end), ends };
      round.whole[flavour] = whole;
    }
    return whole;
  }

  /**
   * Writes a chunk outside live delivery (retry, notices, heartbeats, replay pages) unless that
   * would take the stream's unsent bytes past the bound, in which case the stream is cut off.
   * Returns false when the stream is gone. `onWritten` is called once the socket has handed the
   * chunk to the OS (or failed to).
   */
  deliver(subscription: Subscription, chunk: Buffer | string, onWritten?: () => void): boolean {
    if (subscription.closed) return false;
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (subscription.out.writableLength + size > this.maxBacklogBytes) {
      this.cut(subscription, `it stopped reading (over ${this.maxBacklogBytes} bytes unsent)`);
      return false;
    }
    this.#write(subscription, chunk, onWritten);
    return true;
  }

  /** Cuts a stream off: its socket is destroyed (it would never read what is queued anyway). */
  cut(subscription: Subscription, reason = `it stopped reading (over ${this.maxBacklogBytes} bytes unsent)`): void {
    if (subscription.closed) return;
    subscription.cutOff = true;
    subscription.cutReason = reason;
    this.#cutOffCount += 1;
    this.remove(subscription);
    subscription.res.destroy();
  }

  /** Ends every stream cleanly (clients reconnect) and forgets them; resolves when each response
   * has finished or closed, or after waitMs for clients that are not reading. */
  async endAll(waitMs = 1000): Promise<void> {
    // What is committed goes out before the streams end (else their clients get it on resuming).
    while (this.#round !== undefined || this.#pending.length > 0) this.#fanOutTurn(Infinity);
    const ending = [...this.#subscriptions].map((subscription) => {
      this.remove(subscription);
      const res = subscription.res;
      if (res.writableFinished || res.destroyed) return Promise.resolve();
      const done = new Promise<void>((resolve) => {
        res.once('finish', () => resolve());
        res.once('close', () => resolve());
      });
      res.end();
      return done;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ending), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  stats(): HubStats {
    let live = 0;
    let streamBytesNow = 0;
    let streamsHolding = 0;
    for (const subscription of this.#subscriptions) {
      if (subscription.live) live += 1;
      streamBytesNow += subscription.out.writableLength;
      if (subscription.out.writableLength > 0) streamsHolding += 1;
    }
    return {
      ...this.readers.stats(),
      streamBytesNow,
      streamsHolding,
      streams: this.#subscriptions.size,
      live,
      cutOff: this.#cutOffCount,
      overflows: this.#overflowCount,
      maxBacklogSeen: this.#maxBacklogSeen,
      heartbeatRunning: this.#heartbeatTimer !== undefined,
      fanOutPending: this.fanOutPending,
      heartbeats: this.#heartbeatCount,
    };
  }

  /** One heartbeat tick (see the note at the top): starts a sweep over the streams. */
  #beat(): void {
    if (this.#sweep !== undefined) return; // the last tick's sweep is still going (only with thousands of streams and a tiny heartbeatMs)
    this.#tick += 1;
    this.#sweep = this.#subscriptions.values();
    this.#continueSweep();
  }

  /** Writes the heartbeat to a batch of streams, then yields to the event loop before the next
   * batch: one write per stream costs ~15 µs, and 10k at once would hold publishes up ~150 ms. */
  readonly #continueSweep = (): void => {
    const sweep = this.#sweep;
    if (sweep === undefined) return;
    const previous = this.#tick - 1;
    for (let n = 0; n < HEARTBEAT_BATCH; n++) {
      const next = sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        return;
      }
      const subscription = next.value;
      // A write since the last tick (a publish during this sweep too) stamped it with a later tick.
      if (subscription.wroteInTick >= previous || subscription.out.writableLength > 0) continue;
      if (this.deliver(subscription, subscription.heartbeat)) this.#heartbeatCount += 1;
    }
    setImmediate(this.#continueSweep);
  };

  #write(subscription: Subscription, chunk: Buffer | string, onWritten?: () => void): void {
    // The client half-closed and the socket ended before its 'close': writing now only raises errors.
    if (!subscription.out.writable) {
      onWritten?.();
      return;
    }
    subscription.wroteInTick = this.#tick;
    subscription.out.write(chunk, onWritten);
    this.readers.wrote(subscription);
    const backlog = subscription.out.writableLength;
    if (backlog > subscription.maxBacklogSeen) subscription.maxBacklogSeen = backlog;
    if (backlog > this.#maxBacklogSeen) this.#maxBacklogSeen = backlog;
  }
}
