// Hub: live fan-out of stored events to every open stream.
//
// Each event is framed once (per wire flavour) into one Buffer and the same Buffer is written to
// every subscriber. Each subscriber's unsent bytes (what Node holds for its socket) never pass
// maxBacklogBytes: a live event that would take it past the bound is not written; the stream
// leaves live delivery instead ("overflow") and its owner catches it up from the log once the
// socket drains, or cuts it off if it does not drain in time (a client that stopped reading).
// Either way memory per subscriber is bounded and nothing is lost: the log has every event, and
// a cut-off client comes back with Last-Event-ID.
import type { ServerResponse } from 'node:http';
import { frameEvent } from '../events/sse.ts';
import type { StoredEvent } from './log.ts';

/** 'typed' = GET /events (`event: <type>`); 'message' = the founding note's GET /connect (no `event:` line). */
export type StreamFlavour = 'typed' | 'message';

export interface HubOptions {
  /** Per-subscriber unsent bytes before it is cut off (default 4 MiB). */
  maxBacklogBytes?: number;
  /** Told when a subscriber is cut off for not reading. */
  onCutOff?: (stream: Subscription) => void;
}

export const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

/** One open event stream (a response), from its first byte to its close. */
export class Subscription {
  readonly res: ServerResponse;
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
  /** The most unsent bytes ever held for it, for tests and /health. */
  maxBacklogSeen = 0;
  constructor(res: ServerResponse, topics: ReadonlySet<string> | null, flavour: StreamFlavour, label: string) {
    this.res = res;
    this.topics = topics;
    this.flavour = flavour;
    this.label = label;
  }
  get backlogBytes(): number {
    return this.res.writableLength;
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
}

export class Hub {
  readonly maxBacklogBytes: number;
  private readonly streams = new Set<Subscription>();
  private readonly onCutOff: ((stream: Subscription) => void) | undefined;
  private cutOffCount = 0;
  private overflowCount = 0;
  private maxBacklogSeen = 0;

  constructor(options: HubOptions = {}) {
    this.maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.onCutOff = options.onCutOff;
  }

  /** Registers a stream; it gets live events after goLive(). */
  open(res: ServerResponse, options: { topics: ReadonlySet<string> | null; flavour: StreamFlavour; label: string }): Subscription {
    const stream = new Subscription(res, options.topics, options.flavour, options.label);
    this.streams.add(stream);
    return stream;
  }

  goLive(stream: Subscription): void {
    if (!stream.closed) stream.live = true;
  }

  remove(stream: Subscription): void {
    stream.closed = true;
    stream.live = false;
    this.streams.delete(stream);
  }

  get size(): number {
    return this.streams.size;
  }

  /** Frames each event once per flavour and writes the same bytes to every live subscriber that wants its topic. */
  publish(events: readonly StoredEvent[]): void {
    if (this.streams.size === 0) return;
    for (const event of events) {
      let typed: Buffer | undefined;
      let message: Buffer | undefined;
      for (const stream of this.streams) {
        if (!stream.live || !stream.wants(event.topic)) continue;
        let frame: Buffer;
        if (stream.flavour === 'typed') frame = typed ??= Buffer.from(frameEvent({ id: String(event.id), event: event.type, data: event.json }));
        else frame = message ??= Buffer.from(frameEvent({ id: String(event.id), data: event.json }));
        if (stream.res.writableLength + frame.length > this.maxBacklogBytes) {
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
   * Returns false when the stream is gone.
   */
  deliver(stream: Subscription, chunk: Buffer | string): boolean {
    if (stream.closed) return false;
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (stream.res.writableLength + size > this.maxBacklogBytes) {
      this.cut(stream);
      return false;
    }
    this.write(stream, chunk);
    return true;
  }

  /** Cuts a stream off: its socket is destroyed (it would never read what is queued anyway). */
  cut(stream: Subscription): void {
    if (stream.closed) return;
    stream.cutOff = true;
    this.cutOffCount += 1;
    this.remove(stream);
    stream.res.destroy();
    this.onCutOff?.(stream);
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
    for (const stream of this.streams) if (stream.live) live += 1;
    return { streams: this.streams.size, live, cutOff: this.cutOffCount, overflows: this.overflowCount, maxBacklogSeen: this.maxBacklogSeen };
  }

  /** The open streams, for tests and diagnostics. */
  list(): Subscription[] {
    return [...this.streams];
  }

  private write(stream: Subscription, chunk: Buffer | string): void {
    stream.res.write(chunk);
    const backlog = stream.res.writableLength;
    if (backlog > stream.maxBacklogSeen) stream.maxBacklogSeen = backlog;
    if (backlog > this.maxBacklogSeen) this.maxBacklogSeen = backlog;
  }
}
