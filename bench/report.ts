// Turns the sessions' raw results into figures side by side (median and range over repetitions,
// Herald/floor and Herald/peers), counts the goals honestly, and renders the console table and
// bench/RESULTS.md. The report says only what this run measured: hand-written analysis lives in
// bench/analysis/, dated, and is never pasted in.
import type { MachineInfo } from './proc.ts';
import type { FileLimit } from './child.ts';
import type { CliResult } from './cli.ts';
import { cliTable } from './cli.ts';
import { describeLoad, type LoadSummary } from './load.ts';
import type { Plan } from './plan.ts';
import { HERALD_CHANGED_SETTINGS, PEERS, SERVERS } from './plan.ts';
import { backs, judge, median, type Judgement, type LatencySummary, type Verdict } from './stats.ts';
import { fmt, type ClientResult, type SessionResult, type StallFigure } from './scenarios.ts';
import type { StartupResult } from './startup.ts';

export interface Figure {
  key: string;
  scenario: string;
  metric: string;
  unit: string;
  /** Lower is better (latency, memory, CPU); false for rates. */
  lowerIsBetter: boolean;
  /** A shared speed figure: "as fast as the faster peer" is one of the goals. */
  speed?: boolean;
  /** Per server kind, the figure of each repetition (index = repetition - 1; null where it failed). */
  values: Record<string, Array<number | null>>;
}

export interface GoalCheck {
  goal: string;
  target: string;
  /** The median, with its spread, in words. */
  value: string;
  verdict: Verdict;
  /** What the verdict rests on (the values per repetition, the ratio's parts). */
  basis: string;
  /** Which set the goal belongs to. */
  group: 'issue 14' | 'earlier';
}

/** The figure of one server kind in each repetition, as numbers (NaN where missing). */
function series(figure: Figure | undefined, kind: string): number[] {
  return (figure?.values[kind] ?? []).map((v) => (v === null || v === undefined ? NaN : v));
}

export function valueOf(figure: Figure | undefined, kind: string): number {
  return median(series(figure, kind));
}

