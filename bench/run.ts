// The benchmark runner: `npm run bench` (quick pass, about two minutes) or
// `npm run bench -- --full` (every scenario, three repetitions). Add `--profile` to write a CPU
// profile of each Herald server process into bench/results/profiles/ (open it in Chrome DevTools),
// `--only=herald,seed` to run some of the servers (while working on one), `--report-only` to
// rewrite bench/RESULTS.md from bench/results/latest.json (after editing bench/ANALYSIS.md).
//
// Herald and the two baselines (bench/baselines/) each run in a child process of their own, the
// load generator (bench/loadgen.ts) in another; the order of the servers is shuffled on every
// repetition. Progress goes to stderr, the table to stdout; the results go to
// bench/results/latest.json and bench/RESULTS.md (bench/RESULTS-full.md for --full).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileLimit, killAllChildren } from './child.ts';
import { machineInfo } from './proc.ts';
import { FULL, HERALD_BENCH_OPTIONS, QUICK, SERVERS, type ServerAdapter } from './plan.ts';
import { runClientScenario, runSession, type ClientResult, type RunContext, type SessionResult } from './scenarios.ts';
import { shuffled } from './stats.ts';
import { checkGoals, clientSection, collectFigures, figuresTable, goalsTable, renderMarkdown, type RunReport } from './report.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const unknown = args.filter((a) => !['--full', '--profile', '--report-only'].includes(a) && !a.startsWith('--only='));
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
if (unknown.length || only?.some((k) => !SERVERS.some((s) => s.kind === k))) {
  process.stderr.write(`bench: unknown option ${unknown.join(' ')}; use --full (every scenario), --profile (CPU profile of Herald), --only=${SERVERS.map((s) => s.kind).join(',')}, --report-only\n`);
  process.exit(2);
}
/** Herald's default per-subscriber backlog bound (server/hub.ts), which the benchmark leaves as is. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
const analysisFile = path.join(here, 'ANALYSIS.md');
/** Each pass keeps its own committed file, so a quick pass never replaces the full figures. */
const resultsFile = (planName: string) => path.join(here, planName === 'full' ? 'RESULTS-full.md' : 'RESULTS.md');
const readAnalysis = () => (fs.existsSync(analysisFile) ? fs.readFileSync(analysisFile, 'utf8') : null);
if (args.includes('--report-only')) {
  const latest = path.join(here, 'results', 'latest.json');
  if (!fs.existsSync(latest)) {
    process.stderr.write('bench: no bench/results/latest.json yet: run `npm run bench` first\n');
    process.exit(2);
  }
  const report = JSON.parse(fs.readFileSync(latest, 'utf8')) as RunReport & { only?: string[] };
  if (report.only) {
    process.stderr.write(`bench: the last run was partial (--only=${report.only.join(',')}); RESULTS.md is only written from a run of every server\n`);
    process.exit(2);
  }
  report.figures = collectFigures(report.sessions);
  report.goals = checkGoals(report.figures, report.sessions, MAX_BACKLOG_BYTES);
  const file = resultsFile(report.plan.name);
  fs.writeFileSync(file, renderMarkdown(report, readAnalysis()));
  process.stderr.write(`bench: ${path.relative(process.cwd(), file)} rewritten from bench/results/latest.json\n`);
  process.exit(0);
}
const plan = args.includes('--full') ? FULL : QUICK;
const resultsDir = path.join(here, 'results');
const started = performance.now();
const loadBefore = os.loadavg()[0]!;

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}: stopping every child process\n`);
    killAllChildren();
    process.exit(130);
  });
}

function progress(line: string): void {
  const s = Math.floor((performance.now() - started) / 1000);
  process.stderr.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

if (process.platform !== 'linux') {
  process.stderr.write('bench: reads /proc for memory and CPU, so it runs on Linux only\n');
  process.exit(2);
}
const limit = fileLimit(plan.openFiles);
const machine = machineInfo();
progress(`${plan.name} pass: ${plan.repetitions} repetition(s) of ${SERVERS.map((s) => s.label).join(', ')}; ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
progress(limit.note);

const context: RunContext = {
  plan,
  limit,
  profileDir: args.includes('--profile') ? path.join(resultsDir, 'profiles') : undefined,
  progress,
};

const sessions: SessionResult[] = [];
const order: string[][] = [];
let client: ClientResult | { skipped: string } | null = null;
try {
  for (let rep = 1; rep <= plan.repetitions; rep++) {
    const servers: ServerAdapter[] = shuffled(SERVERS.filter((s) => !only || only.includes(s.kind)));
    order.push(servers.map((s) => s.kind));
    for (const adapter of servers) {
      progress(`run ${rep}/${plan.repetitions}: ${adapter.label}`);
      try {
        sessions.push(await runSession(adapter, rep, context));
      } catch (error) {
        progress(`  ${adapter.label} failed: ${error instanceof Error ? error.message : String(error)}`);
        sessions.push({ kind: adapter.kind, label: adapter.label, repetition: rep, pid: 0, idle: [], broadcast: [], errors: [String(error)] });
      }
    }
  }
  if (!only || only.includes('herald')) {
    progress("client side: Herald's FeedClient");
    try {
      client = await runClientScenario(context);
    } catch (error) {
      progress(`  feed client failed: ${error instanceof Error ? error.message : String(error)}`);
      client = { skipped: `failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
    }
  }
} finally {
  killAllChildren();
}

const figures = collectFigures(sessions);
const goals = checkGoals(figures, sessions, MAX_BACKLOG_BYTES);
const report: RunReport = {
  machine,
  plan,
  limit,
  durationSeconds: (performance.now() - started) / 1000,
  order,
  sessions,
  client,
  figures,
  goals,
  heraldOptions: HERALD_BENCH_OPTIONS,
  loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
  ...(only ? { only } : {}),
};

fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
const analysis = readAnalysis();
// A partial run (--only) must not replace the committed side-by-side results.
const markdownFile = only ? path.join(resultsDir, 'partial.md') : resultsFile(plan.name);
fs.writeFileSync(markdownFile, renderMarkdown(report, analysis));

process.stdout.write(`\n${figuresTable(figures)}\n\nClient side:\n${clientSection(client)}\n\nGoals:\n${goalsTable(goals)}\n\n`);
progress(`done in ${Math.round(report.durationSeconds)} s: bench/results/latest.json, ${path.relative(process.cwd(), markdownFile)}`);
const failed = sessions.some((s) => s.errors.length > 0);
process.exitCode = failed ? 1 : 0;
