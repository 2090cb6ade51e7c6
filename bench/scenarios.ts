// The scenarios, run against one server under test in a fresh pair of processes (the server and
// the load generator), and the client-side scenario through Herald's own FeedClient.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchChild, type FileLimit } from './child.ts';
import type { BroadcastResult, PublishLoadResult, ReplayResult, SubscriberCounts, LoadTarget, SustainedResult } from './loadgen.ts';
import type { LatencySummary } from './stats.ts';
import { ProcessSampler, sampleProcess, type ProcessSample } from './proc.ts';
import { loadNow } from './load.ts';
import { backs } from './stats.ts';
import type { Plan, ScenarioName, ServerAdapter, StallStep } from './plan.ts';
import { describeError } from '../events/errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RunContext {
  plan: Plan;
  /** The scenarios this run includes (`--scenarios=`; all by default). */
  scenarios: ReadonlySet<ScenarioName>;
  limit: FileLimit;
  /** Write a CPU profile of the Herald server child into this directory. */
  profileDir?: string;
  /** Node flags for Herald's process only (`--herald-node-flags=`, e.g. --max-semi-space-size=1): to
   * measure a V8 setting before adopting it. Listed in the report as a changed setting. */
  heraldNodeFlags: readonly string[];
  /** `--baseline=REV`: the tree the baseline server runs from (bench/trees.ts). */
  baselineRoot?: string;
  progress(line: string): void;
}

export interface IdleFigure {
  streams: number;
  opened: number;
  confirmed: number;
  openMs: number;
  baseRss: number;
  rss: number;
  bytesPerStream: number;
  /** JS heap + Buffers per stream, after a GC. */
  heapBytesPerStream: number;
  /** Server CPU while the streams sit idle, % of one core. */
  cpuPercent: number;
  wakeupsPerMinute: number;
}

export interface BroadcastFigure extends BroadcastResult {
  rate: number;
  serverCpuPercent: number;
  /** The share of the server's CPU spent in the kernel (socket writes), %. */
  serverKernelShare: number;
  /** The longest the server's event loop was blocked during the run (ms). */
  serverLoopMaxMs: number;
  loadgenCpuPercent: number;
}

export interface StallFigure {
  step: StallStep;
  healthy: BroadcastResult;
  /** The longest the server's event loop was blocked while the events flowed (ms). */
  serverLoopMaxMs: number;
  rssBefore: number;
  rssPeak: number;
  rssAfter: number;
  /** RSS every 250 ms, MB, from the stall on. */
  rssSeries: number[];
  heapBefore: number;
  heapAfter: number;
  /** After the run, the stalled sockets read again: how many the server had ended. */
  stalledEnded: number;
  stalled: number;
  /** Herald only: seconds from the stall until the server had cut every stalled subscriber. */
  cutOffSeconds: number | null;
  cutOffCount: number | null;
  /** Herald only: seconds from the stall until every stalled subscriber hit the backlog bound. */
  overflowSeconds: number | null;
  overflowCount: number | null;
  maxBacklogSeen: number | null;
}

export interface SessionResult {
  kind: string;
  label: string;
  repetition: number;
  pid: number;
  idle: IdleFigure[];
  broadcast: BroadcastFigure[];
  slow?: StallFigure;
  stallPressure?: StallFigure;
  /** Acknowledgements while fanning out to plan.ack.subscribers, and with no subscriber. */
  ack?: { subscribers: number; rate: number; withSubscribers: BroadcastResult; without: BroadcastResult; serverLoopMaxMs: number };
  sustained?: SustainedResult & { serverCpuPercent: number; serverLoopMaxMs: number };
  durable?: PublishLoadResult & { serverCpuPercent: number; concurrency: number };
  replay?: ReplayResult & { firstId: string | null; events: number };
  errors: string[];
}

async function startServer(adapter: ServerAdapter, context: RunContext): Promise<BenchChild> {
  const flags = ['--expose-gc'];
  if (adapter.kind === 'herald' && context.profileDir) {
    fs.mkdirSync(context.profileDir, { recursive: true });
    flags.push('--cpu-prof', `--cpu-prof-dir=${context.profileDir}`);
  }
  if (adapter.kind === 'herald') flags.push(...context.heraldNodeFlags);
  const args = adapter.kind === 'baseline' ? [adapter.kind, JSON.stringify({ root: context.baselineRoot })] : [adapter.kind];
  return BenchChild.spawn({ name: adapter.kind, script: path.join(here, 'server-child.ts'), args, nodeFlags: flags, limit: context.limit });
}

