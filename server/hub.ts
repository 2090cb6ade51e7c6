// Hub: live fan-out of stored events to every open stream.
//
// Each event is framed once (per wire flavour) into one Buffer and the same Buffer is written to
// every subscriber, straight to its socket once the response head is out (the body is not
// chunked, see server/stream.ts): no cork, no nextTick, no HTTP bookkeeping per subscriber. Each subscriber's unsent bytes (what Node holds for its socket) never pass
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
}

/** An event's frame as a stream of that flavour carries it. */
export function frameStored(event: StoredEvent, flavour: StreamFlavour): string {
  return flavour === 'typed' ? frameEvent({ id: String(event.id), event: event.type, data: event.json }) : frameEvent({ id: String(event.id), data: event.json });
}

export const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;
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
  readonly label: string;
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
  /** ReaderMemory's way to cut it: the hub's cut. */
  readonly cut: (heldBytes: number) => void;
  constructor(res: ServerResponse, topics: ReadonlySet<string> | null, flavour: StreamFlavour, label: string, heartbeat: Buffer, cut: (stream: Subscription, heldBytes: number) => void) {
    this.cut = (heldBytes) => cut(this, heldBytes);
    this.res = res;
    this.out = res.socket ?? res;
    this.topics = topics;
    this.flavour = flavour;
    this.label = label;
    this.heartbeat = heartbeat;
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

export class Hub {
  readonly maxBacklogBytes: number;
  readonly heartbeatMs: number;
  /** The newest id handed to publish(): the replay/live seam compares its reads with it. */
  publishedId = 0;
  readonly readers: ReaderMemory;
  private readonly streams = new Set<Subscription>();
  private cutOffCount = 0;
  private overflowCount = 0;
  private maxBacklogSeen = 0;
  private heartbeatCount = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Counts heartbeat ticks; each write stamps its stream with the current one. */
  private tick = 0;
  /** The streams the current tick has yet to visit (a Set iterator sees adds and deletes as they happen). */
  private sweep: Iterator<Subscription> | undefined;
  /** The herald.heartbeat frame (it names this hub's interval), for streams that ask for events. */
  private readonly heartbeatEvent: Buffer;

  constructor(options: HubOptions = {}) {
    this.maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.readers = options.readers ?? new ReaderMemory();
    this.heartbeatEvent = Buffer.from(frameEvent({ event: HEARTBEAT_TYPE, data: JSON.stringify({ intervalMs: this.heartbeatMs }) }));
  }

  /** Registers a stream; it gets live events after goLive(). `heartbeat: 'event'` sends it
   * herald.heartbeat events instead of comments, the first one at once. */
  open(res: ServerResponse, options: { topics: ReadonlySet<string> | null; flavour: StreamFlavour; label: string; heartbeat?: HeartbeatKind }): Subscription {
    const stream = new Subscription(res, options.topics, options.flavour, options.label, options.heartbeat === 'event' ? this.heartbeatEvent : HEARTBEAT, (s, held) =>
      this.cut(s, `the server holds its limit of ${this.readers.maxBytes} bytes for slow readers, and this one held the most (${held} bytes unsent)`),
    );
    stream.wroteInTick = this.tick;
    this.streams.add(stream);
    if (this.heartbeatTimer === undefined) {
      this.heartbeatTimer = setInterval(() => this.beat(), Math.max(1, Math.floor(this.heartbeatMs / 2)));
      // A server with nothing else to do may exit: the heartbeat alone must not keep it up.
      this.heartbeatTimer.unref();
    }
    return stream;
  }

  goLive(stream: Subscription): void {
    if (!stream.closed) stream.live = true;
  }

  remove(stream: Subscription): void {
    stream.closed = true;
    stream.live = false;
    this.streams.delete(stream);
    this.readers.forget(stream);
    if (this.streams.size === 0 && this.heartbeatTimer !== undefined) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Frames each event once per flavour and writes the same bytes to every live subscriber that
   * wants its topic. Events come in id order; a subscriber is never given an id at or below its
   * lastId (its replay may have read further than the hub had published: see server/stream.ts).
   */
  publish(events: readonly StoredEvent[]): void {
    if (events.length > 0) this.publishedId = events.at(-1)!.id;
    if (this.streams.size === 0) return;
    for (const event of events) {
      let typed: Buffer | undefined;
      let message: Buffer | undefined;
      for (const stream of this.streams) {
        if (!stream.live || !stream.wants(event.topic) || event.id <= stream.lastId) continue;
        let frame: Buffer;
        if (stream.flavour === 'typed') frame = typed ??= Buffer.from(frameStored(event, 'typed'));
        else frame = message ??= Buffer.from(frameStored(event, 'message'));
        if (stream.out.writableLength + frame.length > this.maxBacklogBytes) {
          stream.live = false;
          this.overflowCount += 1;
          stream.onOverflow?.();
          continue;
        }
        this.write(stream, frame);
        stream.lastId = event.id;
      }
    }
  }

  /**
   * Writes a chunk outside live delivery (retry, notices, heartbeats, replay pages) unless that
   * would take the stream's unsent bytes past the bound, in which case the stream is cut off.
   * Returns false when the stream is gone. `onWritten` is called once the socket has handed the
   * chunk to the OS (or failed to).
   */
  deliver(stream: Subscription, chunk: Buffer | string, onWritten?: () => void): boolean {
    if (stream.closed) return false;
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (stream.out.writableLength + size > this.maxBacklogBytes) {
      this.cut(stream, `it stopped reading (over ${this.maxBacklogBytes} bytes unsent)`);
      return false;
    }
    this.write(stream, chunk, onWritten);
    return true;
  }

  /** Cuts a stream off: its socket is destroyed (it would never read what is queued anyway). */
  cut(stream: Subscription, reason = `it stopped reading (over ${this.maxBacklogBytes} bytes unsent)`): void {
    if (stream.closed) return;
    stream.cutOff = true;
    stream.cutReason = reason;
    this.cutOffCount += 1;
    this.remove(stream);
    stream.res.destroy();
  }

  /** Ends every stream cleanly (clients reconnect) and forgets them; resolves when each response
   * has finished or closed, or after waitMs for clients that are not reading. */
  async endAll(waitMs = 1000): Promise<void> {
    const ending = [...this.streams].map((stream) => {
      this.remove(stream);
      const res = stream.res;
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
    for (const stream of this.streams) {
      if (stream.live) live += 1;
      streamBytesNow += stream.out.writableLength;
      if (stream.out.writableLength > 0) streamsHolding += 1;
    }
    return {
      ...this.readers.stats(),
      streamBytesNow,
      streamsHolding,
      streams: this.streams.size,
      live,
      cutOff: this.cutOffCount,
      overflows: this.overflowCount,
      maxBacklogSeen: this.maxBacklogSeen,
      heartbeatRunning: this.heartbeatTimer !== undefined,
      heartbeats: this.heartbeatCount,
    };
  }

  /** One heartbeat tick (see the note at the top): starts a sweep over the streams. */
  private beat(): void {
    if (this.sweep !== undefined) return; // the last tick's sweep is still going (only with thousands of streams and a tiny heartbeatMs)
    this.tick += 1;
    this.sweep = this.streams.values();
    this.continueSweep();
  }

  /** Writes the heartbeat to a batch of streams, then yields to the event loop before the next
   * batch: one write per stream costs ~15 µs, and 10k at once would hold publishes up ~150 ms. */
  private readonly continueSweep = (): void => {
    const sweep = this.sweep;
    if (sweep === undefined) return;
    const previous = this.tick - 1;
    for (let n = 0; n < HEARTBEAT_BATCH; n++) {
      const next = sweep.next();
      if (next.done) {
        this.sweep = undefined;
        return;
      }
      const stream = next.value;
      // A write since the last tick (a publish during this sweep too) stamped it with a later tick.
      if (stream.wroteInTick >= previous || stream.out.writableLength > 0) continue;
      if (this.deliver(stream, stream.heartbeat)) this.heartbeatCount += 1;
    }
    setImmediate(this.continueSweep);
  };

  private write(stream: Subscription, chunk: Buffer | string, onWritten?: () => void): void {
    // The client half-closed and the socket ended before its 'close': writing now only raises errors.
    if (!stream.out.writable) {
      onWritten?.();
      return;
    }
    stream.wroteInTick = this.tick;
    stream.out.write(chunk, onWritten);
    this.readers.wrote(stream);
    const backlog = stream.out.writableLength;
    if (backlog > stream.maxBacklogSeen) stream.maxBacklogSeen = backlog;
    if (backlog > this.maxBacklogSeen) this.maxBacklogSeen = backlog;
  }
}
