// Turns the sessions' raw results into figures side by side (median over repetitions), checks the
// issue's goals, and renders the console table and bench/RESULTS.md.
import type { MachineInfo } from './proc.ts';
import type { FileLimit } from './child.ts';
import type { Plan } from './plan.ts';
import { SERVERS } from './plan.ts';
import { median } from './stats.ts';
import { fmt, type ClientResult, type SessionResult, type StallFigure } from './scenarios.ts';

export interface Figure {
  key: string;
  scenario: string;
  metric: string;
  unit: string;
  /** For "Herald at least as fast as the faster baseline": lower is better when true. */
  lowerIsBetter: boolean;
  /** Compared with the faster baseline (a shared speed scenario). */
  speed?: boolean;
  values: Record<string, number[]>;
}

export interface GoalCheck {
  goal: string;
  target: string;
  value: string;
  met: boolean | null;
  margin: string;
}

export function collectFigures(sessions: SessionResult[]): Figure[] {
  const figures = new Map<string, Figure>();
  const put = (f: Omit<Figure, 'values'>, kind: string, value: number | null | undefined) => {
    if (value === null || value === undefined) return;
    let figure = figures.get(f.key);
    if (!figure) figures.set(f.key, (figure = { ...f, values: {} }));
    (figure.values[kind] ??= []).push(value);
  };
  for (const s of sessions) {
    const k = s.kind;
    for (const i of s.idle) {
      const scenario = `Idle, ${i.streams} streams`;
      put({ key: `idle.${i.streams}.opened`, scenario, metric: 'streams open and confirmed', unit: '', lowerIsBetter: false }, k, i.confirmed);
      put({ key: `idle.${i.streams}.rss`, scenario, metric: 'memory per stream (RSS)', unit: 'KB', lowerIsBetter: true }, k, i.bytesPerStream / 1024);
      put({ key: `idle.${i.streams}.heap`, scenario, metric: 'memory per stream (JS heap + buffers)', unit: 'KB', lowerIsBetter: true }, k, i.heapBytesPerStream / 1024);
      put({ key: `idle.${i.streams}.cpu`, scenario, metric: 'idle CPU', unit: '% core', lowerIsBetter: true }, k, i.cpuPercent);
      put({ key: `idle.${i.streams}.wakeups`, scenario, metric: 'idle wake-ups', unit: '/min', lowerIsBetter: true }, k, i.wakeupsPerMinute);
    }
    for (const b of [...s.broadcast].sort((x, y) => x.subscribers - y.subscribers || x.rate - y.rate)) {
      const scenario = `Broadcast, ${b.subscribers} subs × ${b.rate}/s`;
      const base = `broadcast.${b.subscribers}.${b.rate}`;
      put({ key: `${base}.p50`, scenario, metric: 'latency p50', unit: 'ms', lowerIsBetter: true }, k, b.latency.p50);
      put({ key: `${base}.p99`, scenario, metric: 'latency p99', unit: 'ms', lowerIsBetter: true, speed: true }, k, b.latency.p99);
      put({ key: `${base}.p999`, scenario, metric: 'latency p99.9', unit: 'ms', lowerIsBetter: true }, k, b.latency.p999);
      put({ key: `${base}.last50`, scenario, metric: 'last subscriber has it, p50', unit: 'ms', lowerIsBetter: true }, k, b.lastSubscriber.p50);
      put({ key: `${base}.last99`, scenario, metric: 'last subscriber has it, p99', unit: 'ms', lowerIsBetter: true, speed: true }, k, b.lastSubscriber.p99);
      put({ key: `${base}.dps`, scenario, metric: 'deliveries/s', unit: '/s', lowerIsBetter: false }, k, b.deliveriesPerSecond);
      put({ key: `${base}.missing`, scenario, metric: 'deliveries missing', unit: '', lowerIsBetter: true }, k, b.missing);
      put({ key: `${base}.cpu`, scenario, metric: 'server CPU', unit: '% core', lowerIsBetter: true }, k, b.serverCpuPercent);
      put({ key: `${base}.kernel`, scenario, metric: 'share of server CPU in the kernel', unit: '%', lowerIsBetter: true }, k, b.serverKernelShare);
      put({ key: `${base}.pause`, scenario, metric: 'longest event-loop pause: server', unit: 'ms', lowerIsBetter: true }, k, b.serverLoopMaxMs);
      put({ key: `${base}.lgpause`, scenario, metric: 'longest event-loop pause: load generator', unit: 'ms', lowerIsBetter: true }, k, b.loadgenLoopMaxMs);
      put({ key: `${base}.lgcpu`, scenario, metric: 'load generator CPU', unit: '% core', lowerIsBetter: true }, k, b.loadgenCpuPercent);
    }
    const stall = (name: string, key: string, f: StallFigure | undefined) => {
      if (!f) return;
      const scenario = `${name}: ${f.step.stalled} of ${f.step.healthy + f.step.stalled} stop reading, ${f.step.rate}/s × ~${Math.round((f.step.padBytes + 200) / 1000)} KB`;
      put({ key: `${key}.p99`, scenario, metric: 'healthy: latency p99', unit: 'ms', lowerIsBetter: true, speed: true }, k, f.healthy.latency.p99);
      put({ key: `${key}.last99`, scenario, metric: 'healthy: last subscriber p99', unit: 'ms', lowerIsBetter: true }, k, f.healthy.lastSubscriber.p99);
      put({ key: `${key}.pause`, scenario, metric: 'longest event-loop pause: server', unit: 'ms', lowerIsBetter: true }, k, f.serverLoopMaxMs);
      put({ key: `${key}.lgpause`, scenario, metric: 'longest event-loop pause: load generator', unit: 'ms', lowerIsBetter: true }, k, f.healthy.loadgenLoopMaxMs);
      put({ key: `${key}.missing`, scenario, metric: 'healthy: deliveries missing', unit: '', lowerIsBetter: true }, k, f.healthy.missing);
      put({ key: `${key}.growth`, scenario, metric: 'server RSS growth, peak', unit: 'MB', lowerIsBetter: true }, k, (f.rssPeak - f.rssBefore) / 1e6);
      put({ key: `${key}.heap`, scenario, metric: 'server heap + buffers growth (after GC, at end)', unit: 'MB', lowerIsBetter: true }, k, (f.heapAfter - f.heapBefore) / 1e6);
      put({ key: `${key}.ended`, scenario, metric: 'stalled subscribers cut off', unit: '', lowerIsBetter: false }, k, f.cutOffCount ?? f.stalledEnded);
      if (f.overflowSeconds !== null) put({ key: `${key}.overflow`, scenario, metric: 'all stalled at the backlog bound (no more live writes) after', unit: 's', lowerIsBetter: true }, k, f.overflowSeconds);
      if (f.cutOffSeconds !== null) put({ key: `${key}.cutoff`, scenario, metric: 'all stalled cut off after', unit: 's', lowerIsBetter: true }, k, f.cutOffSeconds);
    };
    stall('Slow subscribers', 'slow', s.slow);
    stall('Stall pressure', 'pressure', s.stallPressure);
    if (s.durable) {
      const scenario = `Publishing, ${s.durable.concurrency} keep-alive connections`;
      put({ key: 'durable.rate', scenario, metric: 'publishes/s (Herald: acked after commit)', unit: '/s', lowerIsBetter: false }, k, s.durable.perSecond);
      put({ key: 'durable.p50', scenario, metric: 'ack latency p50', unit: 'ms', lowerIsBetter: true }, k, s.durable.ack.p50);
      put({ key: 'durable.p99', scenario, metric: 'ack latency p99', unit: 'ms', lowerIsBetter: true }, k, s.durable.ack.p99);
      put({ key: 'durable.errors', scenario, metric: 'errors', unit: '', lowerIsBetter: true }, k, s.durable.errors);
    }
    if (s.replay) {
      put({ key: 'replay.all', scenario: 'Replay of 10k missed events', metric: 'until the last frame', unit: 'ms', lowerIsBetter: true }, k, s.replay.allFramesMs ?? NaN);
      put({ key: 'replay.first', scenario: 'Replay of 10k missed events', metric: 'until the first frame', unit: 'ms', lowerIsBetter: true }, k, s.replay.firstFrameMs ?? NaN);
      put({ key: 'replay.frames', scenario: 'Replay of 10k missed events', metric: 'frames received', unit: '', lowerIsBetter: false }, k, s.replay.frames);
    }
  }
  // Scenario order, whichever server happened to report a figure first.
  const rank = (key: string) => ['idle', 'broadcast', 'slow', 'pressure', 'durable', 'replay'].indexOf(key.split('.')[0]!);
  const broadcastOrder = (key: string) => {
    const [, subs, rate] = key.split('.');
    return key.startsWith('broadcast.') ? Number(subs) * 1000 + Number(rate) : key.startsWith('idle.') ? Number(subs) : 0;
  };
  return [...figures.values()].sort((a, b) => rank(a.key) - rank(b.key) || broadcastOrder(a.key) - broadcastOrder(b.key));
}