/** Collects every figure from the sessions; tail latencies as percentiles only where every run backs them. */
export function collectFigures(sessions: SessionResult[]): Figure[] {
  const figures = new Map<string, Figure>();
  const put = (f: Omit<Figure, 'values'>, s: SessionResult, value: number | null | undefined) => {
    if (value === null || value === undefined) return;
    let figure = figures.get(f.key);
    if (!figure) figures.set(f.key, (figure = { ...f, values: {} }));
    (figure.values[s.kind] ??= [])[s.repetition - 1] = value;
  };
  // A p99 (or p99.9) where every run's samples back it, else the maximum, said as such.
  const tails: Array<{ f: Omit<Figure, 'values' | 'metric'> & { what: string }; q: number; s: SessionResult; summary: LatencySummary }> =
    [];
  const putTail = (
    f: Omit<Figure, 'values' | 'metric'> & { what: string },
    q: number,
    s: SessionResult,
    summary: LatencySummary | undefined,
  ) => {
    if (summary && summary.count > 0) tails.push({ f, q, s, summary });
  };
  for (const s of sessions) {
    for (const i of s.idle) {
      const scenario = `Idle, ${i.streams} streams`;
      put(
        { key: `idle.${i.streams}.opened`, scenario, metric: 'streams open and confirmed', unit: '', lowerIsBetter: false },
        s,
        i.confirmed,
      );
      put(
        { key: `idle.${i.streams}.rss`, scenario, metric: 'memory per stream (RSS)', unit: 'KB', lowerIsBetter: true },
        s,
        i.bytesPerStream / 1024,
      );
      put(
        { key: `idle.${i.streams}.heap`, scenario, metric: 'memory per stream (JS heap + buffers)', unit: 'KB', lowerIsBetter: true },
        s,
        i.heapBytesPerStream / 1024,
      );
      put({ key: `idle.${i.streams}.cpu`, scenario, metric: 'idle CPU', unit: '% core', lowerIsBetter: true }, s, i.cpuPercent);
      put(
        { key: `idle.${i.streams}.wakeups`, scenario, metric: 'idle wake-ups', unit: '/min', lowerIsBetter: true },
        s,
        i.wakeupsPerMinute,
      );
    }
    for (const b of s.broadcast) {
      const scenario = `Broadcast, ${b.subscribers} subs × ${b.rate}/s`;
      const base = `broadcast.${b.subscribers}.${b.rate}`;
      put(
        { key: `${base}.p50`, scenario, metric: 'latency p50 (from when each publish was due)', unit: 'ms', lowerIsBetter: true },
        s,
        b.latency.p50,
      );
      putTail({ key: `${base}.p99`, scenario, what: 'latency', unit: 'ms', lowerIsBetter: true, speed: true }, 0.99, s, b.latency);
      putTail({ key: `${base}.p999`, scenario, what: 'latency', unit: 'ms', lowerIsBetter: true }, 0.999, s, b.latency);
      put(
        { key: `${base}.last50`, scenario, metric: 'last subscriber has it, p50 over events', unit: 'ms', lowerIsBetter: true },
        s,
        b.lastSubscriber.p50,
      );
      putTail(
        { key: `${base}.last99`, scenario, what: 'last subscriber has it', unit: 'ms', lowerIsBetter: true, speed: true },
        0.99,
        s,
        b.lastSubscriber,
      );
      put({ key: `${base}.dps`, scenario, metric: 'deliveries/s', unit: '/s', lowerIsBetter: false }, s, b.deliveriesPerSecond);
      put({ key: `${base}.missing`, scenario, metric: 'deliveries missing', unit: '', lowerIsBetter: true }, s, b.missing);
      put({ key: `${base}.cpu`, scenario, metric: 'server CPU', unit: '% core', lowerIsBetter: true }, s, b.serverCpuPercent);
      put(
        { key: `${base}.kernel`, scenario, metric: 'share of server CPU in the kernel', unit: '%', lowerIsBetter: true },
        s,
        b.serverKernelShare,
      );
      put(
        { key: `${base}.pause`, scenario, metric: 'longest event-loop pause: server', unit: 'ms', lowerIsBetter: true },
        s,
        b.serverLoopMaxMs,
      );
      put(
        { key: `${base}.lgpause`, scenario, metric: 'longest event-loop pause: load generator', unit: 'ms', lowerIsBetter: true },
        s,
        b.loadgenLoopMaxMs,
      );
      put(
        { key: `${base}.late`, scenario, metric: 'latest publish after its due time (generator)', unit: 'ms', lowerIsBetter: true },
        s,
        b.loadgenLateMaxMs,
      );
      put({ key: `${base}.lgcpu`, scenario, metric: 'load generator CPU', unit: '% core', lowerIsBetter: true }, s, b.loadgenCpuPercent);
    }
    const stall = (name: string, key: string, f: StallFigure | undefined) => {
      if (!f) return;
      const scenario = `${name}: ${f.step.stalled} of ${f.step.healthy + f.step.stalled} stop reading, ${f.step.rate}/s × ~${Math.round((f.step.padBytes + 200) / 1000)} KB`;
      putTail(
        { key: `${key}.p99`, scenario, what: 'healthy: latency', unit: 'ms', lowerIsBetter: true, speed: true },
        0.99,
        s,
        f.healthy.latency,
      );
      putTail(
        { key: `${key}.last99`, scenario, what: 'healthy: last subscriber has it', unit: 'ms', lowerIsBetter: true },
        0.99,
        s,
        f.healthy.lastSubscriber,
      );
      put(
        { key: `${key}.pause`, scenario, metric: 'longest event-loop pause: server', unit: 'ms', lowerIsBetter: true },
        s,
        f.serverLoopMaxMs,
      );
      put(
        { key: `${key}.lgpause`, scenario, metric: 'longest event-loop pause: load generator', unit: 'ms', lowerIsBetter: true },
        s,
        f.healthy.loadgenLoopMaxMs,
      );
      put({ key: `${key}.missing`, scenario, metric: 'healthy: deliveries missing', unit: '', lowerIsBetter: true }, s, f.healthy.missing);
      put(
        { key: `${key}.growth`, scenario, metric: 'server RSS growth, peak', unit: 'MB', lowerIsBetter: true },
        s,
        (f.rssPeak - f.rssBefore) / 1e6,
      );
      put(
        { key: `${key}.heap`, scenario, metric: 'server heap + buffers growth (after GC, at end)', unit: 'MB', lowerIsBetter: true },
        s,
        (f.heapAfter - f.heapBefore) / 1e6,
      );
      put(
        { key: `${key}.ended`, scenario, metric: 'stalled subscribers cut off', unit: '', lowerIsBetter: false },
        s,
        f.cutOffCount ?? f.stalledEnded,
      );
      if (f.overflowSeconds !== null)
        put(
          {
            key: `${key}.overflow`,
            scenario,
            metric: 'all stalled at the backlog bound (no more live writes) after',
            unit: 's',
            lowerIsBetter: true,
          },
          s,
          f.overflowSeconds,
        );
      if (f.cutOffSeconds !== null)
        put({ key: `${key}.cutoff`, scenario, metric: 'all stalled cut off after', unit: 's', lowerIsBetter: true }, s, f.cutOffSeconds);
    };
    stall('Slow subscribers', 'slow', s.slow);
    stall('Stall pressure', 'pressure', s.stallPressure);
    if (s.ack) {
      const { withSubscribers: w, without: o } = s.ack;
      const scenario = `Acknowledgements at ${s.ack.rate}/s (open loop), with ${s.ack.subscribers} subscribers and with none`;
      put(
        {
          key: 'ack.with.p50',
          scenario,
          metric: `ack p50 with ${s.ack.subscribers} subscribers (from when due)`,
          unit: 'ms',
          lowerIsBetter: true,
        },
        s,
        w.ack.p50,
      );
      putTail(
        { key: 'ack.with.p99', scenario, what: `ack with ${s.ack.subscribers} subscribers`, unit: 'ms', lowerIsBetter: true },
        0.99,
        s,
        w.ack,
      );
      put({ key: 'ack.none.p50', scenario, metric: 'ack p50 with no subscriber', unit: 'ms', lowerIsBetter: true }, s, o.ack.p50);
      putTail({ key: 'ack.none.p99', scenario, what: 'ack with no subscriber', unit: 'ms', lowerIsBetter: true }, 0.99, s, o.ack);
      putTail({ key: 'ack.with.latency', scenario, what: 'delivery latency', unit: 'ms', lowerIsBetter: true }, 0.99, s, w.latency);
      put({ key: 'ack.with.missing', scenario, metric: 'deliveries missing', unit: '', lowerIsBetter: true }, s, w.missing);
      put(
        { key: 'ack.pause', scenario, metric: 'longest event-loop pause: server', unit: 'ms', lowerIsBetter: true },
        s,
        s.ack.serverLoopMaxMs,
      );
    }
    if (s.sustained) {
      const r = s.sustained;
      const scenario = `Sustained: ${r.published} events to ${r.subscribers} subscribers, as fast as answered`;
      put(
        { key: 'sustained.rate', scenario, metric: 'events/s every subscriber received', unit: '/s', lowerIsBetter: false },
        s,
        r.eventsPerSecond,
      );
      put(
        { key: 'sustained.published', scenario, metric: 'publishes answered/s', unit: '/s', lowerIsBetter: false },
        s,
        r.publishesPerSecond,
      );
      put({ key: 'sustained.missing', scenario, metric: 'deliveries missing', unit: '', lowerIsBetter: true }, s, r.missing);
      put({ key: 'sustained.p50', scenario, metric: 'delivery latency p50', unit: 'ms', lowerIsBetter: true }, s, r.latency.p50);
      putTail({ key: 'sustained.p99', scenario, what: 'delivery latency', unit: 'ms', lowerIsBetter: true }, 0.99, s, r.latency);
      put(
        { key: 'sustained.pause', scenario, metric: 'longest event-loop pause: server', unit: 'ms', lowerIsBetter: true },
        s,
        r.serverLoopMaxMs,
      );
      put({ key: 'sustained.cpu', scenario, metric: 'server CPU', unit: '% core', lowerIsBetter: true }, s, r.serverCpuPercent);
    }
    if (s.durable) {
      const scenario = `Publishing, ${s.durable.concurrency} keep-alive connections (closed loop)`;
      put(
        {
          key: 'durable.rate',
          scenario,
          metric: 'publishes/s (Herald, floor: answered after the commit)',
          unit: '/s',
          lowerIsBetter: false,
        },
        s,
        s.durable.perSecond,
      );
      put({ key: 'durable.p50', scenario, metric: 'ack latency p50', unit: 'ms', lowerIsBetter: true }, s, s.durable.ack.p50);
      putTail({ key: 'durable.p99', scenario, what: 'ack latency', unit: 'ms', lowerIsBetter: true }, 0.99, s, s.durable.ack);
      put({ key: 'durable.errors', scenario, metric: 'errors', unit: '', lowerIsBetter: true }, s, s.durable.errors);
    }
    if (s.replay) {
      const scenario = `Replay of ${s.replay.events / 1000}k missed events`;
      put({ key: 'replay.all', scenario, metric: 'until the last frame', unit: 'ms', lowerIsBetter: true }, s, s.replay.allFramesMs ?? NaN);
      put(
        { key: 'replay.first', scenario, metric: 'until the first frame', unit: 'ms', lowerIsBetter: true },
        s,
        s.replay.firstFrameMs ?? NaN,
      );
      put({ key: 'replay.frames', scenario, metric: 'frames received', unit: '', lowerIsBetter: false }, s, s.replay.frames);
    }
  }
  // Each tail figure, once for every run: a percentile only where every run's samples back it.
  const byKey = new Map<string, typeof tails>();
  for (const t of tails) byKey.set(t.f.key, [...(byKey.get(t.f.key) ?? []), t]);
  for (const [, list] of byKey) {
    const { f, q } = list[0]!;
    const minCount = Math.min(...list.map((t) => t.summary.count));
    const backed = backs(minCount, q);
    const name = q >= 0.999 ? 'p99.9' : 'p99';
    const metric = backed ? `${f.what} ${name}` : `${f.what}, max (${name} not backed: ${minCount.toLocaleString('en-US')} samples)`;
    const { what: _what, ...rest } = f;
    for (const t of list) put({ ...rest, metric }, t.s, backed ? (q >= 0.999 ? t.summary.p999 : t.summary.p99) : t.summary.max);
  }
  const rank = (key: string) =>
    ['idle', 'broadcast', 'slow', 'pressure', 'ack', 'sustained', 'durable', 'replay'].indexOf(key.split('.')[0]!);
  const order = (key: string) => {
    const [head, a, b] = key.split('.');
    return head === 'broadcast' ? Number(a) * 1000 + Number(b) : head === 'idle' ? Number(a) : 0;
  };
  const insertion = [...figures.keys()];
  return [...figures.values()].sort(
    (x, y) => rank(x.key) - rank(y.key) || order(x.key) - order(y.key) || insertion.indexOf(x.key) - insertion.indexOf(y.key),
  );
}

