// The benchmark runner: `npm run bench` (quick pass) or `npm run bench -- --full` (every scenario,
// three repetitions). Options:
//   --scenarios=cli,idle,…   only these scenarios (plan.ts SCENARIOS); the results go to
//                            bench/results/partial.md, never over RESULTS.md
//   --only=herald,floor      only these servers (same: partial)
//   --profile                a CPU profile of each Herald server process in bench/results/profiles/
//   --herald-node-flags=…    Node flags for Herald's process only (e.g. --max-semi-space-size=1), to
//                            measure a setting before adopting it; the report lists them (partial)
//   --baseline=REV           also run Herald as it was at git revision REV (same settings), beside
//                            this tree in the same run, as the column "Herald @REV" (partial)
//   --report-only            rewrite the results from bench/results/latest.json
//
// Herald, the floor and the two peers (bench/baselines/) each run in a child process of their own,
// the load generator (bench/loadgen.ts) in another; the order of the servers is shuffled on every
// repetition. Progress goes to stderr, the tables to stdout; the results go to
// bench/results/latest.json and bench/RESULTS.md (bench/RESULTS-full.md for --full).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileLimit, killAllChildren, stopChildrenOnSignals } from './child.ts';
import { cliTable, runCliScenario, type CliResult } from './cli.ts';
import { describeLoad, LoadWatch, loadNow } from './load.ts';
import { machineInfo } from './proc.ts';
import { baselineAdapter, FULL, QUICK, SCENARIOS, SERVERS, type ScenarioName, type ServerAdapter } from './plan.ts';
import { treeOf } from './trees.ts';
import { runClientScenario, runSession, type ClientResult, type RunContext, type SessionResult } from './scenarios.ts';
import { runStartupScenario, type StartupResult } from './startup.ts';
import { shuffled } from './stats.ts';
import {
  checkGoals,
  clientSection,
  collectFigures,
  figuresTable,
  goalCount,
  goalsTable,
  renderMarkdown,
  startupTable,
  type RunReport,
} from './report.ts';
import { describeError } from '../events/errors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const valued = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const known = ['--full', '--profile', '--report-only'];
const unknown = args.filter((a) => !known.includes(a) && !/^--(only|scenarios|herald-node-flags|baseline)=/.test(a));
const only = valued('only')?.split(',');
const scenarioList = valued('scenarios')?.split(',');
const heraldNodeFlags = valued('herald-node-flags')?.split(' ').filter(Boolean) ?? [];
const baselineRev = valued('baseline');
const extraServers = baselineRev ? [baselineAdapter(baselineRev)] : [];
if (
  unknown.length ||
  only?.some((k) => ![...SERVERS, ...extraServers].some((s) => s.kind === k)) ||
  scenarioList?.some((s) => !(SCENARIOS as readonly string[]).includes(s))
) {
  process.stderr.write(
    `bench: unknown option or name in ${args.join(' ')}; use --full, --profile, --only=${SERVERS.map((s) => s.kind).join(',')}, --scenarios=${SCENARIOS.join(',')}, --herald-node-flags="--flag …", --baseline=REV, --report-only\n`,
  );
  process.exit(2);
}
/** Herald's default per-subscriber backlog bound (server/hub.ts), which the benchmark leaves as is. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** Each pass keeps its own committed file, so a quick pass never replaces the full figures. */
const resultsFile = (planName: string) => path.join(here, planName === 'full' ? 'RESULTS-full.md' : 'RESULTS.md');
const resultsDir = path.join(here, 'results');
/** Only a run of every server and scenario, in the shipped configuration, may write RESULTS*.md. */
const partialOf = (report: Pick<RunReport, 'only' | 'scenarios' | 'heraldNodeFlags' | 'extraServers'>) =>
  Boolean(report.only) ||
  report.scenarios.length < SCENARIOS.length ||
  report.heraldNodeFlags.length > 0 ||
  (report.extraServers?.length ?? 0) > 0;

if (args.includes('--report-only')) {
  const latest = path.join(resultsDir, 'latest.json');
  if (!fs.existsSync(latest)) {
    process.stderr.write('bench: no bench/results/latest.json yet: run `npm run bench` first\n');
    process.exit(2);
  }
  const report = JSON.parse(fs.readFileSync(latest, 'utf8')) as RunReport;
  report.figures = collectFigures(report.sessions);
  report.goals = checkGoals({
    figures: report.figures,
    sessions: report.sessions,
    maxBacklogBytes: MAX_BACKLOG_BYTES,
    cli: report.cli,
    startup: report.startup,
  });
  const file = partialOf(report) ? path.join(resultsDir, 'partial.md') : resultsFile(report.plan.name);
  fs.writeFileSync(file, renderMarkdown(report));
  process.stderr.write(`bench: ${path.relative(process.cwd(), file)} rewritten from bench/results/latest.json\n`);
  process.exit(0);
}