export function valueOf(figure: Figure | undefined, kind: string): number {
  return figure ? median(figure.values[kind] ?? []) : NaN;
}

function pct(a: number, b: number): string {
  return `${Math.abs(((a - b) / b) * 100).toFixed(0)}%`;
}

function atMost(goal: string, value: number, limit: number, unit: string): GoalCheck {
  if (!Number.isFinite(value)) return { goal, target: `≤ ${limit} ${unit}`, value: 'not measured', met: null, margin: '' };
  const met = value <= limit;
  return { goal, target: `≤ ${limit} ${unit}`, value: `${fmt(value)} ${unit}`, met, margin: met ? `met, ${fmt(limit - value)} ${unit} to spare` : `missed by ${fmt(value - limit)} ${unit} (${pct(value, limit)})` };
}

function atLeast(goal: string, value: number, limit: number, unit: string): GoalCheck {
  if (!Number.isFinite(value)) return { goal, target: `≥ ${limit} ${unit}`, value: 'not measured', met: null, margin: '' };
  const met = value >= limit;
  return { goal, target: `≥ ${limit} ${unit}`, value: `${fmt(value)} ${unit}`, met, margin: met ? `met, ${pct(value, limit)} above` : `missed by ${fmt(limit - value)} ${unit} (${pct(value, limit)} short)` };
}