/** Per repetition, a / b (both figures of the same repetition). */
function paired(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / (b[i] ?? NaN)).filter((x) => Number.isFinite(x));
}

function describe(j: Judgement, unit: string): string {
  if (j.verdict === 'not measured') return 'not measured';
  const spread =
    j.count === 1 ? '1 run, ±10% assumed' : `${j.count} ${j.count >= 5 ? 'values, quartiles' : 'runs, range'} ${fmt(j.low)}–${fmt(j.high)}`;
  return `${fmt(j.value)}${unit} (${spread})`;
}

function check(
  goal: string,
  target: string,
  values: number[],
  limit: number,
  better: 'lower' | 'higher',
  unit: string,
  basis: string,
  group: GoalCheck['group'] = 'issue 14',
): GoalCheck {
  const j = judge(values, limit, better);
  return { goal, target, value: describe(j, unit), verdict: j.verdict, basis, group };
}

export interface GoalInputs {
  figures: Figure[];
  sessions: SessionResult[];
  maxBacklogBytes: number;
  cli?: CliResult | undefined;
  startup?: StartupResult | undefined;
}

/** Issue #14's goals, each a ratio within this run, then the earlier ones that still apply. */
export function checkGoals({ figures, sessions, maxBacklogBytes, cli, startup }: GoalInputs): GoalCheck[] {
  const byKey = new Map(figures.map((f) => [f.key, f]));
  const of = (key: string, kind: string) => series(byKey.get(key), kind);
  const metricOf = (key: string) => byKey.get(key)?.metric ?? key;
  const goals: GoalCheck[] = [];

  for (const g of cli?.goals ?? [])
    goals.push({
      goal: g.goal,
      target: `≤ ${g.limit}×`,
      value: describe(g.judgement, '×'),
      verdict: g.judgement.verdict,
      basis: `the ratio in each of ${g.ratios.length} rounds`,
      group: 'issue 14',
    });

  const ackWith = of('ack.with.p99', 'herald');
  goals.push(
    check(
      `publisher ack with ${sessions.find((s) => s.ack)?.ack?.subscribers ?? 3000} subscribers ≤ 0.35× the seed server's`,
      '≤ 0.35×',
      paired(ackWith, of('ack.with.p99', 'seed')),
      0.35,
      'lower',
      '×',
      `${metricOf('ack.with.p99')}, Herald ÷ seed server, per repetition`,
    ),
  );
  goals.push(
    check(
      "publisher ack with subscribers ≤ 2× Herald's own with none",
      '≤ 2×',
      paired(ackWith, of('ack.none.p99', 'herald')),
      2,
      'lower',
      '×',
      `${metricOf('ack.with.p99')} ÷ ${metricOf('ack.none.p99')}, per repetition`,
    ),
  );

  goals.push(
    check(
      'sustained rate ≥ 1.2× the floor',
      '≥ 1.2×',
      paired(of('sustained.rate', 'herald'), of('sustained.rate', 'floor')),
      1.2,
      'higher',
      '×',
      'events/s every subscriber received, Herald ÷ floor, per repetition',
    ),
  );
  const missing = of('sustained.missing', 'herald');
  if (missing.length)
    goals.push({
      goal: 'sustained: nothing lost',
      target: '0 missing',
      value: `${Math.max(...missing)} missing at most`,
      verdict: missing.every((m) => m === 0) ? 'met' : 'missed',
      basis: `every repetition (${missing.length})`,
      group: 'issue 14',
    });
  goals.push(
    check(
      'sustained: longest event-loop pause bounded',
      '≤ 50 ms',
      of('sustained.pause', 'herald'),
      50,
      'lower',
      ' ms',
      `Herald's longest pause while it ran, per repetition (the floor's: ${fmt(valueOf(byKey.get('sustained.pause'), 'floor'))} ms)`,
    ),
  );

  for (const streams of [5000, 10_000]) {
    const key = `idle.${streams}.rss`;
    if (!byKey.has(key)) {
      goals.push({
        goal: `memory per idle stream at ${streams / 1000}k ≤ 1.1× bare node:http`,
        target: '≤ 1.1×',
        value: 'not measured',
        verdict: 'not measured',
        basis: `no ${streams}-stream idle scenario in this run (plan.idle.streams: the full pass has 1k, 5k and 10k)`,
        group: 'issue 14',
      });
      continue;
    }
    goals.push(
      check(
        `memory per idle stream at ${streams / 1000}k ≤ 1.1× bare node:http`,
        '≤ 1.1×',
        paired(of(key, 'herald'), of(key, 'floor')),
        1.1,
        'lower',
        '×',
        'RSS per stream, Herald ÷ floor, per repetition',
      ),
    );
  }
  for (const g of startup?.goals ?? [])
    goals.push({
      goal: g.goal,
      target: `≤ ${g.limit}×`,
      value: describe(g.judgement, '×'),
      verdict: g.judgement.verdict,
      basis: g.basis,
      group: 'issue 14',
    });
  goals.push(
    check(
      'replay of 10k missed events ≤ 1.3× the floor',
      '≤ 1.3×',
      paired(of('replay.all', 'herald'), of('replay.all', 'floor')),
      1.3,
      'lower',
      '×',
      'until the last frame, Herald ÷ floor, per repetition',
    ),
  );

  // Earlier goals that still hold: the memory bound under stalled subscribers, and keeping up with
  // the faster of the two peers wherever they share the work.
  const stalled = sessions.find((s) => s.kind === 'herald' && s.stallPressure)?.stallPressure;
  if (stalled) {
    const bound = Math.round((stalled.step.stalled * maxBacklogBytes) / 1e6 + 64);
    const cut = valueOf(byKey.get('pressure.ended'), 'herald');
    goals.push(
      check(
        `stalled subscribers never grow the server's memory past a fixed bound (${stalled.step.stalled} × ${maxBacklogBytes / 2 ** 20} MiB + 64 MB slack; peak RSS growth)`,
        `≤ ${bound} MB`,
        of('pressure.growth', 'herald'),
        bound,
        'lower',
        ' MB',
        `Herald cut off ${Number.isFinite(cut) ? Math.round(cut) : '–'}/${stalled.step.stalled} stalled; the peers grew ${fmt(valueOf(byKey.get('pressure.growth'), 'seed'))} MB (seed) and ${fmt(valueOf(byKey.get('pressure.growth'), 'better-sse'))} MB (better-sse)`,
        'earlier',
      ),
    );
  }
  for (const f of figures.filter((x) => x.speed)) {
    const h = series(f, 'herald');
    const peers = PEERS.map((k) => series(f, k));
    if (!h.some((v) => Number.isFinite(v))) continue;
    // No peer in a repetition (a run with --only) is no comparison: NaN, never Math.min() of nothing
    // (Infinity, which made Herald's ratio 0 and the goal "met").
    const best = h.map((_, i) => {
      const measured = peers.map((p) => p[i] ?? NaN).filter((v) => Number.isFinite(v));
      return measured.length > 0 ? Math.min(...measured) : NaN;
    });
    const ratios = paired(h, best);
    goals.push(
      check(
        `as fast as the faster peer: ${f.scenario}, ${f.metric}`,
        '≤ 1× the faster peer',
        ratios,
        1,
        'lower',
        '×',
        'Herald ÷ the faster of seed server and better-sse, per repetition',
        'earlier',
      ),
    );
  }
  return goals;
}

