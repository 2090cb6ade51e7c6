// What a benchmark run does: the quick pass (`npm run bench`, about two minutes) and the full set
// (`npm run bench -- --full`), and the adapter table that lets one load generator drive all three
// servers under test.

export type ServerKind = 'herald' | 'seed' | 'better-sse';

/** What Herald is given for the benchmark besides a temp dataDir (its durable log on): the limits
 * that protect a real deployment raised above what the load generator does (one client address
 * publishes thousands of events per second and holds 10k streams). The rest stays at its defaults. */
export const HERALD_BENCH_OPTIONS = {
  maxStreams: 100_000,
  publishRate: { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 },
} as const;

export interface ServerAdapter {
  kind: ServerKind;
  label: string;
  /** The SSE stream the subscribers GET. */
  streamPath: string;
  /** Where the same JSON event body is POSTed. */
  publishPath: string;
  /** Stores what it accepts (and so can replay it). */
  durable: boolean;
}

export const SERVERS: readonly ServerAdapter[] = [
  { kind: 'herald', label: 'Herald', streamPath: '/events', publishPath: '/events', durable: true },
  { kind: 'seed', label: 'seed server', streamPath: '/connect', publishPath: '/message', durable: false },
  { kind: 'better-sse', label: 'better-sse', streamPath: '/events', publishPath: '/events', durable: false },
];

export interface BroadcastStep {
  subscribers: number;
  rate: number;
  seconds: number;
  /** How long to wait for the last deliveries after the last publish (default 5000 ms): the
   * overload steps (5k × 100/s is 500k deliveries/s) need longer to drain. */
  drainMs?: number;
}

export interface StallStep {
  /** Subscribers that keep reading. */
  healthy: number;
  /** Subscribers that stop reading once the events start. */
  stalled: number;
  rate: number;
  seconds: number;
  /** Filler per event body: big events so the stalled sockets fill their kernel buffers. */
  padBytes: number;
}

export interface Plan {
  name: 'quick' | 'full';
  repetitions: number;
  /** Memory at every stream count; idle CPU over cpuWindowMs at the largest (2 s at the others).
   * At least the 15 s heartbeat interval, so every stream's heartbeat falls inside the window. */
  idle: { streams: number[]; settleMs: number; cpuWindowMs: number };
  broadcast: BroadcastStep[];
  /** The scenario: 1% of 1k subscribers stop reading while events flow. */
  slow: StallStep;
  /** The same stall with few healthy subscribers and many big events, so that each stalled socket
   * is sent far more than the kernel buffers (~4 MB per loopback socket): the bound shows. */
  stallPressure: StallStep;
  durable: { concurrency: number; seconds: number };
  replay: { events: number };
  client: { events: number; rate: number; idleSeconds: number };
  /** Open files each child needs (streams + slack). */
  openFiles: number;
}

/** About two minutes: memory at 5k streams but idle CPU over 2 s only (the full pass waits out a
 * heartbeat), and shorter stall scenarios. */
export const QUICK: Plan = {
  name: 'quick',
  repetitions: 1,
  idle: { streams: [5000], settleMs: 1500, cpuWindowMs: 2000 },
  broadcast: [
    { subscribers: 1000, rate: 10, seconds: 3 },
    { subscribers: 5000, rate: 10, seconds: 4 },
  ],
  slow: { healthy: 990, stalled: 10, rate: 20, seconds: 4, padBytes: 4000 },
  stallPressure: { healthy: 10, stalled: 10, rate: 600, seconds: 4, padBytes: 4000 },
  durable: { concurrency: 32, seconds: 4 },
  replay: { events: 10_000 },
  client: { events: 40, rate: 20, idleSeconds: 10 },
  openFiles: 8000,
};

export const FULL: Plan = {
  name: 'full',
  repetitions: 3,
  idle: { streams: [1000, 5000, 10_000], settleMs: 1500, cpuWindowMs: 15_500 },
  broadcast: [
    { subscribers: 100, rate: 10, seconds: 3 },
    { subscribers: 100, rate: 100, seconds: 2 },
    { subscribers: 1000, rate: 10, seconds: 3 },
    { subscribers: 1000, rate: 100, seconds: 2, drainMs: 10_000 },
    { subscribers: 5000, rate: 10, seconds: 4 },
    { subscribers: 5000, rate: 100, seconds: 1, drainMs: 15_000 },
  ],
  slow: { healthy: 990, stalled: 10, rate: 20, seconds: 6, padBytes: 4000 },
  stallPressure: { healthy: 10, stalled: 10, rate: 600, seconds: 8, padBytes: 4000 },
  durable: { concurrency: 64, seconds: 5 },
  replay: { events: 10_000 },
  client: { events: 100, rate: 20, idleSeconds: 20 },
  openFiles: 12_000,
};
