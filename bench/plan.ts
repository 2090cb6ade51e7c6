// What a benchmark run does: the quick pass (`npm run bench`, a few minutes) and the full set
// (`npm run bench -- --full`), the scenarios either can be limited to (`--scenarios=`), and the
// adapter table that lets one load generator drive every server under test.

export type ServerKind = 'herald' | 'floor' | 'seed' | 'better-sse' | 'baseline';

/**
 * Every setting the benchmark changes from Herald's shipped defaults, and why. Everything else is
 * as `herald serve` ships it: the durable log (SQLite, in a temp dir), a log line on stderr per
 * stream and per rejected request (the runner reads the child's stderr), the web UI's static
 * files, the 10,000-stream cap, the 4 MiB backlog bound, the 15 s heartbeat.
 */
export const HERALD_CHANGED_SETTINGS: ReadonlyArray<{ setting: string; value: unknown; why: string }> = [
  {
    setting: 'publishRate',
    value: { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 },
    why: 'the load generator publishes from one address at up to tens of thousands per second; the shipped per-client bucket (200 at once, 50/s) would answer 429 and measure the limiter instead of the server',
  },
];

/** The options object those settings make (merged into Herald's options by the server child). */
export const HERALD_BENCH_OPTIONS: Record<string, unknown> = Object.fromEntries(HERALD_CHANGED_SETTINGS.map((s) => [s.setting, s.value]));

export interface ServerAdapter {
  kind: ServerKind;
  label: string;
  /** The SSE stream the subscribers GET. */
  streamPath: string;
  /** Where the same JSON event body is POSTed. */
  publishPath: string;
  /** Stores what it accepts (and so can replay it). */
  durable: boolean;
  /** A reference the goals divide by, not a peer Herald is compared with. */
  floor?: boolean;
}

export const SERVERS: readonly ServerAdapter[] = [
  { kind: 'herald', label: 'Herald', streamPath: '/events', publishPath: '/events', durable: true },
  { kind: 'floor', label: 'floor (node:http)', streamPath: '/events', publishPath: '/events', durable: true, floor: true },
  { kind: 'seed', label: 'seed server', streamPath: '/connect', publishPath: '/message', durable: false },
  { kind: 'better-sse', label: 'better-sse', streamPath: '/events', publishPath: '/events', durable: false },
];

/** `--baseline=REV`: Herald as it was at REV (git archive), run beside this tree in the same run with the same settings. */
export function baselineAdapter(rev: string): ServerAdapter {
  return { kind: 'baseline', label: `Herald @${rev}`, streamPath: '/events', publishPath: '/events', durable: true };
}

/** The peers "Herald/peers" compares with (the faster of them). */
export const PEERS: readonly ServerKind[] = ['seed', 'better-sse'];

/** The scenarios, in the order they run; `--scenarios=a,b` runs some of them. */
export const SCENARIOS = [
  'cli',
  'idle',
  'broadcast',
  'slow',
  'pressure',
  'ack',
  'sustained',
  'publishing',
  'replay',
  'startup',
  'client',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

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
  /** `herald send` / `herald run -- true` against a raw POST: rounds (each runs every command once). */
  cli: { rounds: number };
  /** Memory at every stream count; idle CPU over cpuWindowMs at the largest (2 s at the others).
   * At least the 15 s heartbeat interval, so every stream's heartbeat falls inside the window. */
  idle: { streams: number[]; settleMs: number; cpuWindowMs: number };
  broadcast: BroadcastStep[];
  /** The scenario: 1% of 1k subscribers stop reading while events flow. */
  slow: StallStep;
  /** The same stall with few healthy subscribers and many big events, so that each stalled socket
   * is sent far more than the kernel buffers (~4 MB per loopback socket): the bound shows. */
  stallPressure: StallStep;
  /** Publishers' acknowledgements while the server fans out to `subscribers`, and with none: open
   * loop at `rate` for `seconds` (a p99 needs rate × seconds ≥ 1,000). */
  ack: { subscribers: number; rate: number; seconds: number };
  /** `events` published as fast as `concurrency` publishers are answered, to `subscribers`. */
  sustained: { subscribers: number; events: number; concurrency: number };
  durable: { concurrency: number; seconds: number };
  replay: { events: number };
  /** Start to /health, empty log and `largeLog` events (shipped retention), against a bare
   * node:http server; then a replay from 0 of what the large log keeps, against the floor. */
  startup: { rounds: number; largeLog: number };
  client: { events: number; rate: number; idleSeconds: number };
  /** Open files each child needs (streams + slack). */
  openFiles: number;
}

/** A few minutes: memory at 5k streams but idle CPU over 2 s only (the full pass waits out a
 * heartbeat), shorter stall scenarios, percentiles backed by fewer samples. */
export const QUICK: Plan = {
  name: 'quick',
  repetitions: 1,
  cli: { rounds: 15 },
  idle: { streams: [5000], settleMs: 1500, cpuWindowMs: 2000 },
  broadcast: [
    { subscribers: 1000, rate: 10, seconds: 3 },
    { subscribers: 5000, rate: 10, seconds: 4 },
  ],
  slow: { healthy: 990, stalled: 10, rate: 20, seconds: 4, padBytes: 4000 },
  stallPressure: { healthy: 10, stalled: 10, rate: 600, seconds: 4, padBytes: 4000 },
  ack: { subscribers: 3000, rate: 20, seconds: 10 },
  sustained: { subscribers: 1000, events: 2000, concurrency: 4 },
  durable: { concurrency: 32, seconds: 4 },
  replay: { events: 10_000 },
  startup: { rounds: 3, largeLog: 1_000_000 },
  client: { events: 40, rate: 20, idleSeconds: 10 },
  openFiles: 8000,
};

export const FULL: Plan = {
  name: 'full',
  repetitions: 3,
  cli: { rounds: 40 },
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
  ack: { subscribers: 3000, rate: 20, seconds: 55 },
  sustained: { subscribers: 1000, events: 10_000, concurrency: 4 },
  durable: { concurrency: 64, seconds: 5 },
  replay: { events: 10_000 },
  startup: { rounds: 5, largeLog: 1_000_000 },
  client: { events: 100, rate: 20, idleSeconds: 20 },
  openFiles: 12_000,
};