const plan = args.includes('--full') ? FULL : QUICK;
const scenarios = new Set<ScenarioName>((scenarioList as ScenarioName[] | undefined) ?? SCENARIOS);
const started = performance.now();
const load = new LoadWatch();

stopChildrenOnSignals();

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
const servers = [...SERVERS, ...extraServers].filter((s) => !only || only.includes(s.kind));
const baselineTree = baselineRev ? treeOf(baselineRev) : undefined;
progress(
  `${plan.name} pass: ${plan.repetitions} repetition(s) of ${servers.map((s) => s.label).join(', ')}; scenarios ${[...scenarios].join(', ')}; ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${loadNow()}`,
);
progress(limit.note);
if (heraldNodeFlags.length)
  progress(
    `Herald runs with Node flags ${heraldNodeFlags.join(' ')} (not the shipped configuration: results go to bench/results/partial.md)`,
  );

const context: RunContext = {
  plan,
  scenarios,
  limit,
  heraldNodeFlags,
  ...(baselineTree ? { baselineRoot: baselineTree.root } : {}),
  ...(args.includes('--profile') ? { profileDir: path.join(resultsDir, 'profiles') } : {}),
  progress,
};

const sessions: SessionResult[] = [];
const order: string[][] = [];
let client: ClientResult | { skipped: string } | null = null;
let cli: CliResult | undefined;
let startup: StartupResult | undefined;
const heraldRuns = !only || only.includes('herald');
const perServer = SCENARIOS.filter((s) => !['cli', 'startup', 'client'].includes(s) && scenarios.has(s));
try {
  if (scenarios.has('cli') && heraldRuns) {
    progress(`command-line start-up: ${plan.cli.rounds} rounds`);
    cli = await runCliScenario({ rounds: plan.cli.rounds, progress });
  }
  for (let rep = 1; rep <= plan.repetitions && perServer.length > 0; rep++) {
    const round: ServerAdapter[] = shuffled(servers);
    order.push(round.map((s) => s.kind));
    for (const adapter of round) {
      progress(`run ${rep}/${plan.repetitions}: ${adapter.label}`);
      try {
        sessions.push(await runSession(adapter, rep, context));
      } catch (error) {
        progress(`  ${adapter.label} failed: ${describeError(error)}`);
        sessions.push({
          kind: adapter.kind,
          label: adapter.label,
          repetition: rep,
          pid: 0,
          idle: [],
          broadcast: [],
          errors: [String(error)],
        });
      }
    }
  }
  if (scenarios.has('startup') && heraldRuns) {
    progress(`start-up and replay with a large log: ${plan.startup.rounds} rounds`);
    startup = await runStartupScenario(context);
  }
  if (scenarios.has('client') && heraldRuns) {
    progress("client side: Herald's FeedClient");
    try {
      client = await runClientScenario(context);
    } catch (error) {
      progress(`  feed client failed: ${describeError(error)}`);
      client = { skipped: `failed: ${describeError(error).split('\n')[0]}` };
    }
  }
} finally {
  killAllChildren();
  baselineTree?.cleanup();
}

const figures = collectFigures(sessions);
const goals = checkGoals({ figures, sessions, maxBacklogBytes: MAX_BACKLOG_BYTES, cli, startup });
const report: RunReport = {
  machine,
  plan,
  limit,
  durationSeconds: (performance.now() - started) / 1000,
  order,
  scenarios: [...scenarios],
  sessions,
  cli,
  startup,
  client,
  figures,
  goals,
  heraldNodeFlags,
  ...(extraServers.length > 0 ? { extraServers: extraServers.map(({ kind, label }) => ({ kind, label })) } : {}),
  load: load.stop(),
  ...(only ? { only } : {}),
};

fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
// A partial run must not replace the committed side-by-side results.
const markdownFile = partialOf(report) ? path.join(resultsDir, 'partial.md') : resultsFile(plan.name);
fs.writeFileSync(markdownFile, renderMarkdown(report));

const loadLine = describeLoad(report.load);
process.stdout.write(
  [
    '',
    figuresTable(figures, extraServers),
    ...(cli ? ['', 'Command-line start-up:', cliTable(cli)] : []),
    ...(startup ? ['', 'Server start-up:', startupTable(startup)] : []),
    '',
    'Client side:',
    clientSection(client),
    '',
    `Goals (${goalCount(goals)}):`,
    goalsTable(goals),
    '',
    `${loadLine.quiet ? '' : 'WARNING: the machine was not quiet: read the ratios, not the milliseconds. '}Load: ${loadLine.line}`,
    '',
  ].join('\n'),
);
progress(`done in ${Math.round(report.durationSeconds)} s: bench/results/latest.json, ${path.relative(process.cwd(), markdownFile)}`);
const failed = sessions.some((s) => s.errors.length > 0);
process.exitCode = failed ? 1 : 0;
