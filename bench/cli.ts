// What `herald send` and `herald run -- true` cost from the shell's point of view: the wall time
// from spawning the process to its exit, its CPU and its peak memory, against Node's floor for
// the same publish (bench/raw-post.mjs: node:net, one hand-made POST) in the same run. Every
// variant runs once per round, in a shuffled order, so a burst of other work falls on all of them
// alike; the goals are the ratios per round (issue #14: send ≤ 1.6× the raw POST, run ≤ 2×).
//
//   node bench/cli.ts [--rounds=N] [--server=URL] [--compare=OTHER/bin/herald.js]
//   (default 20 rounds; a Herald server of its own; --compare adds send and run from another
//   checkout, e.g. `git worktree add /tmp/before <commit>`, to see a change in the same rounds)
//
// `npm run bench` runs the same scenario into its report. Linux (reads /proc for the CPU time).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchChild } from './child.ts';
import { describeLoad, LoadWatch, loadNow, type LoadSummary } from './load.ts';
import { judge, median, shuffled, type Judgement } from './stats.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const HERALD = path.join(root, 'bin', 'herald.js');
const PEAK_HOOK = path.join(here, 'peak-rss.mjs');

export type CliVariantKey = 'node' | 'raw' | 'curl' | 'send' | 'send-uncached' | 'send-source' | 'run' | 'send-compare' | 'run-compare';

interface Variant {
  key: CliVariantKey;
  label: string;
  /** The command, given the server's URL. Node commands get the peak-memory hook. */
  command(url: string): { file: string; args: string[]; node: boolean };
  env?: Record<string, string>;
}

const node = (...args: string[]) => ({ file: process.execPath, args, node: true });

export const CLI_VARIANTS: readonly Variant[] = [
  { key: 'node', label: 'node -e 0 (Node starting and exiting)', command: () => node('-e', '0') },
  {
    key: 'raw',
    label: 'raw node:net POST (bench/raw-post.mjs): the floor',
    command: (url) => node(path.join(here, 'raw-post.mjs'), url, 'bench'),
  },
  {
    key: 'curl',
    label: 'curl -d (not Node)',
    command: (url) => ({ file: 'curl', args: ['-sS', '-o', '/dev/null', '-d', 'bench', `${url}/events`], node: false }),
  },
  { key: 'send', label: 'herald send', command: (url) => node(HERALD, 'send', '--server', url, 'bench') },
  {
    key: 'send-uncached',
    label: 'herald send without the compile cache (NODE_DISABLE_COMPILE_CACHE=1)',
    command: (url) => node(HERALD, 'send', '--server', url, 'bench'),
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
  },
  {
    key: 'send-source',
    label: 'herald send from the TypeScript sources (HERALD_CLI_FROM_SOURCE=1)',
    command: (url) => node(HERALD, 'send', '--server', url, 'bench'),
    env: { HERALD_CLI_FROM_SOURCE: '1' },
  },
  { key: 'run', label: 'herald run -- true', command: (url) => node(HERALD, 'run', '--server', url, '--', 'true') },
];

/** The goals: each a ratio to the raw POST, per round. */
export const CLI_GOALS = [
  { key: 'send', limit: 1.6, goal: '`herald send` wall time ≤ 1.6× the raw node:net POST' },
  { key: 'run', limit: 2, goal: '`herald run -- true` wall time ≤ 2× the raw node:net POST' },
] as const satisfies ReadonlyArray<{ key: CliVariantKey; limit: number; goal: string }>;

export interface CliVariantResult {
  key: CliVariantKey;
  label: string;
  /** Per round, ms from spawn to exit. */
  wallMs: number[];
  /** Mean user + system CPU per run (ms; /proc counts it in 10 ms ticks, so only the mean is meaningful). */
  cpuMs: number;
  /** Peak resident set of a few separate runs with bench/peak-rss.mjs, KiB. */
  peakRssKiB: number[];
  skipped?: string;
}

export interface CliResult {
  rounds: number;
  variants: CliVariantResult[];
  /** Per goal: the ratio to the raw POST in each round, judged. */
  goals: Array<{ key: CliVariantKey; goal: string; limit: number; ratios: number[]; judgement: Judgement }>;
  load: LoadSummary;
}

export interface CliOptions {
  rounds: number;
  /** Another checkout's bin/herald.js: its send and run join the rounds. */
  compare?: string;
  /** A Herald server's URL; default: one started for the scenario. */
  url?: string;
  progress(line: string): void;
}

