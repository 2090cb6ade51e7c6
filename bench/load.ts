// How busy the machine was with other work while the benchmark ran. The 1-minute load average
// counts the benchmark's own server and load generator too (on two cores they alone take it past
// 1), so the runner also samples, once a second, the threads running or waiting on disk across the
// machine (/proc/stat procs_running + procs_blocked, what the load average averages) minus those
// of its own process tree: what is left is other work competing for the cores. Linux only.
import fs from 'node:fs';
import os from 'node:os';

export interface LoadSummary {
  /** 1-minute load average when the watch started and when it stopped. */
  before: number;
  after: number;
  /** The highest 1-minute load average seen while it ran. */
  maxLoadAverage: number;
  /** Runnable threads outside the benchmark's process tree: mean and max of the samples. */
  otherMean: number;
  otherMax: number;
  samples: number;
}

/** Above this, figures are not from a quiet machine and the report says so. */
export const QUIET_LOAD = 1;

export class LoadWatch {
  readonly #root: number;
  readonly #before = os.loadavg()[0]!;
  #maxLoad = this.#before;
  readonly #others: number[] = [];
  readonly #timer: NodeJS.Timeout;

  /** Samples every intervalMs; `root` is the benchmark's top process (default: this one). */
  constructor(intervalMs = 1000, root = process.pid) {
    this.#root = root;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  stop(): LoadSummary {
    clearInterval(this.#timer);
    this.#sample();
    const others = this.#others;
    return {
      before: this.#before,
      after: os.loadavg()[0]!,
      maxLoadAverage: this.#maxLoad,
      otherMean: others.length ? others.reduce((a, b) => a + b, 0) / others.length : NaN,
      otherMax: others.length ? Math.max(...others) : NaN,
      samples: others.length,
    };
  }

  #sample(): void {
    this.#maxLoad = Math.max(this.#maxLoad, os.loadavg()[0]!);
    try {
      const stat = fs.readFileSync('/proc/stat', 'utf8');
      const running = Number(/^procs_running (\d+)/m.exec(stat)?.[1] ?? NaN);
      const blocked = Number(/^procs_blocked (\d+)/m.exec(stat)?.[1] ?? 0);
      this.#others.push(Math.max(0, running + blocked - activeThreadsUnder(this.#root)));
    } catch {
      // not Linux: the load average alone is reported
    }
  }
}

/** Threads running or in uninterruptible sleep in `root` and every process below it. */
function activeThreadsUnder(root: number): number {
  const parent = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // ended meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === root) return true;
    return false;
  };
  let active = 0;
  for (const pid of parent.keys()) {
    if (!ours(pid)) continue;
    try {
      for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
        const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
        const state = stat[stat.lastIndexOf(')') + 2];
        if (state === 'R' || state === 'D') active += 1;
      }
    } catch {
      // ended meanwhile
    }
  }
  return active;
}

/** One line for a progress message or a figure: the machine's load now. */
export function loadNow(): string {
  return `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/** The report's sentence about load, with its warning when the machine was not quiet. */
export function describeLoad(load: LoadSummary): { line: string; quiet: boolean } {
  const quiet = load.before <= QUIET_LOAD && !(load.otherMean > QUIET_LOAD);
  const line =
    `1-minute load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, ${load.maxLoadAverage.toFixed(2)} at most (the benchmark's own processes included); ` +
    (Number.isFinite(load.otherMean)
      ? `other work: ${load.otherMean.toFixed(2)} runnable threads on average, ${load.otherMax} at most (${load.samples} samples, 1 s apart)`
      : 'other work not sampled (no /proc/stat)');
  return { line, quiet };
}