export interface RunReport {
  machine: MachineInfo;
  plan: Plan;
  limit: FileLimit;
  durationSeconds: number;
  order: string[][];
  /** The scenarios this run included. */
  scenarios: string[];
  sessions: SessionResult[];
  cli?: CliResult | undefined;
  startup?: StartupResult | undefined;
  client: ClientResult | { skipped: string } | null;
  figures: Figure[];
  goals: GoalCheck[];
  /** Node flags given to Herald's process for this run (--herald-node-flags=), if any. */
  heraldNodeFlags: string[];
  load: LoadSummary;
  /** Set when only some servers ran (--only). */
  only?: string[];
  /** Servers beside the four (`--baseline=REV`: Herald at that revision). */
  extraServers?: Array<{ kind: string; label: string }>;
}

function cell(figure: Figure, kind: string): string {
  const values = series(figure, kind).filter((v) => Number.isFinite(v));
  if (values.length === 0) return '–';
  const m = median(values);
  const digits = figure.unit === '/s' || figure.unit === '' ? Math.round(m).toLocaleString('en-US') : fmt(m);
  return values.length > 1 ? `${digits} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : digits;
}

function ratioCell(figure: Figure, to: 'floor' | 'peers'): string {
  const h = valueOf(figure, 'herald');
  const other =
    to === 'floor'
      ? valueOf(figure, 'floor')
      : (figure.lowerIsBetter ? Math.min : Math.max)(...PEERS.map((k) => valueOf(figure, k)).filter((v) => Number.isFinite(v)));
  if (!Number.isFinite(h) || !Number.isFinite(other) || other === 0 || figure.unit === '') return '';
  return `${(h / other).toFixed(2)}`;
}

/** A markdown table; the console prints the same text. */
export function figuresTable(figures: Figure[], extraServers: ReadonlyArray<{ kind: string; label: string }> = []): string {
  const columns = [...SERVERS, ...extraServers];
  const kinds = columns.map((s) => s.kind);
  const lines = [
    `| Scenario | Metric | ${columns.map((s) => s.label).join(' | ')} | Herald/floor | Herald/peers |`,
    `|---|---|${columns.map(() => '--:').join('|')}|--:|--:|`,
  ];
  let last = '';
  for (const f of figures) {
    const scenario = f.scenario === last ? '' : f.scenario;
    last = f.scenario;
    lines.push(
      `| ${scenario} | ${f.metric}${f.unit ? ` (${f.unit})` : ''} | ${kinds.map((k) => cell(f, k)).join(' | ')} | ${ratioCell(f, 'floor')} | ${ratioCell(f, 'peers')} |`,
    );
  }
  return lines.join('\n');
}

export function goalsTable(goals: GoalCheck[]): string {
  const lines = ['| Goal | Target | Herald | Result | Based on |', '|---|---|--:|---|---|'];
  let group = '';
  for (const g of goals) {
    if (g.group !== group) {
      group = g.group;
      lines.push(`| **${group === 'issue 14' ? 'Issue #14: each a ratio within this run' : 'Earlier goals'}** | | | | |`);
    }
    lines.push(`| ${g.goal} | ${g.target} | ${g.value} | **${g.verdict}** | ${g.basis} |`);
  }
  return lines.join('\n');
}

export function goalCount(goals: GoalCheck[]): string {
  const count = (v: Verdict) => goals.filter((g) => g.verdict === v).length;
  return `${count('met')} met, ${count('within noise')} within noise, ${count('missed')} missed, ${count('not measured')} not measured, of ${goals.length}`;
}

export function clientSection(client: RunReport['client']): string {
  if (!client) return 'Not run.';
  if ('skipped' in client) return `Skipped: ${client.skipped}.`;
  const tailText = backs(client.latency.count, 0.99)
    ? `p50 / p99 / max ${fmt(client.latency.p50)} / ${fmt(client.latency.p99)} / ${fmt(client.latency.max)} ms`
    : `p50 / max ${fmt(client.latency.p50)} / ${fmt(client.latency.max)} ms (${client.latency.count} events: too few for a p99)`;
  return [
    `Herald's own FeedClient (feed/client.ts, the eventsource package underneath) in its own process, publishing with fetch and timing each event until its onEvent, on one monotonic clock:`,
    '',
    '| Metric | Value |',
    '|---|--:|',
    `| events delivered | ${client.delivered} / ${client.events} |`,
    `| publish → onEvent latency | ${tailText} |`,
    `| stream open after start() | ${fmt(client.openMs)} ms |`,
    `| idle wake-ups (voluntary context switches, all threads) | ${client.wakeupsPerMinute.toFixed(1)} /min |`,
    `| idle wake-ups of the main thread (event loop) | ${client.mainThreadWakeupsPerMinute.toFixed(1)} /min |`,
    `| idle CPU over ${client.idleSeconds} s with the stream open | ${client.idleCpuMs} ms |`,
    '',
    `Idle means an open stream and nothing published, with the server's default ${client.heartbeatMs / 1000} s heartbeat; /proc counts CPU in 10 ms ticks.`,
  ].join('\n');
}