export function checkGoals(figures: Figure[], sessions: SessionResult[], maxBacklogBytes: number): GoalCheck[] {
  const byKey = new Map(figures.map((f) => [f.key, f]));
  const herald = (key: string) => valueOf(byKey.get(key), 'herald');
  const goals: GoalCheck[] = [];
  const g1 = atMost('5k subscribers at 10 events/s: last subscriber has each event (p99)', herald('broadcast.5000.10.last99'), 50, 'ms');
  if (herald('broadcast.5000.10.missing') > 0) g1.margin += ` (and ${herald('broadcast.5000.10.missing')} deliveries missing)`;
  goals.push(g1);
  const idleKeys = figures.filter((f) => /^idle\.\d+\.rss$/.test(f.key));
  const worst = idleKeys.length ? Math.max(...idleKeys.map((f) => valueOf(f, 'herald'))) : NaN;
  const worstAt = idleKeys.find((f) => valueOf(f, 'herald') === worst);
  goals.push(atMost(`memory per idle stream (worst of ${idleKeys.map((f) => f.key.split('.')[1]).join('/')} streams${worstAt ? `, at ${worstAt.key.split('.')[1]}` : ''})`, worst, 20, 'KB'));
  goals.push(atLeast('durable publishes/s', herald('durable.rate'), 10_000, '/s'));
  goals.push(atMost('durable publish: acknowledgement p99', herald('durable.p99'), 20, 'ms'));
  goals.push(atMost('replay of 10k missed events', herald('replay.all'), 200, 'ms'));
  // The bound shows only where each stalled socket is sent more than the kernel holds (~4 MB per
  // loopback socket): the stall-pressure scenario. In the 1%-of-1k scenario nobody reaches it.
  const stalled = sessions.find((s) => s.kind === 'herald' && s.stallPressure)?.stallPressure;
  if (stalled) {
    const key = 'pressure';
    // The fixed bound: every stalled subscriber's unsent bytes capped by maxBacklogBytes, plus
    // allocator and GC slack that does not depend on how long the stall lasts.
    const bound = (stalled.step.stalled * maxBacklogBytes) / 1e6 + 64;
    const growth = herald(`${key}.growth`);
    const cut = herald(`${key}.ended`);
    const check = atMost(`stalled subscribers never grow the server's memory past a fixed bound (stall pressure: ${stalled.step.stalled} × ${maxBacklogBytes / 2 ** 20} MiB + 64 MB slack; peak RSS growth)`, growth, Math.round(bound), 'MB');
    const seed = valueOf(byKey.get(`${key}.growth`), 'seed');
    const bsse = valueOf(byKey.get(`${key}.growth`), 'better-sse');
    const cutoff = herald(`${key}.cutoff`);
    check.margin +=
      `; Herald cut off ${Number.isFinite(cut) ? Math.round(cut) : '–'}/${stalled.step.stalled} stalled` +
      (Number.isFinite(cutoff) ? ` ${fmt(cutoff)} s after they stopped reading` : '') +
      `; the baselines grew ${fmt(seed)} MB (seed) and ${fmt(bsse)} MB (better-sse) and cut off none`;
    goals.push(check);
  }
  for (const f of figures.filter((x) => x.speed)) {
    const h = valueOf(f, 'herald');
    const baselines = ['seed', 'better-sse'].map((k) => valueOf(f, k)).filter((v) => Number.isFinite(v));
    if (!Number.isFinite(h) || baselines.length === 0) continue;
    const best = Math.min(...baselines);
    const met = h <= best;
    const noise = Math.abs(h - best) < Math.max(1, best * 0.1) ? ' (within run-to-run noise)' : '';
    goals.push({
      goal: `as fast as the faster baseline: ${f.scenario}, ${f.metric}`,
      target: `≤ ${fmt(best)} ms`,
      value: `${fmt(h)} ms`,
      met,
      margin: (met ? `met, ${fmt(best - h)} ms ahead` : `missed by ${fmt(h - best)} ms (${pct(h, best)})`) + noise,
    });
  }
  return goals;
}