function targetOf(server: BenchChild, adapter: ServerAdapter): LoadTarget {
  const url = new URL(String(server.ready.url));
  return { host: url.hostname, port: Number(url.port), streamPath: adapter.streamPath, publishPath: adapter.publishPath };
}

async function startLoadgen(target: LoadTarget, context: RunContext): Promise<BenchChild> {
  return BenchChild.spawn({ name: 'loadgen', script: path.join(here, 'loadgen.ts'), args: [JSON.stringify(target)], limit: context.limit });
}

interface GcResult {
  heapUsed: number;
  external: number;
  rss: number;
}

/** RSS, and the JS heap plus Buffers (`external`: where queued writes live), after a full GC. */
async function retained(server: BenchChild): Promise<{ rss: number; heap: number }> {
  const m = await server.call<GcResult>('gc');
  await sleep(100);
  return { rss: sampleProcess(server.pid).rss, heap: m.heapUsed + m.external };
}

function cpuPercent(a: ProcessSample, b: ProcessSample): number {
  return ((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 100;
}

async function openTo(loadgen: BenchChild, count: number, have: number): Promise<{ opened: number; confirmed: number; ms: number }> {
  const started = performance.now();
  let opened = 0;
  if (count > have) {
    const r = await loadgen.call<{ opened: number; failed: number }>('open', { count: count - have, timeoutMs: 90_000 }, 120_000);
    opened = r.opened;
  }
  const warm = await loadgen.call<{ confirmed: number; of: number }>('warmup', { timeoutMs: 20_000 }, 60_000);
  return { opened: have + opened, confirmed: warm.confirmed, ms: performance.now() - started };
}

interface HeraldStats {
  streams: number;
  cutOff: number;
  /** Subscribers that reached the backlog bound and were taken off live delivery. */
  overflows: number;
  maxBacklogSeen: number;
}

async function stallScenario(
  server: BenchChild,
  loadgen: BenchChild,
  adapter: ServerAdapter,
  step: StallStep,
  context: RunContext,
): Promise<StallFigure> {
  await openTo(loadgen, step.healthy + step.stalled, 0);
  await sleep(300);
  const before = await retained(server);
  await server.call('loopWatch');
  const sampler = new ProcessSampler(server.pid, 250);
  const stallAt = performance.now();
  // Written by the poller below; an object so the type checker does not narrow it to null.
  const watch: { overflowSeconds: number | null; cutOffSeconds: number | null; herald: HeraldStats | null } = {
    overflowSeconds: null,
    cutOffSeconds: null,
    herald: null,
  };
  let polling = adapter.kind === 'herald';
  const first = polling ? await server.call<HeraldStats>('stats') : { cutOff: 0, overflows: 0 };
  const cut = () => (watch.herald ? watch.herald.cutOff - first.cutOff : 0);
  const overflowed = () => (watch.herald ? watch.herald.overflows - first.overflows : 0);
  const poll = (async () => {
    while (polling) {
      watch.herald = await server.call<HeraldStats>('stats').catch(() => watch.herald);
      const t = (performance.now() - stallAt) / 1000;
      if (watch.overflowSeconds === null && overflowed() >= step.stalled) watch.overflowSeconds = t;
      if (watch.cutOffSeconds === null && cut() >= step.stalled) watch.cutOffSeconds = t;
      await sleep(250);
    }
  })();
  await loadgen.call<SubscriberCounts>('stall', { count: step.stalled });
  let healthy: BroadcastResult;
  let serverLoopMaxMs = NaN;
  try {
    healthy = await loadgen.call<BroadcastResult>(
      'broadcast',
      { rate: step.rate, count: Math.round(step.rate * step.seconds), padBytes: step.padBytes, drainMs: 8000 },
      120_000,
    );
    serverLoopMaxMs = (await server.call<{ max: number }>('loopDelay')).max;
    await sleep(500);
    // Herald stops writing to a subscriber at its backlog bound and cuts it off if it has not
    // drained within its stall timeout (10 s by default): keep the stalled ones stalled that long.
    const waitUntil = performance.now() + 15_000;
    while (adapter.kind === 'herald' && cut() < overflowed() && performance.now() < waitUntil) await sleep(250);
  } finally {
    polling = false;
    await poll;
  }
  if (adapter.kind === 'herald') watch.herald = await server.call<HeraldStats>('stats');
  const samples = sampler.stop();
  const after = await retained(server);
  const counts = await loadgen.call<SubscriberCounts>('unstall', { waitMs: 1000 });
  await loadgen.call('closeAll');
  const cutOffSeconds = watch.cutOffSeconds;
  const figure: StallFigure = {
    step,
    healthy,
    serverLoopMaxMs,
    rssBefore: before.rss,
    rssPeak: Math.max(...samples.map((s) => s.rss)),
    rssAfter: after.rss,
    rssSeries: samples.map((s) => Math.round(s.rss / 1e5) / 10),
    heapBefore: before.heap,
    heapAfter: after.heap,
    stalledEnded: counts.stalledEnded,
    stalled: counts.stalled,
    cutOffSeconds,
    cutOffCount: watch.herald ? cut() : null,
    overflowSeconds: watch.overflowSeconds,
    overflowCount: watch.herald ? overflowed() : null,
    maxBacklogSeen: watch.herald ? watch.herald.maxBacklogSeen : null,
  };
  context.progress(
    `  stall ${step.stalled} of ${step.healthy + step.stalled} at ${step.rate}/s: healthy ${tail(healthy.latency, 0.99)} ms (longest pause: server ${fmt(serverLoopMaxMs)}, loadgen ${fmt(healthy.loadgenLoopMaxMs)} ms), RSS ${mb(figure.rssBefore)} → peak ${mb(figure.rssPeak)} MB, ` +
      (adapter.kind === 'herald'
        ? `at the bound ${figure.overflowCount}/${step.stalled}${figure.overflowSeconds !== null ? ` after ${figure.overflowSeconds.toFixed(1)} s` : ''}, cut off ${figure.cutOffCount}/${step.stalled}${cutOffSeconds !== null ? ` after ${cutOffSeconds.toFixed(1)} s` : ''}`
        : `ended by server ${counts.stalledEnded}/${counts.stalled}`),
  );
  await sleep(500);
  return figure;
}

/** One stage of a session: a fresh server process and load generator, so a stage's memory is
 * not hidden under the high-water mark an earlier stage left behind. Both are gone afterwards. */
async function stage(
  adapter: ServerAdapter,
  context: RunContext,
  result: SessionResult,
  name: string,
  body: (server: BenchChild, loadgen: BenchChild) => Promise<void>,
): Promise<void> {
  let server: BenchChild | undefined;
  let loadgen: BenchChild | undefined;
  try {
    server = await startServer(adapter, context);
    result.pid ||= server.pid;
    loadgen = await startLoadgen(targetOf(server, adapter), context);
    await sleep(300);
    await body(server, loadgen);
  } catch (error) {
    const message = `${name}: ${describeError(error)}`;
    result.errors.push(message);
    context.progress(`  ${adapter.label}: ${message.split('\n')[0]}`);
  } finally {
    await loadgen?.kill();
    if (server) {
      await server.kill(adapter.kind === 'herald' && context.profileDir ? 15_000 : 4000);
      const code = server.process.exitCode;
      if (code !== null && code !== 0) result.errors.push(`${name}: the server exited with ${code}: ${server.stderr.slice(-500)}`);
    }
  }
}

export async function runSession(adapter: ServerAdapter, repetition: number, context: RunContext): Promise<SessionResult> {
  const { plan, scenarios } = context;
  const result: SessionResult = { kind: adapter.kind, label: adapter.label, repetition, pid: 0, idle: [], broadcast: [], errors: [] };

  if (scenarios.has('idle') || scenarios.has('broadcast')) {
    await stage(adapter, context, result, 'idle and broadcast', async (server, lg) => {
      let have = 0;
      if (scenarios.has('idle')) have = await idleScenario(server, lg, result, context);
      if (scenarios.has('broadcast')) await broadcastScenario(server, lg, have, result, context);
    });
  }
  if (scenarios.has('slow')) {
    await stage(adapter, context, result, 'slow subscribers', async (server, lg) => {
      result.slow = await stallScenario(server, lg, adapter, plan.slow, context);
    });
  }
  if (scenarios.has('pressure')) {
    await stage(adapter, context, result, 'stall pressure', async (server, lg) => {
      result.stallPressure = await stallScenario(server, lg, adapter, plan.stallPressure, context);
    });
  }
  if (scenarios.has('ack')) {
    await stage(adapter, context, result, 'acknowledgements under fan-out', async (server, lg) => {
      result.ack = await ackScenario(server, lg, context);
    });
  }
  if (scenarios.has('sustained')) {
    await stage(adapter, context, result, 'sustained rate', async (server, lg) => {
      result.sustained = await sustainedScenario(server, lg, context);
    });
  }
  if (scenarios.has('publishing') || scenarios.has('replay')) {
    await stage(adapter, context, result, 'publishing and replay', async (server, lg) => {
      if (scenarios.has('publishing')) await publishingScenario(server, lg, adapter, result, context);
      if (scenarios.has('replay') && adapter.durable) await replayScenario(lg, result, context);
    });
  }
  return result;
}

/** Memory per stream at each count (after a GC), idle CPU and wake-ups; returns the streams left open. */
async function idleScenario(server: BenchChild, lg: BenchChild, result: SessionResult, context: RunContext): Promise<number> {
  const { plan } = context;
  const base = await retained(server);
  let have = 0;
  for (const streams of plan.idle.streams) {
    const open = await openTo(lg, streams, have);
    have = open.opened;
    await sleep(plan.idle.settleMs);
    const now = await retained(server);
    const a = sampleProcess(server.pid);
    if (streams === Math.max(...plan.idle.streams)) await sleep(plan.idle.cpuWindowMs);
    else await sleep(Math.min(2000, plan.idle.cpuWindowMs));
    const b = sampleProcess(server.pid);
    const figure: IdleFigure = {
      streams,
      opened: open.opened,
      confirmed: open.confirmed,
      openMs: open.ms,
      baseRss: base.rss,
      rss: now.rss,
      bytesPerStream: (now.rss - base.rss) / open.confirmed,
      heapBytesPerStream: (now.heap - base.heap) / open.confirmed,
      cpuPercent: cpuPercent(a, b),
      wakeupsPerMinute: ((b.voluntarySwitches - a.voluntarySwitches) * 60_000) / (b.at - a.at),
    };
    result.idle.push(figure);
    context.progress(
      `  idle ${streams} streams (${open.confirmed} confirmed, opened in ${(open.ms / 1000).toFixed(1)} s): ${kb(figure.bytesPerStream)} KB RSS/stream, ${kb(figure.heapBytesPerStream)} KB heap+buffers/stream, idle CPU ${figure.cpuPercent.toFixed(2)}% (${loadNow()})`,
    );
  }
  return have;
}

async function broadcastScenario(
  server: BenchChild,
  lg: BenchChild,
  open: number,
  result: SessionResult,
  context: RunContext,
): Promise<void> {
  let have = open;
  // Largest first, closing down to each size: 10k connects cost seconds, so they are made once.
  for (const b of [...context.plan.broadcast].sort((x, y) => y.subscribers - x.subscribers || x.rate - y.rate)) {
    if (b.subscribers < have) {
      await lg.call('closeTo', { keep: b.subscribers });
      have = b.subscribers;
      await sleep(1000); // let the server finish with the closed streams
    }
    if (b.subscribers > have) have = (await openTo(lg, b.subscribers, have)).opened;
    else await lg.call('warmup', { timeoutMs: 20_000 }, 60_000);
    await server.call('loopWatch');
    const sa = sampleProcess(server.pid);
    const la = sampleProcess(lg.pid);
    const r = await lg.call<BroadcastResult>(
      'broadcast',
      { rate: b.rate, count: Math.round(b.rate * b.seconds), drainMs: b.drainMs ?? 5000 },
      120_000,
    );
    const sb = sampleProcess(server.pid);
    const lb = sampleProcess(lg.pid);
    const figure: BroadcastFigure = {
      ...r,
      rate: b.rate,
      serverCpuPercent: cpuPercent(sa, sb),
      serverKernelShare: ((sb.systemCpuMs - sa.systemCpuMs) / Math.max(1, sb.cpuMs - sa.cpuMs)) * 100,
      serverLoopMaxMs: (await server.call<{ max: number }>('loopDelay')).max,
      loadgenCpuPercent: cpuPercent(la, lb),
    };
    result.broadcast.push(figure);
    context.progress(
      `  broadcast ${r.subscribers} subs × ${b.rate}/s: p50 ${fmt(r.latency.p50)} ${tail(r.latency, 0.99)} ms, last subscriber ${tail(r.lastSubscriber, 0.99)} ms, ${Math.round(r.deliveriesPerSecond)} deliveries/s, missing ${r.missing}, server CPU ${figure.serverCpuPercent.toFixed(0)}% (${figure.serverKernelShare.toFixed(0)}% of it in the kernel), loadgen CPU ${figure.loadgenCpuPercent.toFixed(0)}%, longest pause: server ${fmt(figure.serverLoopMaxMs)} ms, loadgen ${fmt(r.loadgenLoopMaxMs)} ms, publishes sent up to ${fmt(r.loadgenLateMaxMs)} ms late (${loadNow()})`,
    );
    await sleep(300);
  }
}

/** Acknowledgements while the server fans out to many subscribers, then with none (same rate). */
async function ackScenario(server: BenchChild, lg: BenchChild, context: RunContext): Promise<NonNullable<SessionResult['ack']>> {
  const { subscribers, rate, seconds } = context.plan.ack;
  const count = Math.round(rate * seconds);
  await openTo(lg, subscribers, 0);
  await server.call('loopWatch');
  const withSubscribers = await lg.call<BroadcastResult>('broadcast', { rate, count, drainMs: 10_000 }, 180_000);
  const serverLoopMaxMs = (await server.call<{ max: number }>('loopDelay')).max;
  await lg.call('closeAll');
  await sleep(1000);
  const without = await lg.call<BroadcastResult>('broadcast', { rate, count, drainMs: 0 }, 180_000);
  context.progress(
    `  acks at ${rate}/s: with ${withSubscribers.subscribers} subscribers p50 ${fmt(withSubscribers.ack.p50)} ${tail(withSubscribers.ack, 0.99)} ms (${withSubscribers.missing} deliveries missing); with none p50 ${fmt(without.ack.p50)} ${tail(without.ack, 0.99)} ms (${loadNow()})`,
  );
  return { subscribers, rate, withSubscribers, without, serverLoopMaxMs };
}

/** plan.sustained.events to plan.sustained.subscribers, published as fast as they are answered. */
async function sustainedScenario(
  server: BenchChild,
  lg: BenchChild,
  context: RunContext,
): Promise<NonNullable<SessionResult['sustained']>> {
  const { subscribers, events, concurrency } = context.plan.sustained;
  await openTo(lg, subscribers, 0);
  await server.call('loopWatch');
  const a = sampleProcess(server.pid);
  const r = await lg.call<SustainedResult>('sustained', { count: events, concurrency, drainMs: 30_000 }, 300_000);
  const b = sampleProcess(server.pid);
  const serverLoopMaxMs = (await server.call<{ max: number }>('loopDelay')).max;
  context.progress(
    `  sustained: ${events} events to ${r.subscribers} subscribers at ${Math.round(r.eventsPerSecond)} events/s (publishes answered at ${Math.round(r.publishesPerSecond)}/s), missing ${r.missing}, delivery p50 ${fmt(r.latency.p50)} ${tail(r.latency, 0.99)} ms, longest pause: server ${fmt(serverLoopMaxMs)} ms (${loadNow()})`,
  );
  return { ...r, serverCpuPercent: cpuPercent(a, b), serverLoopMaxMs };
}

async function publishingScenario(
  server: BenchChild,
  lg: BenchChild,
  adapter: ServerAdapter,
  result: SessionResult,
  context: RunContext,
): Promise<void> {
  const { plan } = context;
  const a = sampleProcess(server.pid);
  const r = await lg.call<PublishLoadResult>(
    'publishLoad',
    { concurrency: plan.durable.concurrency, durationMs: plan.durable.seconds * 1000 },
    60_000,
  );
  const b = sampleProcess(server.pid);
  result.durable = { ...r, serverCpuPercent: cpuPercent(a, b), concurrency: plan.durable.concurrency };
  context.progress(
    `  publishing (${plan.durable.concurrency} connections${adapter.durable ? '' : ', NOT durable'}): ${Math.round(r.perSecond)}/s, ack p50 ${fmt(r.ack.p50)} ${tail(r.ack, 0.99)} ms, errors ${r.errors}, server CPU ${result.durable.serverCpuPercent.toFixed(0)}% (${loadNow()})`,
  );
}

async function replayScenario(lg: BenchChild, result: SessionResult, context: RunContext): Promise<void> {
  const { events } = context.plan.replay;
  const published = await lg.call<PublishLoadResult>('publishLoad', { concurrency: 32, durationMs: 60_000, count: events }, 90_000);
  if (published.completed !== events || published.firstId === null)
    throw new Error(`published ${published.completed} of ${events} events for the replay`);
  await sleep(300);
  const replay = await lg.call<ReplayResult>(
    'replay',
    { lastEventId: String(BigInt(published.firstId) - 1n), expect: events, timeoutMs: 20_000 },
    30_000,
  );
  result.replay = { ...replay, firstId: published.firstId, events };
  context.progress(
    `  replay of ${events} missed events: ${replay.frames} frames, first after ${fmt(replay.firstFrameMs)} ms, all after ${fmt(replay.allFramesMs)} ms (${loadNow()})`,
  );
}

export interface ClientResult {
  openMs: number;
  delivered: number;
  events: number;
  latency: LatencySummary;
  idleSeconds: number;
  /** Voluntary context switches of every thread, per minute: each is a wake-up from a wait. */
  wakeupsPerMinute: number;
  mainThreadWakeupsPerMinute: number;
  idleCpuMs: number;
  heartbeatMs: number;
}

/** Publish-to-delivery latency through Herald's FeedClient, then its idle cost with an open stream. */
export async function runClientScenario(context: RunContext): Promise<ClientResult | { skipped: string }> {
  if (!fs.existsSync(path.join(here, '../feed/client.ts'))) return { skipped: 'feed/client.ts is not there yet' };
  const { plan } = context;
  const server = await BenchChild.spawn({
    name: 'herald',
    script: path.join(here, 'server-child.ts'),
    args: ['herald'],
    limit: context.limit,
  });
  let feed: BenchChild | undefined;
  try {
    feed = await BenchChild.spawn({ name: 'feed client', script: path.join(here, 'feed-child.ts'), args: [String(server.ready.url)] });
    const open = await feed.call<{ ms: number }>('start', { timeoutMs: 10_000 });
    const r = await feed.call<{ delivered: number; latency: LatencySummary }>(
      'latency',
      { count: plan.client.events, rate: plan.client.rate },
      60_000,
    );
    context.progress(
      `  feed client: ${r.delivered}/${plan.client.events} delivered, p50 ${fmt(r.latency.p50)} ${tail(r.latency, 0.99)} ms; now idle for ${plan.client.idleSeconds} s`,
    );
    await sleep(5500); // let fetch's keep-alive sockets to the server time out: only the stream stays
    const a = sampleProcess(feed.pid);
    await sleep(plan.client.idleSeconds * 1000);
    const b = sampleProcess(feed.pid);
    const minutes = (b.at - a.at) / 60_000;
    const result: ClientResult = {
      openMs: open.ms,
      delivered: r.delivered,
      events: plan.client.events,
      latency: r.latency,
      idleSeconds: plan.client.idleSeconds,
      wakeupsPerMinute: (b.voluntarySwitches - a.voluntarySwitches) / minutes,
      mainThreadWakeupsPerMinute: (b.mainThreadVoluntary - a.mainThreadVoluntary) / minutes,
      idleCpuMs: b.cpuMs - a.cpuMs,
      heartbeatMs: 15_000,
    };
    context.progress(
      `  feed client idle: ${result.wakeupsPerMinute.toFixed(1)} wake-ups/min (main thread ${result.mainThreadWakeupsPerMinute.toFixed(1)}), ${result.idleCpuMs} ms CPU in ${plan.client.idleSeconds} s`,
    );
    return result;
  } finally {
    await feed?.kill();
    await server.kill();
  }
}

/** "p99 12.3" when the samples back a p99, else "max 12.3 (n=40)": a p99 of 40 events is their maximum. */
export function tail(summary: LatencySummary, q: number): string {
  const name = `p${Math.round(q * 1000) / 10}`;
  return backs(summary.count, q)
    ? `${name} ${fmt(q >= 0.999 ? summary.p999 : summary.p99)}`
    : `max ${fmt(summary.max)} (n=${summary.count})`;
}

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}