/** Runs every variant `rounds` times (after two warm-up runs each) and the peak-memory runs. */
export async function runCliScenario(options: CliOptions): Promise<CliResult> {
  const load = new LoadWatch();
  let server: BenchChild | undefined;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-compile-cache-'));
  try {
    let url = options.url;
    if (url === undefined) {
      server = await BenchChild.spawn({ name: 'herald', script: path.join(here, 'server-child.ts'), args: ['herald'] });
      url = String(server.ready.url);
    }
    // The compile cache in a folder of the run's own: the warm-up fills it, as a user's first run would.
    const env = { ...cleanEnv(), NODE_COMPILE_CACHE: cacheDir };
    const variants = [
      ...CLI_VARIANTS.filter((v) => v.key !== 'curl' || hasCurl()),
      ...(options.compare ? compareVariants(options.compare) : []),
    ];
    const results = new Map<CliVariantKey, CliVariantResult & { cpuTotal: number }>();
    for (const v of variants) results.set(v.key, { key: v.key, label: v.label, wallMs: [], cpuMs: NaN, cpuTotal: 0, peakRssKiB: [] });
    if (!hasCurl()) options.progress('  cli: no curl on this machine; its reference row is left out');

    for (const v of variants) for (let i = 0; i < 2; i++) await runOnce(v, url, env, false);
    for (let round = 1; round <= options.rounds; round++) {
      for (const v of shuffled(variants)) {
        const r = await runOnce(v, url, env, false);
        const result = results.get(v.key)!;
        result.wallMs.push(r.wallMs);
        result.cpuTotal += r.cpuMs;
      }
      if (round % 5 === 0 || round === options.rounds) options.progress(`  cli: round ${round}/${options.rounds} (${loadNow()})`);
    }
    for (const v of variants) {
      if (!v.command(url).node) continue;
      for (let i = 0; i < 3; i++) results.get(v.key)!.peakRssKiB.push((await runOnce(v, url, env, true)).peakRssKiB);
    }
    const list = [...results.values()].map(({ cpuTotal, ...r }) => ({ ...r, cpuMs: cpuTotal / options.rounds }));
    const raw = results.get('raw')!.wallMs;
    const goals = CLI_GOALS.map((g) => {
      const ratios = results.get(g.key)!.wallMs.map((ms, i) => ms / raw[i]!);
      return { key: g.key, goal: g.goal, limit: g.limit, ratios, judgement: judge(ratios, g.limit, 'lower') };
    });
    return { rounds: options.rounds, variants: list, goals, load: load.stop() };
  } finally {
    await server?.kill();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** The scenario's table (markdown), as the console and the report print it. */
export function cliTable(result: CliResult): string {
  const raw = median(result.variants.find((v) => v.key === 'raw')?.wallMs ?? []);
  const lines = ['| Command | wall ms, median (range) | × raw POST | CPU ms, mean | peak RSS MB |', '|---|--:|--:|--:|--:|'];
  for (const v of result.variants) {
    const m = median(v.wallMs);
    const rss = v.peakRssKiB.length ? `${(median(v.peakRssKiB) / 1024).toFixed(1)}` : '–';
    lines.push(
      `| ${v.label} | ${m.toFixed(0)} (${Math.min(...v.wallMs).toFixed(0)}–${Math.max(...v.wallMs).toFixed(0)}) | ${(m / raw).toFixed(2)} | ${v.cpuMs.toFixed(0)} | ${rss} |`,
    );
  }
  return lines.join('\n');
}

/** `herald send` and `herald run -- true` from another checkout (--compare). */
function compareVariants(bin: string): Variant[] {
  return [
    { key: 'send-compare', label: `herald send from ${bin}`, command: (url) => node(bin, 'send', '--server', url, 'bench') },
    { key: 'run-compare', label: `herald run -- true from ${bin}`, command: (url) => node(bin, 'run', '--server', url, '--', 'true') },
  ];
}

async function runOnce(
  v: Variant,
  url: string,
  env: NodeJS.ProcessEnv,
  peak: boolean,
): Promise<{ wallMs: number; cpuMs: number; peakRssKiB: number }> {
  const { file, args, node: isNode } = v.command(url);
  const argv = peak && isNode ? ['--import', PEAK_HOOK, ...args] : args;
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  const child = spawn(file, argv, { env: { ...env, ...v.env }, stdio: ['ignore', 'ignore', 'pipe', peak ? 'pipe' : 'ignore'] });
  let stderr = '';
  let fd3 = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  (child.stdio[3] as NodeJS.ReadableStream | null)?.setEncoding('utf8').on('data', (chunk: string) => (fd3 += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${v.label} exited with ${code}: ${stderr.trim()}`);
  return { wallMs, cpuMs: childrenCpuMs() - cpuBefore, peakRssKiB: Number(fd3.trim()) };
}

/** User + system CPU of this process's reaped children (cutime + cstime in /proc/self/stat), ms. */
function childrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // cutime, cstime: fields 16 and 17, in USER_HZ (100) ticks
}

let curl: boolean | undefined;
function hasCurl(): boolean {
  curl ??= (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, 'curl')));
  return curl;
}

/** Without the user's HERALD_* settings and any NODE_OPTIONS that would change what is measured. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('HERALD_') && k !== 'NODE_OPTIONS' && !k.startsWith('NODE_COMPILE_CACHE')) env[k] = v;
  return env;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const rounds = Number(flag('rounds') ?? 20);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number above 0');
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  progress(`cli start-up: ${rounds} rounds, Node ${process.version}; ${loadNow()}`);
  const result = await runCliScenario({
    rounds,
    ...(flag('server') ? { url: flag('server')! } : {}),
    ...(flag('compare') ? { compare: path.resolve(flag('compare')!) } : {}),
    progress,
  });
  const load = describeLoad(result.load);
  console.log(`\n${cliTable(result)}\n`);
  for (const g of result.goals) {
    const j = g.judgement;
    console.log(
      `${g.goal}: ${j.value.toFixed(2)}× (per-round ratios, quartiles ${j.low.toFixed(2)}–${j.high.toFixed(2)}, ${j.count} rounds): ${j.verdict}`,
    );
  }
  console.log(`\n${load.quiet ? '' : 'WARNING: the machine was not quiet; compare the ratios, not the milliseconds. '}${load.line}`);
}