export interface RunReport {
  machine: MachineInfo;
  plan: Plan;
  limit: FileLimit;
  durationSeconds: number;
  order: string[][];
  sessions: SessionResult[];
  client: ClientResult | { skipped: string } | null;
  figures: Figure[];
  goals: GoalCheck[];
  heraldOptions: unknown;
  /** 1-minute load average before and after: other work on the machine makes figures noisier. */
  loadAverage: { before: number; after: number };
  /** Set when only some servers ran (--only). */
  only?: string[];
}

function cell(figure: Figure, kind: string): string {
  const values = figure.values[kind];
  if (!values || values.length === 0) return '–';
  const m = median(values);
  if (!Number.isFinite(m)) return '–';
  const digits = figure.unit === '/s' || figure.unit === '' ? Math.round(m).toLocaleString('en-US') : fmt(m);
  return values.length > 1 ? `${digits} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : digits;
}

/** A markdown table; the console prints the same text. */
export function figuresTable(figures: Figure[]): string {
  const kinds = SERVERS.map((s) => s.kind);
  const lines = [`| Scenario | Metric | ${SERVERS.map((s) => s.label).join(' | ')} |`, `|---|---|${SERVERS.map(() => '--:').join('|')}|`];
  let last = '';
  for (const f of figures) {
    const scenario = f.scenario === last ? '' : f.scenario;
    last = f.scenario;
    lines.push(`| ${scenario} | ${f.metric}${f.unit ? ` (${f.unit})` : ''} | ${kinds.map((k) => cell(f, k)).join(' | ')} |`);
  }
  return lines.join('\n');
}

export function goalsTable(goals: GoalCheck[]): string {
  const lines = ['| Goal | Target | Herald | Result |', '|---|---|--:|---|'];
  for (const g of goals) lines.push(`| ${g.goal} | ${g.target} | ${g.value} | ${g.met === null ? 'not measured' : g.met ? '**met**' : '**missed**'}: ${g.margin} |`);
  return lines.join('\n');
}

export function clientSection(client: RunReport['client']): string {
  if (!client) return 'Not run.';
  if ('skipped' in client) return `Skipped: ${client.skipped}.`;
  return [
    `Herald's own FeedClient (feed/client.ts, the eventsource package underneath) in its own process, publishing with fetch and timing each event until its onEvent, on one monotonic clock:`,
    '',
    '| Metric | Value |',
    '|---|--:|',
    `| events delivered | ${client.delivered} / ${client.events} |`,
    `| publish → onEvent latency p50 / p99 / max | ${fmt(client.latency.p50)} / ${fmt(client.latency.p99)} / ${fmt(client.latency.max)} ms |`,
    `| stream open after start() | ${fmt(client.openMs)} ms |`,
    `| idle wake-ups (voluntary context switches, all threads) | ${client.wakeupsPerMinute.toFixed(1)} /min |`,
    `| idle wake-ups of the main thread (event loop) | ${client.mainThreadWakeupsPerMinute.toFixed(1)} /min |`,
    `| idle CPU over ${client.idleSeconds} s with the stream open | ${client.idleCpuMs} ms |`,
    '',
    `Idle means an open stream and nothing published, with the server's default ${client.heartbeatMs / 1000} s heartbeat; /proc counts CPU in 10 ms ticks.`,
  ].join('\n');
}