export function startupTable(startup: StartupResult): string {
  const row = (label: string, xs: number[]) =>
    `| ${label} | ${xs.length ? `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})` : '–'} | ${xs.length && startup.bare.length ? (median(xs) / median(startup.bare)).toFixed(2) : ''} |`;
  const lines = [
    '| Start to the first 200 from /health | ms, median (range) | × bare server |',
    '|---|--:|--:|',
    row('bare node:http server (bench/bare-server.mjs)', startup.bare),
    row('`herald serve`, empty log', startup.emptyLog),
    row(`\`herald serve\`, ${startup.largeLog.toLocaleString('en-US')} events`, startup.largeLogMs),
    row(`… until retention had pruned it to ${startup.kept.toLocaleString('en-US')}`, startup.prunedMs),
  ];
  if (startup.replay) {
    const { herald, floor, events } = startup.replay;
    lines.push(
      '',
      `Replay from 0 of the ${events.toLocaleString('en-US')} events kept: Herald ${fmt(herald.allFramesMs)} ms (${herald.frames} frames), the floor on the same file ${fmt(floor.allFramesMs)} ms (${floor.frames} frames).`,
    );
  }
  return lines.join('\n');
}

export function renderMarkdown(report: RunReport): string {
  const m = report.machine;
  const errors = report.sessions.flatMap((s) => s.errors.map((e) => `- ${s.label} (run ${s.repetition}): ${e.split('\n')[0]}`));
  const load = describeLoad(report.load);
  const settings = [
    ...HERALD_CHANGED_SETTINGS.map((s) => `\`${s.setting}: ${JSON.stringify(s.value)}\` (${s.why})`),
    ...(report.heraldNodeFlags.length
      ? [`Node flags \`${report.heraldNodeFlags.join(' ')}\` (given with --herald-node-flags for this run: NOT the shipped configuration)`]
      : []),
  ];
  return [
    '# Herald benchmark results',
    '',
    `Generated by \`npm run bench${report.plan.name === 'full' ? ' -- --full' : ''}\` (${report.plan.name} pass, ${report.plan.repetitions} repetition${report.plan.repetitions > 1 ? 's' : ''} per server, order shuffled per repetition; a cell with several runs shows the median and the range). Took ${Math.round(report.durationSeconds)} s. This file says only what this run measured; hand-written analysis is kept apart, dated, in bench/analysis/.`,
    '',
    ...(load.quiet
      ? []
      : [
          '> **WARNING: the machine was not quiet during this run** (1-minute load average above 1 before it started, or other work averaging more than one runnable thread while it ran). Read the ratios within the run; the milliseconds are inflated.',
          '',
        ]),
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`,
    `- Node ${m.node}; ${m.date}`,
    `- ${report.limit.note}`,
    `- Load: ${load.line}`,
    `- Scenarios: ${report.scenarios.join(', ')}`,
    `- Every server and the load generator run in processes of their own on the same machine (they share its ${m.cores} cores); servers listen on 127.0.0.1, subscribers connect from 127.0.0.2 upward.`,
    `- Herald runs as shipped (durable SQLite log in a temp dir, a log line per stream on stderr, its web UI's static files, every limit at its default) except: ${settings.join('; ')}.`,
    "- The floor (bench/baselines/floor-server.ts) is bare node:http doing the same work as plainly as Node allows: the same SQLite commit per turn, each frame built once and written to every socket, replay read and framed straight from SQLite. Herald/floor is what Herald's own code costs; Herald/peers compares with the faster of the seed server and better-sse.",
    '',
    `## Goals (${goalCount(report.goals)})`,
    '',
    'A goal is **met** only when its whole spread (quartiles from 5 values on, else the range over repetitions, or ±10% for a single run) meets it, **missed** when the whole spread misses it, and **within noise** otherwise.',
    '',
    goalsTable(report.goals),
    '',
    '## Every figure, side by side',
    '',
    'Latency runs from when each publish was due on the generator\'s schedule (not from when it was sent: no coordinated omission) to when the load generator reads the event on a subscriber socket (one process, one monotonic clock). A p99 or p99.9 is printed only where every run has at least 10 samples beyond it; otherwise the row gives the maximum and says so. "Last subscriber has it" is, per event, the time until every subscriber had it. Memory per stream is (RSS after the streams opened and settled, after a GC) minus (RSS before), divided by the streams. The seed server and better-sse store nothing; Herald and the floor answer a publish only after the SQLite commit.',
    '',
    figuresTable(report.figures, report.extraServers),
    '',
    ...(report.cli
      ? [
          '## Command-line start-up',
          '',
          `Each command ran once per round (${report.cli.rounds} rounds, shuffled order, after two warm-up runs each filling the compile cache); "× raw POST" is the ratio of the medians, the goals use the ratio within each round.`,
          '',
          cliTable(report.cli),
          '',
        ]
      : []),
    ...(report.startup ? ['## Server start-up and replay with a large log', '', startupTable(report.startup), ''] : []),
    '## The client side',
    '',
    clientSection(report.client),
    '',
    ...(errors.length ? ['## Errors during the run', '', ...errors, ''] : []),
    '## How the scenarios are run',
    '',
    `Plan \`${report.plan.name}\`: ${JSON.stringify({ cli: report.plan.cli, idle: report.plan.idle, broadcast: report.plan.broadcast, slow: report.plan.slow, stallPressure: report.plan.stallPressure, ack: report.plan.ack, sustained: report.plan.sustained, durable: report.plan.durable, replay: report.plan.replay, startup: report.plan.startup, client: report.plan.client })}`,
    '',
    '- Subscribers are raw sockets in the load generator (bench/loadgen.ts): a hand-written GET, the chunked coding undone, SSE blocks found by their blank line. Each opened batch is confirmed by a warm-up event every subscriber must receive before anything is measured (published again every 0.5 s until each has had one: a stream the server registers after the first one gets the next).',
    '- Broadcast and acknowledgement scenarios publish open loop (each publish due at start + i / rate, from a pool of 4 connections); latencies and acks run from the due time. The sustained and publishing scenarios are closed loop (a publisher sends again when answered).',
    '- The slow-subscriber scenarios pause the sockets of the stalled subscribers. The kernel absorbs about 4 MB per loopback socket before the server\'s own buffers grow at all, so "stall pressure" sends each stalled socket well over that (few healthy subscribers, many ~4 KB events) to show the bound.',
    report.plan.idle.cpuWindowMs >= 15_000
      ? "- Idle CPU and wake-ups are read over the plan's cpuWindowMs at the largest stream count (2 s at the others, too short to include the heartbeats of Herald (15 s) and better-sse (10 s))."
      : `- Idle CPU and wake-ups are read over ${report.plan.idle.cpuWindowMs / 1000} s only, too short to include the heartbeats of Herald (15 s) and better-sse (10 s): for idle CPU, read the full pass (\`npm run bench -- --full\`), which waits 15.5 s.`,
    '',
  ].join('\n');
}