export function renderMarkdown(report: RunReport, analysis: string | null): string {
  const m = report.machine;
  const errors = report.sessions.flatMap((s) => s.errors.map((e) => `- ${s.label} (run ${s.repetition}): ${e.split('\n')[0]}`));
  const met = report.goals.filter((g) => g.met === true).length;
  return [
    '# Herald benchmark results',
    '',
    `Generated by \`npm run bench${report.plan.name === 'full' ? ' -- --full' : ''}\` (${report.plan.name} pass, ${report.plan.repetitions} repetition${report.plan.repetitions > 1 ? 's' : ''} per server, order shuffled per repetition; a cell with several runs shows the median and the range). Took ${Math.round(report.durationSeconds)} s.`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`,
    `- Node ${m.node}; ${m.date}`,
    `- ${report.limit.note}`,
    `- Load average (1 min) before / after the run: ${report.loadAverage.before.toFixed(2)} / ${report.loadAverage.after.toFixed(2)}${Math.max(report.loadAverage.before, report.loadAverage.after) > 1.5 ? ' (other work was running on the machine: expect noisier figures)' : ''}`,
    `- Every server and the load generator run in processes of their own on the same machine (they share its ${m.cores} cores); servers listen on 127.0.0.1, subscribers connect from 127.0.0.2 upward.`,
    '- Herald runs with its durable log on (SQLite in a temp dir), with the publish rate limit and the stream cap raised for the load; everything else at its defaults (4 MiB backlog bound, 15 s heartbeat).',
    '',
    `## Goals (${met} of ${report.goals.length} met)`,
    '',
    goalsTable(report.goals),
    '',
    '## Every figure, side by side',
    '',
    'Latency is from the moment the load generator writes the publish request to the moment it reads the event on a subscriber socket (one process, one monotonic clock). "Last subscriber has it" is, per event, the time until every subscriber had it; its p50/p99 are over events. Memory per stream is (RSS after the streams opened and settled, after a GC) minus (RSS before), divided by the streams. The baselines store nothing: their publish figures are for reading alongside, not durable; Herald answers only after the SQLite commit.',
    '',
    figuresTable(report.figures),
    '',
    '## The client side',
    '',
    clientSection(report.client),
    '',
    ...(errors.length ? ['## Errors during the run', '', ...errors, ''] : []),
    '## How the scenarios are run',
    '',
    `Plan \`${report.plan.name}\`: ${JSON.stringify({ idle: report.plan.idle, broadcast: report.plan.broadcast, slow: report.plan.slow, stallPressure: report.plan.stallPressure, durable: report.plan.durable, replay: report.plan.replay, client: report.plan.client })}`,
    '',
    '- Subscribers are raw sockets in the load generator (bench/loadgen.ts): a hand-written GET, the chunked coding undone, SSE blocks found by their blank line. Each opened batch is confirmed by one warm-up event every subscriber must receive before anything is measured.',
    '- The slow-subscriber scenarios pause the sockets of the stalled subscribers. The kernel absorbs about 4 MB per loopback socket before the server\'s own buffers grow at all, so "stall pressure" sends each stalled socket well over that (few healthy subscribers, many ~4 KB events) to show the bound.',
    report.plan.idle.cpuWindowMs >= 15_000
      ? '- Idle CPU and wake-ups are read over the plan\'s cpuWindowMs at the largest stream count (2 s at the others, too short to include the heartbeats of Herald (15 s) and better-sse (10 s)).'
      : `- Idle CPU and wake-ups are read over ${report.plan.idle.cpuWindowMs / 1000} s only, too short to include the heartbeats of Herald (15 s) and better-sse (10 s): for idle CPU, read the full pass (\`npm run bench -- --full\`), which waits 15.5 s.`,
    '- Shared speed scenarios compare latency p99 (and the last-subscriber p99); a difference under 1 ms or 10% is marked as within run-to-run noise.',
    '',
    ...(analysis ? ['## Analysis', '', analysis.trim(), ''] : []),
  ].join('\n');
}
